# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import datetime, time, timedelta

from dateutil.relativedelta import relativedelta

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import LoyaltyCrmCommon


@tagged("post_install", "-at_install")
class TestLoyaltyAchievement(LoyaltyCrmCommon):
    """Goals a manager sets without code: progress from the ledger after the
    sale (processing of member events) and by the daily scheduled action;
    completing one posts one bonus line, once per member and period."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.seller = new_test_user(
            cls.env, login="ach_seller", groups="sales_team.group_sale_salesman"
        )
        cls.manager = new_test_user(
            cls.env,
            login="ach_manager",
            groups="sales_team.group_sale_manager,loyalty_crm_addon.group_loyalty_manager",
        )
        cls.Achievement = cls.env["loyalty.achievement"]
        cls.Event = cls.env["loyalty.member.event"]
        cls.today = fields.Date.context_today(cls.Achievement)

    def _achievement(self, **values):
        return (
            self.Achievement.with_user(self.manager)
            .create(
                {
                    "name": "Goal",
                    "program_id": self.program.id,
                    "bonus_points": 30,
                    **values,
                }
            )
            .sudo()
        )

    def _sell(self, qty=5, price=20.0, partner=None):
        """A sales order confirmed by the salesperson."""
        order = self._order(partner, qty, price)
        order.user_id = self.seller
        order = order.with_user(self.seller)
        order._update_programs_and_rewards()
        order.action_confirm()
        return order

    def _process(self):
        self.Event._cron_process_events()

    def _backdate(self, order, when):
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE loyalty_ledger_line SET date = %s WHERE sale_order_id = %s",
            [datetime.combine(when, time(12)), order.id],
        )
        self.env.invalidate_all()

    def _bonus(self, achievement, period="all"):
        return self._lines(
            entry_type="bonus",
            reference=f"achievement:{achievement.id}:{self.member.id}:{period}",
        )

    def _progress(self, achievement):
        return self.env["loyalty.achievement.member"].search(
            [
                ("achievement_id", "=", achievement.id),
                ("partner_id", "=", self.member.id),
            ]
        )

    # ------------------------------------------------------------------
    def test_rights(self):
        with self.assertRaises(AccessError):
            self.Achievement.with_user(self.seller).create(
                {"name": "Nope", "program_id": self.program.id}
            )
        achievement = self._achievement(goal="orders", target=1)
        self.assertEqual(
            self.Achievement.with_user(self.seller).search([]).ids, achievement.ids
        )

    def test_orders_goal_completes_once(self):
        achievement = self._achievement(goal="orders", target=2)
        self._sell()
        self._process()
        progress = self._progress(achievement)
        self.assertRecordValues(progress, [{"state": "running", "progress": 1.0}])
        self._sell()
        self._process()
        self._process()
        self.Achievement._cron_update_achievements()
        progress = self._progress(achievement)
        self.assertRecordValues(progress, [{"state": "done", "progress": 2.0}])
        bonus = self._bonus(achievement)
        self.assertEqual(len(bonus), 1)
        self.assertEqual(bonus.points, 30.0)
        self.assertEqual(progress.ledger_line_id, bonus)
        event = self.Event.search(
            [("event_type", "=", "achievement"), ("partner_id", "=", self.member.id)]
        )
        self.assertEqual(len(event), 1)
        self.assertEqual(event.achievement_id, achievement)
        self.assertEqual(event.state, "done")
        # A third order: still one badge, one bonus.
        self._sell()
        self._process()
        self.Achievement._cron_update_achievements()
        self.assertEqual(len(self._bonus(achievement)), 1)
        self.assertEqual(self.member.loyalty_badge_count, 1)
        self.assertEqual(
            self.member._loyalty_badges()["badges"][0]["achievement_id"],
            achievement.id,
        )
        self.assertLedgerMatches()

    def test_spend_goal(self):
        achievement = self._achievement(goal="spend", target=150)
        self._sell(qty=5, price=20.0)
        self._process()
        self.assertEqual(self._progress(achievement).state, "running")
        self._sell(qty=5, price=20.0)
        self._process()
        progress = self._progress(achievement)
        self.assertEqual(progress.state, "done")
        self.assertGreaterEqual(progress.progress, 200.0)
        self.assertEqual(len(self._bonus(achievement)), 1)

    def test_cancelled_order_does_not_count(self):
        achievement = self._achievement(goal="orders", target=2)
        order = self._sell()
        self._process()
        order.sudo()._action_cancel()
        self._sell()
        self._process()
        self.assertRecordValues(
            self._progress(achievement), [{"state": "running", "progress": 1.0}]
        )

    def test_referrals_goal(self):
        self.program.loyalty_referrer_points = 10
        achievement = self._achievement(goal="referrals", target=1)
        friend = self.env["res.partner"].create(
            {"name": "Fiona Friend", "email": "fiona@example.org"}
        )
        friend.loyalty_referred_by_id = self.member
        self._sell(partner=friend)
        self._process()
        self.assertEqual(self._progress(achievement).state, "done")
        self.assertEqual(len(self._bonus(achievement)), 1)

    def test_feedback_goal(self):
        achievement = self._achievement(goal="feedback", target=1, bonus_points=5)
        self.member.with_user(self.seller).loyalty_record_feedback(8, "Good")
        self._process()
        self._process()
        self.assertEqual(self._progress(achievement).state, "done")
        self.assertEqual(self._bonus(achievement).points, 5.0)

    def test_streak_across_months(self):
        achievement = self._achievement(goal="streak", target=3)
        month = self.today.replace(day=15)
        orders = [self._sell() for _i in range(3)]
        # Months -4, -2, -1: the longest run is two months.
        for order, back in zip(orders, (4, 2, 1), strict=True):
            self._backdate(order, month - relativedelta(months=back))
        self.Achievement._cron_update_achievements()
        self.assertRecordValues(
            self._progress(achievement), [{"state": "running", "progress": 2.0}]
        )
        # An order this month makes three in a row.
        self._sell()
        self._process()
        self.assertRecordValues(
            self._progress(achievement), [{"state": "done", "progress": 3.0}]
        )
        self.assertEqual(len(self._bonus(achievement)), 1)

    def test_tier_restriction(self):
        gold = self.env["loyalty.tier"].create(
            {"name": "Gold", "program_id": self.program.id, "threshold": 10000}
        )
        achievement = self._achievement(goal="orders", target=1, tier_ids=gold.ids)
        self._sell()
        self._process()
        self.assertFalse(self._progress(achievement))
        self.assertFalse(self._bonus(achievement))
        self._set_tier(self.card, gold)
        self.Achievement._cron_update_achievements()
        self.assertEqual(self._progress(achievement).state, "done")
        self.assertEqual(len(self._bonus(achievement)), 1)

    def test_period_windows(self):
        start = self.today - timedelta(days=45)
        achievement = self._achievement(
            goal="orders", target=2, period_days=30, date_from=start
        )
        window = start + timedelta(days=30)
        self.assertEqual(achievement._loyalty_window(self.today)[0], window)
        # An order of the previous period does not count in this one.
        old = self._sell()
        self._backdate(old, window - timedelta(days=1))
        self._sell()
        self._process()
        self.Achievement._cron_update_achievements()
        progress = self._progress(achievement)
        self.assertEqual(progress.period, fields.Date.to_string(window))
        self.assertRecordValues(progress, [{"state": "running", "progress": 1.0}])
        self._sell()
        self._process()
        self.assertEqual(self._progress(achievement).state, "done")
        period = fields.Date.to_string(window)
        self.assertEqual(len(self._bonus(achievement, period)), 1)
        # Once the period is over, a new one starts from nothing: a new
        # badge and bonus can be earned there, once.
        later = self.today + timedelta(days=30)
        achievement._loyalty_compute(later)
        self.assertEqual(len(self._bonus(achievement, period)), 1)

    def test_outside_dates_nothing(self):
        achievement = self._achievement(
            goal="orders", target=1, date_to=self.today - timedelta(days=1)
        )
        self._sell()
        self._process()
        self.Achievement._cron_update_achievements()
        self.assertFalse(self._progress(achievement))
        self.assertFalse(self._bonus(achievement))

    def test_completed_again_pays_once(self):
        """A row set running again (a concurrent run, a manual fix) and
        completed a second time finds the bonus of its period: no second
        line, no second event."""
        achievement = self._achievement(goal="orders", target=1)
        self._sell()
        self._process()
        progress = self._progress(achievement)
        self.assertEqual(progress.state, "done")
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE loyalty_achievement_member SET state = 'running' WHERE id = %s",
            [progress.id],
        )
        self.env.invalidate_all()
        self.Achievement._cron_update_achievements()
        self._process()
        self.assertEqual(self._progress(achievement).state, "done")
        self.assertEqual(len(self._bonus(achievement)), 1)
        self.assertEqual(
            self.Event.search_count(
                [
                    ("event_type", "=", "achievement"),
                    ("partner_id", "=", self.member.id),
                ]
            ),
            1,
        )
        self.assertLedgerMatches()
