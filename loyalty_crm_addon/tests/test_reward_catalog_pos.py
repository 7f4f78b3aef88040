# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import uuid

import odoo.tests
from odoo import Command, fields
from odoo.exceptions import UserError

from odoo.addons.point_of_sale.tests.test_frontend import TestPointOfSaleHttpCommon


@odoo.tests.tagged("post_install", "-at_install")
class TestRewardCatalogPos(TestPointOfSaleHttpCommon):
    """Rewards claimed at the till: the order sync refuses what the catalog's
    limits forbid and records a claim spent through the order's ledger line."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["loyalty.program"].search([]).write({"active": False})
        cls.company = cls.main_pos_config.company_id
        cls.product = cls.env["product.product"].create(
            {
                "name": "LCA Catalog Widget",
                "available_in_pos": True,
                "list_price": 50.0,
                "taxes_id": False,
            }
        )
        cls.program = cls.env["loyalty.program"].create(
            {
                "name": "LCA Catalog Membership",
                "program_type": "loyalty",
                "trigger": "auto",
                "applies_on": "both",
                "company_id": cls.company.id,
                "pos_ok": True,
                "pos_config_ids": [Command.link(cls.main_pos_config.id)],
                "rule_ids": [
                    Command.clear(),
                    Command.create(
                        {
                            "reward_point_mode": "money",
                            "reward_point_amount": 1,
                            "minimum_amount": 0,
                        }
                    ),
                ],
                "reward_ids": [
                    Command.clear(),
                    Command.create(
                        {
                            "reward_type": "discount",
                            "discount_mode": "per_order",
                            "discount": 10,
                            "discount_applicability": "order",
                            "required_points": 100,
                            "description": "LCA 10 off at the till",
                        }
                    ),
                ],
            }
        )
        cls.reward = cls.program.reward_ids
        cls.company.loyalty_membership_program_id = cls.program
        cls.env.company.loyalty_membership_program_id = cls.program
        cls.admin = cls.env.ref("base.user_admin")
        cls.admin.sudo().company_ids = [Command.link(cls.company.id)]
        cls.member = cls._make_member("AAA Catalog Member", 300)
        cls.card = cls.member.loyalty_card_id

    @classmethod
    def _make_member(cls, name, points):
        partner = cls.env["res.partner"].create({"name": name})
        as_admin = partner.with_user(cls.admin).with_company(cls.company)
        as_admin.action_loyalty_enroll()
        as_admin.loyalty_adjust_points(points, "Welcome points")
        return partner

    def setUp(self):
        super().setUp()
        self.main_pos_config.write(
            {"tax_regime_selection": False, "use_pricelist": False}
        )
        self.main_pos_config.with_user(self.pos_user).open_ui()
        self.till_session = self.main_pos_config.current_session_id

    def _sync(self, reward=None):
        """What the till sends for a paid order of the member using
        ``reward`` (50 - 10), then the points call it makes afterwards."""
        reward = reward or self.reward
        cash = self.main_pos_config.payment_method_ids.filtered("is_cash_count")[:1]
        uid = str(uuid.uuid4())
        lines = [
            Command.create(
                {
                    "product_id": self.product.id,
                    "qty": 1,
                    "price_unit": 50,
                    "price_subtotal": 50,
                    "price_subtotal_incl": 50,
                    "tax_ids": [Command.clear()],
                }
            ),
            Command.create(
                {
                    "product_id": reward.discount_line_product_id.id,
                    "qty": 1,
                    "price_unit": -10,
                    "price_subtotal": -10,
                    "price_subtotal_incl": -10,
                    "tax_ids": [Command.clear()],
                    "is_reward_line": True,
                    "reward_id": reward.id,
                    "coupon_id": self.card.id,
                    "points_cost": reward.required_points,
                    "reward_identifier_code": uid[:8],
                }
            ),
        ]
        data = {
            "uuid": uid,
            "name": f"Order {uid}",
            "session_id": self.till_session.id,
            "partner_id": self.member.id,
            "user_id": self.pos_user.id,
            "sequence_number": 2,
            "date_order": fields.Datetime.to_string(fields.Datetime.now()),
            "fiscal_position_id": False,
            "pricelist_id": self.main_pos_config.pricelist_id.id,
            "amount_paid": 40,
            "amount_total": 40,
            "amount_tax": 0,
            "amount_return": 0,
            "last_order_preparation_change": "{}",
            "to_invoice": False,
            "state": "paid",
            "lines": lines,
            "payment_ids": [
                Command.create(
                    {
                        "amount": 40,
                        "name": fields.Datetime.now(),
                        "payment_method_id": cash.id,
                    }
                )
            ],
        }
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
