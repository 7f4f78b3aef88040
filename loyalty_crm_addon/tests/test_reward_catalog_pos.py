# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

import odoo.tests
from odoo import fields
from odoo.exceptions import UserError

from .common import LoyaltyPosCase


@odoo.tests.tagged("post_install", "-at_install")
class TestRewardCatalogPos(LoyaltyPosCase):
    """Rewards claimed at the till: the order sync refuses what the catalog's
    limits forbid and records a claim spent through the order's ledger line."""

    pos_product_name = "LCA Catalog Widget"
    pos_program_name = "LCA Catalog Membership"
    pos_reward_description = "LCA 10 off at the till"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.member = cls._make_member("AAA Catalog Member", 300)
        cls.card = cls.member.loyalty_card_id

    def _sync(self, reward=None):
        """What the till sends for a paid order of the member using
        ``reward`` (50 - 10), then the points call it makes afterwards."""
        reward = reward or self.reward
        data = self._order_data(
            self.member, spend=reward.required_points, reward=reward
        )
        Order = self.env["pos.order"].with_user(self.pos_user)
        result = Order.sync_from_ui([data])
        order = Order.browse(result["pos.order"][0]["id"])
        order.confirm_coupon_programs(
            {
                str(self.card.id): {
                    "points": 50 - reward.required_points,
                    "program_id": self.program.id,
                    "coupon_id": self.card.id,
                    "barcode": False,
                    "partner_id": self.member.id,
                }
            }
        )
        return order.sudo()

    def _claims(self):
        return self.env["loyalty.reward.claim"].search(
            [("partner_id", "=", self.member.id)]
        )

    def test_pos_claim_through_the_order_sync(self):
        order = self._sync()
        claim = self._claims()
        self.assertRecordValues(
            claim,
            [
                {
                    "channel": "pos",
                    "pos_order_id": order.id,
                    "reward_id": self.reward.id,
                    "points": 100,
                    "state": "fulfilled",
                }
            ],
        )
        self.assertRecordValues(
            claim.ledger_line_id,
            [
                {
                    "entry_type": "redeem",
                    "points": -100,
                    "source": "pos",
                    "pos_order_id": order.id,
                }
            ],
        )
        self.assertEqual(self.member.loyalty_balance, 300 - 100 + 50)
        self.assertEqual(self.reward.loyalty_claim_count, 1)

    def test_pos_refuses_rewards_beyond_the_limits(self):
        self.reward.loyalty_limit_per_member = 1
        self.member.with_user(self.admin).loyalty_claim_reward(self.reward.id)
        with (
            self.assertRaisesRegex(UserError, "per member"),
            self.env.cr.savepoint(),
        ):
            self._sync()
        self.assertEqual(len(self._claims()), 1)
        self.assertEqual(self.member.loyalty_balance, 200)

    def test_pos_refuses_out_of_stock_and_tier_only(self):
        self.reward.loyalty_stock = 1
        other = self._make_member("AAA Other Member", 100)
        other.with_user(self.admin).loyalty_claim_reward(self.reward.id)
        with (
            self.assertRaisesRegex(UserError, "out of stock"),
            self.env.cr.savepoint(),
        ):
            self._sync()
        self.reward.loyalty_stock = 0
        gold = (
            self.env["loyalty.tier"]
            .sudo()
            .create({"name": "Gold", "program_id": self.program.id, "threshold": 5000})
        )
        self.reward.tier_ids = gold
        with (
            self.assertRaisesRegex(UserError, "Gold"),
            self.env.cr.savepoint(),
        ):
            self._sync()
        self.assertFalse(self._claims())

    def test_pos_does_not_offer_catalog_only_or_expired_rewards(self):
        experience = self.env["loyalty.reward"].create(
            {
                "program_id": self.program.id,
                "reward_type": "experience",
                "description": "Backstage tour",
                "required_points": 50,
            }
        )
        self.reward.loyalty_date_to = fields.Date.subtract(fields.Date.today(), days=1)
        data = self.main_pos_config.current_session_id.load_data(
            ["loyalty.reward", "pos.config"]
        )
        loaded = {r["id"] for r in data["loyalty.reward"]["data"]}
        self.assertNotIn(experience.id, loaded)
        self.assertNotIn(self.reward.id, loaded)

    def test_pos_catalog_tour(self):
        """The till's reward button: the paid order records the claim,
        spent through the order's redemption line."""
        self.env["loyalty.reward"].create(
            {
                "program_id": self.program.id,
                "reward_type": "experience",
                "description": "Backstage tour",
                "required_points": 50,
            }
        )
        self.start_pos_tour("loyalty_crm_catalog_pos")
        claim = self._claims()
        self.assertRecordValues(
            claim,
            [{"channel": "pos", "reward_id": self.reward.id, "points": 100}],
        )
        self.assertRecordValues(
            claim.ledger_line_id,
            [{"entry_type": "redeem", "points": -100, "source": "pos"}],
        )
        self.assertEqual(claim.pos_order_id.state, "paid")
        self.assertEqual(self.member.loyalty_balance, 300 - 100 + 50)
