# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
import random
from ast import literal_eval
from datetime import timedelta

from odoo import fields
from odoo.exceptions import UserError
from odoo.fields import Command
from odoo.tests import tagged

from ..kpi import order_facts
from .common import LoyaltyCrmCommon, kpi_order_facts

_logger = logging.getLogger(__name__)


class LoyaltyKpiCommon(LoyaltyCrmCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The points fold runs in a cursor of its own: in the registry's test
        # mode (as in HttpCase) that cursor shares the test's transaction.
        cls.registry.enter_test_mode(cls.cr)
        cls.addClassCleanup(cls.registry.leave_test_mode)
        cls.today = fields.Date.context_today(cls.env["res.partner"])
        cls.Partner = cls.env["res.partner"]

    def _days_ago(self, days):
        return self.today - timedelta(days=days)

    def _backdate_order(self, order, days):
        """Move a confirmed order and its ledger lines ``days`` back (test
        set-up of history; the ORM keeps ledger dates immutable). Written
        in SQL: the writer tells the KPI order facts, as the demo does."""
        when = fields.Datetime.to_datetime(self._days_ago(days)) + timedelta(hours=12)
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE sale_order SET date_order = %s WHERE id = %s", [when, order.id]
        )
        self.env.cr.execute(
            "UPDATE loyalty_ledger_line SET date = %s WHERE sale_order_id = %s",
            [when, order.id],
        )
        self.env["loyalty.kpi.order"]._touch_orders("sale", order.ids)
        self.env.invalidate_all()

    def _backdate_card(self, partner, days):
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE loyalty_card SET create_date = %s WHERE partner_id = %s",
            [fields.Datetime.to_datetime(self._days_ago(days)), partner.id],
        )
        self.env["loyalty.kpi.order"]._touch(partner_ids=partner.ids)
        self.env.invalidate_all()

    def _insert_orders(self, rows):
        """Confirmed sales orders (partner_id, date, untaxed amount) in one
        statement: generated history for scoring tests."""
        self.env.flush_all()
        self.env.cr.execute(
            """
            INSERT INTO sale_order (name, partner_id, partner_invoice_id,
                partner_shipping_id, company_id, date_order, state,
                picking_policy, amount_untaxed, amount_tax, amount_total)
            SELECT 'GEN/' || n, p, p, p, %s, d, 'sale', 'direct', a, 0, a
              FROM unnest(%s::int[], %s::timestamp[], %s::numeric[])
                   WITH ORDINALITY AS t(p, d, a, n)
            """,
            [
                self.env.company.id,
                [r[0] for r in rows],
                [fields.Datetime.to_datetime(r[1]) + timedelta(hours=10) for r in rows],
                [r[2] for r in rows],
            ],
        )
        self.env["loyalty.kpi.order"]._touch(partner_ids=[r[0] for r in rows])


@tagged("post_install", "-at_install")
class TestLoyaltyKpis(LoyaltyKpiCommon):
    """Every KPI on a dataset small enough to compute by hand.

    Period: the last 30 days. Orders (untaxed, 1 point per unit):
    - Martha (member 90 days): 100 sixty days ago, then 100 ten days ago,
      200 five days ago, and 100 cancelled (earned, then reversed);
    - Mike (member 3 days): 300 three days ago, then redeems 100 points;
    - Ida (member 100 days): nothing, ever;
    - Nora and Ned (not members, the program does not enrol): 50 and 150,
      and 100.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.program.write({"loyalty_auto_enroll": False, "loyalty_point_value": 0.5})
        cls.mike, cls.ida, cls.nora, cls.ned = cls.env["res.partner"].create(
            [{"name": n} for n in ("Mike", "Ida", "Nora", "Ned")]
        )
        (cls.mike | cls.ida)._loyalty_enroll(cls.program)

    def setUp(self):
        super().setUp()
        self._backdate_card(self.member, 90)
        self._backdate_card(self.ida, 100)
        self._backdate_card(self.mike, 3)
        self._backdate_order(self._confirmed_order(qty=5), 60)
        self._backdate_order(self._confirmed_order(qty=5), 10)
        self._backdate_order(self._confirmed_order(qty=10), 5)
        cancelled = self._confirmed_order(qty=5)
        cancelled._action_cancel()
        self._backdate_order(self._confirmed_order(self.mike, qty=15), 3)
        self.mike.loyalty_redeem_points(100, "Mug")
        self._backdate_order(self._confirmed_order(self.nora, qty=1, price=50), 20)
        self._backdate_order(self._confirmed_order(self.nora, qty=1, price=150), 2)
        self._backdate_order(self._confirmed_order(self.ned, qty=5), 1)

    def _kpis(self, days_from=30, days_to=0, **kwargs):
        return self.env["loyalty.kpi.engine"]._kpis(
            self.program._loyalty_kpi_scope(
                self._days_ago(days_from), self._days_ago(days_to), **kwargs
            )
        )

    def test_kpis_by_hand(self):
        kpis = self.program.get_loyalty_kpis(
            fields.Date.to_string(self._days_ago(30)), fields.Date.to_string(self.today)
        )
        self.assertEqual(
            kpis,
            {
                "members": 3,
                # Ida neither earned nor redeemed in the last 90 days.
                "inactive_rate": round(1 / 3, 6),
                # Martha bought twice in the period, Mike once.
                "repeat_purchase_rate_members": 0.5,
                # Nora twice, Ned once.
                "repeat_purchase_rate_non_members": 0.5,
                # Martha's second order came 50 days after her first.
                "avg_days_to_second_purchase_members": 50.0,
                # Issued 100 + 200 + 100 - 100 (reversal) + 300; redeemed 100.
                "redemption_rate": round(100 / 600, 6),
                "member_revenue_share": round(600 / 900, 6),
                "aov_members": 200.0,
                "aov_non_members": 100.0,
                # Martha 400 + Mike 200 points, 0.5 each.
                "points_liability": 300.0,
                "referral_conversion_rate": 0.0,
                # No feedback answer in the period.
                "nps": False,
                "nps_responses": 0,
            },
        )
        for value in kpis.values():
            self.assertIsNotNone(value)

    def test_kpis_at_an_earlier_date(self):
        kpis = self._kpis(70, 20)
        # Mike was not a member yet; Martha held the 100 points of her first
        # order, bought before the period: no repeat, no second purchase.
        self.assertEqual(kpis["members"], 2)
        self.assertEqual(kpis["points_liability"], 50.0)
        self.assertEqual(kpis["aov_members"], 100.0)
        self.assertEqual(kpis["aov_non_members"], 50.0)
        self.assertEqual(kpis["repeat_purchase_rate_members"], 0.0)
        self.assertEqual(kpis["avg_days_to_second_purchase_members"], 0.0)
        self.assertEqual(kpis["redemption_rate"], 0.0)

    def test_kpis_by_channel(self):
        sales, both = self._kpis(channel="sale"), self._kpis()
        # Mike redeemed through the API, not on a sales order.
        self.assertEqual(sales.pop("redemption_rate"), 0.0)
        both.pop("redemption_rate")
        self.assertEqual(sales, both)
        pos = self._kpis(channel="pos")
        self.assertEqual(pos["members"], 3)
        self.assertEqual(
            (pos["aov_members"], pos["member_revenue_share"], pos["redemption_rate"]),
            (0.0, 0.0, 0.0),
        )

    def test_dashboard_uses_the_same_figures(self):
        data = self.env["loyalty.program"].get_loyalty_dashboard_data(
            self.program.id,
            fields.Date.to_string(self._days_ago(30)),
            fields.Date.to_string(self.today),
        )
        self.assertEqual(data["kpis"], self._kpis())
        trend = data["trend"]
        self.assertEqual(
            sum(m["revenue_members"] for m in trend), 600.0, "members' revenue"
        )
        self.assertEqual(sum(m["revenue_non_members"] for m in trend), 300.0)
        self.assertEqual(sum(m["points_issued"] for m in trend), 600.0)

    def test_reports_match(self):
        Report = self.env["loyalty.report.order"]
        since = fields.Datetime.to_datetime(self._days_ago(30))
        groups = dict(
            Report._read_group(
                [("date", ">=", since), ("company_id", "=", self.env.company.id)],
                ["is_member"],
                ["amount:sum"],
            )
        )
        self.assertEqual(groups, {True: 600.0, False: 300.0})
        points = self.env["loyalty.report.points"]._read_group(
            [("date", ">=", since), ("program_id", "=", self.program.id)],
            [],
            ["points_issued:sum", "points_redeemed:sum"],
        )
        self.assertEqual(points, [(600.0, 100.0)])

    def _points_aggregate(self):
        self.env.flush_all()
        self.env.cr.execute(
            """
            SELECT day, company_id, source, entry_type, points_issued,
                   points_redeemed, points_expired, points_net, line_count
              FROM loyalty_kpi_points_daily WHERE program_id = %s
             ORDER BY 1, 2, 3, 4
            """,
            [self.program.id],
        )
        return self.env.cr.fetchall()

    def _points_recomputed(self):
        """The daily aggregate's rows, recomputed from every ledger line."""
        self.env.cr.execute(
            """
            SELECT l.date::date, l.company_id, COALESCE(l.source, ''),
                   l.entry_type,
                   SUM(CASE WHEN l.tier_qualifying THEN l.points ELSE 0 END),
                   SUM(CASE WHEN l.entry_type = 'redeem'
                             OR (l.entry_type = 'reversal'
                                 AND NOT COALESCE(l.tier_qualifying, FALSE))
                            THEN -l.points ELSE 0 END),
                   SUM(CASE WHEN l.entry_type = 'expire' THEN -l.points ELSE 0 END),
                   SUM(l.points), COUNT(*)
              FROM loyalty_ledger_line l WHERE l.program_id = %s
             GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
            """,
            [self.program.id],
        )
        return self.env.cr.fetchall()

    def _order_facts(self):
        return kpi_order_facts(self.env)

    def _member_activity(self):
        """Each member's folded last day of activity, and the same read from
        the ledger lines up to the fold's watermark."""
        self.env.cr.execute(
            "SELECT program_id, partner_id, last_day FROM loyalty_kpi_member_activity"
            " ORDER BY 1, 2"
        )
        stored = self.env.cr.fetchall()
        self.env.cr.execute(
            """
            SELECT program_id, partner_id, MAX(date)::date FROM loyalty_ledger_line
             WHERE entry_type IN ('earn', 'redeem') AND partner_id IS NOT NULL
               AND id <= (SELECT last_id FROM loyalty_kpi_watermark
                           WHERE name = 'points')
             GROUP BY 1, 2 ORDER BY 1, 2
            """
        )
        return stored, self.env.cr.fetchall()

    def _raw_kpis(self):
        """The figures read from the raw orders (as for several companies)."""
        scope = self.program._loyalty_kpi_scope(self._days_ago(30), self.today)
        scope.aggregates = False
        return self.env["loyalty.kpi.engine"]._kpis(scope)

    def test_aggregates_equal_the_raw_data(self):
        """The daily points aggregate and the order facts the KPIs and
        reports read equal a recomputation from the ledger and the orders
        after earn, spend, reversal, cancel, enrolment, edits of confirmed
        orders (date, lines, customer) and an SQL write its writer tells;
        the figures are the same read raw, from the aggregates, and from
        the points aggregate plus the lines posted since its last fold."""
        Report = self.env["loyalty.report.points"]
        self.assertEqual(self._kpis(), self._raw_kpis())
        Report._cron_fold_kpi()
        self.assertEqual(self._points_aggregate(), self._points_recomputed())
        stored, recomputed = self._member_activity()
        self.assertTrue(stored)
        self.assertEqual(stored, recomputed)
        stored, recomputed = self._order_facts()
        self.assertEqual(len(stored), 7)
        self.assertEqual(stored, recomputed)
        self.assertEqual(self._kpis(), self._raw_kpis())
        # More movements of the same days: an order earned then cancelled,
        # points spent, one more order, a customer joining.
        cancelled = self._confirmed_order(qty=3)
        self.member.loyalty_redeem_points(20, "Pen")
        cancelled._action_cancel()
        self._confirmed_order(self.mike, qty=2)
        self.ned._loyalty_enroll(self.program)
        fresh = self._kpis()  # points not folded yet
        self.assertEqual(fresh["redemption_rate"], round(120 / 640, 6))
        self.assertEqual(fresh["aov_non_members"], 100.0, "Nora's 50 and 150")
        self.assertEqual(fresh, self._raw_kpis())
        stored, recomputed = self._order_facts()
        self.assertEqual(len(stored), 8)
        self.assertEqual(stored, recomputed)
        Report._cron_fold_kpi(batch_size=2)
        self.assertEqual(self._points_aggregate(), self._points_recomputed())
        self.assertEqual(*self._member_activity())
        self.assertEqual(self._kpis(), fresh)
        # An SQL write, told to the facts, moves the customer's facts too
        # (their previous orders).
        self._backdate_order(self._confirmed_order(self.nora, qty=1, price=10), 25)
        stored, recomputed = self._order_facts()
        self.assertEqual(stored, recomputed)
        self.assertEqual(self._kpis(), self._raw_kpis())
        # Edits of confirmed orders through the ORM: a date, a line more
        # (the amount recomputed), another customer; a quotation's edits
        # touch nothing.
        mike_order = self.env["sale.order"].search(
            [("partner_id", "=", self.mike.id), ("state", "=", "sale")], limit=1
        )
        mike_order.date_order = fields.Datetime.to_datetime(self._days_ago(40))
        mike_order.order_line = [
            Command.create(
                {"product_id": self.product.id, "product_uom_qty": 1, "price_unit": 7}
            )
        ]
        nora_order = self.env["sale.order"].search(
            [("partner_id", "=", self.nora.id), ("state", "=", "sale")], limit=1
        )
        nora_order.partner_id = self.ned
        stored, recomputed = self._order_facts()
        self.assertEqual(stored, recomputed)
        self.assertIn(mike_order.id * 2, [row[0] for row in stored])
        self.assertEqual(self._kpis(), self._raw_kpis())
        self._order(self.nora).order_line.product_uom_qty = 9
        self.env.flush_all()
        self.assertNotIn(
            order_facts.PENDING_KEY, self.env.cr.precommit.data, "nothing to rebuild"
        )
        Report._cron_fold_kpi()
        self.assertEqual(self._points_aggregate(), self._points_recomputed())
        self.assertEqual(Report._cron_fold_kpi(), 0, "nothing new to fold")

    def test_order_facts_queued_at_commit(self):
        """A sale's transaction only queues its customer before it commits
        (the sale does not rebuild the facts); the refresh cron rebuilds
        them, and a reader on the primary finds them exact meanwhile."""
        Facts = self.env["loyalty.kpi.order"]
        Facts._flush_facts()
        order = self._confirmed_order(self.nora, qty=2, price=15)
        self.env.cr.flush()  # what the end of the sale runs
        self.env.cr.execute("SELECT order_key, partner_id FROM loyalty_kpi_order_queue")
        queued = self.env.cr.fetchall()
        self.assertIn((order.id * 2, None), queued)
        self.env.cr.execute(
            "SELECT 1 FROM loyalty_kpi_order WHERE id = %s", [order.id * 2]
        )
        self.assertFalse(self.env.cr.fetchone(), "not rebuilt in the sale")
        self.assertEqual(Facts._cron_refresh_facts(batch_size=1), len(queued))
        self.assertEqual(Facts._queue_size(), 0)
        stored, recomputed = self._order_facts()
        self.assertEqual(stored, recomputed)
        self.assertIn(order.id * 2, [row[0] for row in stored])
        # Queued again (another sale): a reader rebuilds it first.
        order = self._confirmed_order(self.nora, qty=1, price=5)
        self.env.cr.flush()
        self.assertEqual(self._kpis(), self._raw_kpis())
        self.assertEqual(Facts._queue_size(), 0)

    def test_merged_members_keep_their_activity(self):
        """Merging a member who bought 3 days ago (Mike) into one who never
        did (Ida): the kept contact is active, read from the folded last
        days as from the ledger."""
        self.env["loyalty.report.points"]._cron_fold_kpi()
        before = self._kpis()
        self.env["base.partner.merge.automatic.wizard"]._merge(
            (self.mike | self.ida).ids, self.ida
        )
        self.assertFalse(self.mike.exists())
        after = self._kpis()
        self.assertEqual(after, self._raw_kpis())
        self.assertEqual(*self._order_facts())
        # One member fewer, and the active one is still active.
        self.assertEqual(after["members"], before["members"] - 1)
        self.assertLess(after["inactive_rate"], before["inactive_rate"])

    def test_kpis_by_hand_from_folded_points(self):
        """The hand-computed figures, with the points read from the folded
        daily aggregate (the other tests read them from the lines posted
        since the last fold)."""
        self.env["loyalty.report.points"]._cron_fold_kpi()
        self.test_kpis_by_hand()
        self.test_kpis_at_an_earlier_date()
        self.test_kpis_by_channel()
        self.test_dashboard_uses_the_same_figures()
        self.test_reports_match()

    def test_bad_input(self):
        for date_from, date_to in (
            ("2026-13-01", "2026-12-31"),
            ("yesterday", "2026-12-31"),
            (False, "2026-12-31"),
            ("2026-12-31", "2026-01-01"),
        ):
            with self.assertRaises(UserError):
                self.program.get_loyalty_kpis(date_from, date_to)
        coupons = self.env["loyalty.program"].create(
            {"name": "Coupons", "program_type": "coupons"}
        )
        with self.assertRaises(UserError):
            coupons.get_loyalty_kpis("2026-01-01", "2026-12-31")

    def test_auto_enroll_off(self):
        """Non-members get no card and no points; enrolled, they earn."""
        Card = self.env["loyalty.card"]
        self.assertFalse(
            Card.search([("partner_id", "in", (self.nora | self.ned).ids)])
        )
        self.assertFalse(self.nora.loyalty_card_id)
        self.assertFalse(self.Ledger.search([("partner_id", "=", self.nora.id)]))
        card = Card.browse(self.nora.action_loyalty_enroll())
        self._confirmed_order(self.nora, qty=2)
        self.assertEqual(card.points, 40)
        self.assertLedgerMatches(card)

    def test_auto_enroll_on(self):
        self.program.loyalty_auto_enroll = True
        partner = self.env["res.partner"].create({"name": "Walk-in"})
        self._confirmed_order(partner, qty=2)
        self.assertEqual(partner.loyalty_card_id.points, 40)


@tagged("post_install", "-at_install")
class TestLoyaltySegments(LoyaltyKpiCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.new, cls.lapsed, cls.risky, cls.steady = cls.env["res.partner"].create(
            [{"name": n} for n in ("New", "Lapsed", "Risky", "Steady")]
        )
        (cls.new | cls.lapsed | cls.risky | cls.steady)._loyalty_enroll(cls.program)
        cls.top = cls.env["loyalty.tier"].create(
            [
                {"name": "Silver", "program_id": cls.program.id, "threshold": 100},
                {"name": "Gold", "program_id": cls.program.id, "threshold": 1000},
            ]
        )[1]

    def _set_activity(self, partner, days):
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE res_partner SET loyalty_last_activity_date = %s WHERE id = %s",
            [self._days_ago(days), partner.id],
        )

    def _history(self, partner, every, first, last, amount=50):
        self._insert_orders(
            [
                (partner.id, self._days_ago(d), amount)
                for d in range(first, last - 1, -every)
            ]
        )
        self._set_activity(partner, last)

    def test_segments(self):
        self._backdate_card(self.member, 400)
        self._backdate_card(self.lapsed, 200)
        self._backdate_card(self.risky, 400)
        self._backdate_card(self.steady, 400)
        self._set_activity(self.member, 200)
        self._history(self.lapsed, 10, 190, 120)
        self._history(self.risky, 10, 300, 60)
        self._history(self.steady, 10, 300, 5)
        self.Partner._cron_loyalty_segments()
        segments = {
            p: p.loyalty_segment
            for p in self.new | self.lapsed | self.risky | self.steady | self.member
        }
        self.assertEqual(
            segments,
            {
                self.new: "new",
                self.lapsed: "inactive",
                self.risky: "at_risk",
                self.steady: "active",
                self.member: "inactive",
            },
        )
        self.assertEqual(self.new.loyalty_churn_reason, "No purchase yet.")
        self.assertGreaterEqual(self.risky.loyalty_churn_score, 60)
        self.assertEqual(
            self.risky.loyalty_churn_reason,
            f"No purchase since {self._days_ago(60)}; usually one every 10 days.",
        )
        self.assertLess(self.steady.loyalty_churn_score, 20)
        self.assertEqual(
            self.steady.loyalty_churn_reason, "Buying at the usual rhythm."
        )
        self.assertGreater(
            self.lapsed.loyalty_churn_score, self.risky.loyalty_churn_score
        )
        # Contacts filters and mailing recipients see the same members.
        at_risk = self.env.ref("loyalty_crm_addon.mailing_filter_segment_at_risk")
        self.assertEqual(
            self.Partner.search(literal_eval(at_risk.mailing_domain)),
            self.risky,
        )
        # Staff filter, sort and group contacts by these fields as by any
        # stored field of the contact.
        scored = self.new | self.lapsed | self.risky | self.steady | self.member
        outsider = self.Partner.create({"name": "Not a member"})
        Members = self.Partner.with_user(self.env.ref("base.user_admin"))
        in_scope = [("id", "in", (scored | outsider).ids)]
        self.assertEqual(
            Members.search(in_scope + [("loyalty_segment", "!=", "at_risk")]),
            scored - self.risky | outsider,
            "a contact never scored is not at risk",
        )
        self.assertEqual(
            Members.search(in_scope + [("loyalty_segment", "=", False)]), outsider
        )
        self.assertEqual(
            Members.search(in_scope + [("loyalty_segment", "in", ["new", "active"])]),
            self.new | self.steady,
        )
        self.assertEqual(
            Members.search(in_scope + [("loyalty_churn_score", ">=", 60)]),
            scored.filtered(lambda p: p.loyalty_churn_score >= 60),
        )
        self.assertEqual(
            Members.search(
                in_scope + [("loyalty_churn_reason", "ilike", "usual rhythm")]
            ),
            self.steady,
        )
        by_risk = Members.search(
            in_scope + [("loyalty_segment", "!=", False)],
            order="loyalty_churn_score desc, id",
        )
        self.assertEqual(
            by_risk.mapped("loyalty_churn_score"),
            sorted(scored.mapped("loyalty_churn_score"), reverse=True),
        )
        groups = Members.read_group(
            in_scope, ["loyalty_segment"], ["loyalty_segment"], lazy=False
        )
        self.assertEqual(
            {g["loyalty_segment"]: g["__count"] for g in groups},
            {"new": 1, "inactive": 2, "at_risk": 1, "active": 1, False: 1},
        )
        # A second run the same day changes nothing.
        self.assertEqual(self.Partner._cron_loyalty_segments()[1], 0)
        snapshot = self.env["loyalty.report.tier.snapshot"].search(
            [("program_id", "=", self.program.id)]
        )
        self.assertEqual(sum(snapshot.mapped("member_count")), 5)
        self.assertEqual(set(snapshot.mapped("month")), {self.today.replace(day=1)})

    def test_points_habits_and_top_tier(self):
        self._give_points(200)
        self.member.loyalty_redeem_points(50, "Mug")
        self.steady.loyalty_adjust_points(30, "Gift")
        self._confirmed_order(self.risky)
        self.Partner._cron_loyalty_segments()
        habits = {
            p: p.loyalty_points_habit for p in self.member | self.steady | self.risky
        }
        # A manual adjustment is not earning.
        self.assertEqual(
            habits,
            {self.member: "redeemer", self.steady: False, self.risky: "earn_only"},
        )
        self.assertEqual(
            self.Partner.search([("loyalty_points_habit", "=", "earn_only")]),
            self.risky,
        )
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE loyalty_card SET loyalty_tier_id = %s WHERE partner_id = %s",
            [self.top.id, self.steady.id],
        )
        self.assertEqual(
            self.Partner.search([("loyalty_is_top_tier", "=", True)]), self.steady
        )
        self.assertTrue(self.steady.loyalty_is_top_tier)
        self.assertFalse(self.member.loyalty_is_top_tier)
        # Nobody referred anyone here.
        self.assertFalse(self.Partner.search([("loyalty_is_advocate", "=", True)]))
        self.assertFalse(self.member.loyalty_is_advocate)

    def test_entering_at_risk_feeds_the_winback_rule_once(self):
        """A member the segment cron moves into the at-risk segment gets one
        event, which the shipped win-back rule acts on after the run; staying
        at risk tells nobody again, and a first scoring is not a move."""
        self._backdate_card(self.risky, 400)
        self._backdate_card(self.lapsed, 400)
        self.risky.email = "risky@example.com"
        self._history(self.risky, 10, 300, 60)
        self._history(self.lapsed, 10, 300, 60)
        # The previous run saw Risky active; Lapsed was never scored.
        self.env.flush_all()
        self.env.cr.execute(
            "INSERT INTO loyalty_member_score (id, partner_id, segment)"
            " VALUES (%s, %s, 'active')",
            [self.risky.id, self.risky.id],
        )
        self.env.invalidate_all()
        Event = self.env["loyalty.member.event"]
        self.Partner._cron_loyalty_segments()
        self.assertEqual(self.risky.loyalty_segment, "at_risk")
        self.assertEqual(self.lapsed.loyalty_segment, "at_risk")
        event = Event.search([("event_type", "=", "at_risk")])
        self.assertEqual(event.partner_id, self.risky)
        self.assertEqual(event.state, "pending", "rules run after the transaction")
        self.assertEqual(event.description, self.risky.loyalty_churn_reason)
        Event._cron_process_events()
        self.assertEqual(event.state, "done")
        winback = self.env.ref("loyalty_crm_addon.mailing_list_winback")
        self.assertEqual(
            self.env["mailing.contact"]
            .search([("list_ids", "in", winback.ids)])
            .mapped("email_normalized"),
            ["risky@example.com"],
        )
        self.assertTrue(
            self.env["mail.activity"].search(
                [("res_model", "=", "res.partner"), ("res_id", "=", self.risky.id)]
            )
        )
        # Still at risk the next run: no new event.
        self.Partner._cron_loyalty_segments()
        self.assertEqual(Event.search_count([("event_type", "=", "at_risk")]), 1)

    def test_churn_score_ranks_lapsing_members(self):
        """On generated history, members who really stop buying in a later
        held-out period score higher than those who go on (AUC >= 0.75)."""
        scored_on, held_out = 120, 90
        partners = self.Partner.create([{"name": f"Gen {i}"} for i in range(320)])
        partners._loyalty_enroll(self.program)
        rows, lapsed = [], {}
        rng = random.Random(14)
        for i, partner in enumerate(partners):
            every = (7, 14, 30, 60)[i % 4]
            kind = rng.random()
            day = scored_on + 400 - rng.randint(0, every)
            if kind < 0.4:  # lapsed some time before the score date
                stop = scored_on + rng.randint(every, 4 * every)
            elif kind < 0.6:  # lapses right after it, unforeseeable
                stop = scored_on
            else:  # goes on buying
                stop = -1
            while day > stop and day >= 0:
                rows.append((partner.id, self._days_ago(day), rng.randint(20, 200)))
                day -= max(1, every + rng.randint(-every // 4, every // 4))
            lapsed[partner] = not any(
                r[0] == partner.id
                and self._days_ago(scored_on)
                < r[1]
                <= self._days_ago(scored_on - held_out)
                for r in rows[-20:]
            )
        self._insert_orders(rows)
        self.env["loyalty.member.score"]._score_members(
            self._days_ago(scored_on), self.Partner._loyalty_churn_texts()
        )
        scores = {p: p.loyalty_churn_score for p in partners}
        positives = [scores[p] for p in partners if lapsed[p]]
        negatives = [scores[p] for p in partners if not lapsed[p]]
        self.assertTrue(positives and negatives)
        wins = sum(
            1.0 if pos > neg else 0.5 if pos == neg else 0.0
            for pos in positives
            for neg in negatives
        )
        auc = wins / (len(positives) * len(negatives))
        _logger.info("Churn score AUC on generated history: %.3f", auc)
        self.assertGreaterEqual(auc, 0.75, f"AUC {auc:.3f}")


@tagged("post_install", "-at_install")
class TestAutoEnrollPos(LoyaltyKpiCommon):
    def test_till_makes_no_card_for_non_members(self):
        """What the till sends for a customer without a card is dropped when
        the program does not enrol automatically; members keep their card."""
        stranger = self.Partner.create({"name": "Stranger"})
        coupon_data = {
            "-1": {
                "program_id": self.program.id,
                "partner_id": stranger.id,
                "points": 30,
            },
            "-2": {
                "program_id": self.program.id,
                "partner_id": self.member.id,
                "points": 10,
            },
            str(self.card.id): {"program_id": self.program.id, "points": 5},
        }
        PosOrder = self.env["pos.order"]
        self.assertEqual(
            PosOrder._loyalty_drop_non_member_cards(coupon_data), coupon_data
        )
        self.program.loyalty_auto_enroll = False
        kept = PosOrder._loyalty_drop_non_member_cards(coupon_data)
        self.assertEqual(set(kept), {"-2", str(self.card.id)})


@tagged("post_install", "-at_install")
class TestLoyaltyReferralKpi(LoyaltyKpiCommon):
    def test_advocates_and_referral_conversion(self):
        fiona, fred = self.Partner.create(
            [
                {"name": "Fiona Friend", "email": "fiona@example.org"},
                {"name": "Fred Friend", "email": "fred@example.org"},
            ]
        )
        fiona.loyalty_referred_by_id = self.member
        fred.loyalty_referred_by_id = self.member
        self.assertFalse(self.Partner.search([("loyalty_is_advocate", "=", True)]))
        self._confirmed_order(fiona, qty=2, price=50.0)
        self.assertEqual(
            self.Partner.search([("loyalty_is_advocate", "=", True)]), self.member
        )
        today = fields.Date.to_string(self.today)
        kpis = self.program.get_loyalty_kpis(today, today)
        # Two customers referred today, one of them ordered.
        self.assertEqual(kpis["referral_conversion_rate"], 0.5)
