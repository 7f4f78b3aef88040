# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import LoyaltyCrmCommon


@tagged("post_install", "-at_install")
class TestTiers(LoyaltyCrmCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.silver, cls.gold, cls.platinum = cls.env["loyalty.tier"].create(
            [
                {
                    "name": "Silver",
                    "program_id": cls.program.id,
                    "sequence": 1,
                    "threshold": 50,
                },
                {
                    "name": "Gold",
                    "program_id": cls.program.id,
                    "sequence": 2,
                    "threshold": 150,
                    "earn_multiplier": 2.0,
                },
                {
                    "name": "Platinum",
                    "program_id": cls.program.id,
                    "sequence": 3,
                    "threshold": 1000,
                    "earn_multiplier": 3.0,
                },
            ]
        )
        cls.Event = cls.env["loyalty.member.event"]

    def _events(self, event_type):
        return self.Event.search(
            [("partner_id", "=", self.member.id), ("event_type", "=", event_type)],
            order="id",
        )

    def test_confirmed_order_upgrades_at_once(self):
        self._confirmed_order()
        self.assertEqual(self.member.loyalty_tier_id, self.silver)
        self.assertEqual(self.card.loyalty_tier_id, self.silver)
        event = self._events("tier_upgrade")
        self.assertEqual(
            (event.previous_tier_id, event.tier_id), (self.Event.tier_id, self.silver)
        )
        self.assertIn("Silver", self.member.message_ids[0].body)
        self.assertEqual(self.member.loyalty_next_tier_id, self.gold)
        self.assertEqual(self.member.loyalty_points_to_next_tier, 50)

        self._confirmed_order()
        self.assertEqual(self.member.loyalty_tier_id, self.gold)
        self.assertEqual(len(self._events("tier_upgrade")), 2)

    def test_redemptions_and_adjustments_do_not_qualify(self):
        self._give_points(500)
        self.member.loyalty_redeem_points(10, "Mug")
        self.assertFalse(self.member.loyalty_tier_id)
        self.assertEqual(self.member.loyalty_tier_points, 0)

    def test_tier_multiplier_on_sales(self):
        self._confirmed_order(qty=8)  # 160 points: Gold
        self.assertEqual(self.member.loyalty_tier_id, self.gold)
        order = self._confirmed_order()  # 100.00 at x2
        earn = order.loyalty_ledger_line_ids
        self.assertEqual((earn.points, earn.multiplier), (200, 2.0))
        self.assertEqual(self.member.loyalty_balance, 360)
        self.assertLedgerMatches()

    def test_downgrade_at_review_after_the_window(self):
        self._confirmed_order()
        Tier = self.env["loyalty.tier"]
        self.assertEqual(
            Tier._cron_review_tiers(), 0, "still qualifies: nothing to review"
        )
        with freeze_time(fields.Datetime.now() + timedelta(days=366)):
            self.assertEqual(
                self.member.loyalty_tier_id, self.silver, "no downgrade before review"
            )
            Tier._cron_review_tiers()
            self.assertFalse(self.member.loyalty_tier_id)
            self.assertEqual(
                self._events("tier_downgrade").previous_tier_id, self.silver
            )
            Tier._cron_review_tiers()
            self.assertEqual(
                len(self._events("tier_downgrade")), 1, "a second run changes nothing"
            )

    def test_grace_period_delays_the_downgrade(self):
        self.program.loyalty_tier_grace_days = 30
        self._confirmed_order()
        Tier = self.env["loyalty.tier"]
        start = fields.Datetime.now() + timedelta(days=366)
        with freeze_time(start):
            Tier._cron_review_tiers()
            Tier._cron_review_tiers()
            self.assertEqual(self.member.loyalty_tier_id, self.silver)
            self.assertEqual(self.card.loyalty_tier_review_date, fields.Date.today())
        with freeze_time(start + timedelta(days=29)):
            Tier._cron_review_tiers()
            self.assertEqual(self.member.loyalty_tier_id, self.silver)
        with freeze_time(start + timedelta(days=30)):
            Tier._cron_review_tiers()
            self.assertFalse(self.member.loyalty_tier_id)

    def test_requalifying_during_grace_keeps_the_tier(self):
        self.program.loyalty_tier_grace_days = 30
        self._confirmed_order()
        Tier = self.env["loyalty.tier"]
        start = fields.Datetime.now() + timedelta(days=366)
        with freeze_time(start):
            Tier._cron_review_tiers()
            self._confirmed_order()
            Tier._cron_review_tiers()
            self.assertFalse(self.card.loyalty_tier_review_date)
        with freeze_time(start + timedelta(days=40)):
            Tier._cron_review_tiers()
            self.assertEqual(self.member.loyalty_tier_id, self.silver)

    def test_reversal_below_threshold_downgrades_at_review(self):
        """An upgrade of an earlier day stays until the review (a same-day
        cancellation reverts it at once: test_staff_experience)."""
        with freeze_time(fields.Datetime.now() - timedelta(days=3)):
            order = self._confirmed_order()
        self.assertEqual(self.member.loyalty_tier_id, self.silver)
        order._action_cancel()
        self.assertEqual(
            self.member.loyalty_tier_id, self.silver, "downgrades wait for the review"
        )
        self.assertEqual(self.member.loyalty_tier_points, 0)
        self.env["loyalty.tier"]._cron_review_tiers()
        self.assertFalse(self.member.loyalty_tier_id)

    def test_tier_only_reward_is_refused_to_lower_tiers(self):
        self.reward.tier_ids = self.gold
        self._confirmed_order(qty=6)  # 120 points: Silver, enough points for the reward
        order = self._order()
        order._update_programs_and_rewards()
        self.assertNotIn(
            self.reward,
            order._get_claimable_rewards().get(self.card, self.reward.browse()),
        )
        result = order._apply_program_reward(self.reward, self.card)
        self.assertIn("Gold", result["error"])
        self.assertFalse(order.order_line.filtered("is_reward_line"))

        self._confirmed_order()  # Gold now
        order._update_programs_and_rewards()
        self.assertIn(self.reward, order._get_claimable_rewards()[self.card])
        self.assertNotIn("error", order._apply_program_reward(self.reward, self.card))

    def test_bad_tier_ladders_are_refused(self):
        Tier = self.env["loyalty.tier"]
        with self.assertRaises(ValidationError):
            Tier.create(
                {
                    "name": "Bronze",
                    "program_id": self.program.id,
                    "sequence": 4,
                    "threshold": 20,
                }
            )  # after Platinum, below it
        with self.assertRaises(ValidationError):
            Tier.create(
                {
                    "name": "Odd",
                    "program_id": self.program.id,
                    "sequence": 5,
                    "threshold": 2000,
                    "earn_multiplier": -1,
                }
            )
        with self.assertRaises(ValidationError), self.cr.savepoint():
            Tier.create(
                {
                    "name": "Twin",
                    "program_id": self.program.id,
                    "sequence": 5,
                    "threshold": 1000,
                }
            )
        promo = self.env["loyalty.program"].create(
            {"name": "Promo", "program_type": "promotion"}
        )
        with self.assertRaises(ValidationError):
            Tier.create({"name": "Nope", "program_id": promo.id, "threshold": 10})
