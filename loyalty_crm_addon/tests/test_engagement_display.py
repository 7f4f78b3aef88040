# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import datetime, time, timedelta

from lxml import html

from odoo import Command, fields, http
from odoo.tests import HttpCase, new_test_user, tagged

from .common import LoyaltyCrmCommon


class EngagementCommon(LoyaltyCrmCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.today = fields.Date.context_today(cls.env["res.partner"])
        cls.program.write(
            {
                "loyalty_feedback_points": 20,
                "loyalty_tier_ids": [
                    Command.create({"name": "Silver", "threshold": 50}),
                    Command.create({"name": "Gold", "threshold": 1000}),
                ],
            }
        )
        cls.silver, cls.gold = cls.program.loyalty_tier_ids.sorted("threshold")
        cls.Ledger = cls.env["loyalty.ledger.line"]

    @classmethod
    def _bonus(cls, partner, points, reference):
        """Points earned (a bonus), posted as the engine does."""
        Ledger = cls.env["loyalty.ledger.line"].sudo()
        card = partner.loyalty_card_id
        return Ledger._post(
            [
                Ledger._prepare_line(
                    card,
                    "bonus",
                    points,
                    source="system",
                    reference=reference,
                    description="Bonus",
                )
            ]
        )


class EngagementPortalCommon(EngagementCommon):
    """A portal member with a badge, a badge in progress, campaigns."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        portal = cls.env.ref("base.group_portal")
        cls.env["res.users"].create(
            {
                "login": "lca_martha",
                "password": "lca_martha_pw",
                "partner_id": cls.member.id,
                "groups_id": [Command.set(portal.ids)],
            }
        )
        Achievement = cls.env["loyalty.achievement"]
        cls.early = Achievement.create(
            {
                "name": "Early Bird",
                "program_id": cls.program.id,
                "goal": "orders",
                "target": 1,
                "icon": "fa-sun-o",
                "color": 3,
            }
        )
        cls.streak = Achievement.create(
            {
                "name": "Streak Master",
                "program_id": cls.program.id,
                "goal": "orders",
                "target": 3,
                "period_days": 30,
                "date_from": cls.today - timedelta(days=10),
                "bonus_points": 100,
            }
        )
        cls.golden = Achievement.create(
            {
                "name": "Golden Circle",
                "program_id": cls.program.id,
                "goal": "spend",
                "target": 1000,
                "tier_ids": [Command.set(cls.gold.ids)],
            }
        )
        Member = cls.env["loyalty.achievement.member"]
        Member.create(
            {
                "partner_id": cls.member.id,
                "achievement_id": cls.early.id,
                "program_id": cls.program.id,
                "period": "all",
                "progress": 1,
                "state": "done",
                "date_done": datetime.combine(cls.today - timedelta(days=3), time(12)),
            }
        )
        start, __, period = cls.streak._loyalty_window(cls.today)
        Member.create(
            {
                "partner_id": cls.member.id,
                "achievement_id": cls.streak.id,
                "program_id": cls.program.id,
                "period": period,
                "period_start": start,
                "progress": 1,
            }
        )
        garden = cls.env["product.category"].create({"name": "LCA Garden"})
        Campaign = cls.env["loyalty.campaign"]
        common = {"program_id": cls.program.id, "date_from": cls.today}
        Campaign.create(
            {
                **common,
                "name": "Spring garden",
                "date_to": cls.today + timedelta(days=3),
                "multiplier": 2,
                "product_category_ids": [Command.set(garden.ids)],
            }
        )
        Campaign.create(
            {
                **common,
                "name": "LCA Gold evening",
                "date_to": cls.today + timedelta(days=3),
                "tier_ids": [Command.set(cls.gold.ids)],
            }
        )
        Campaign.create(
            {
                **common,
                "name": "LCA Last week",
                "date_from": cls.today - timedelta(days=10),
                "date_to": cls.today - timedelta(days=1),
            }
        )


@tagged("post_install", "-at_install")
class TestEngagementPortal(EngagementPortalCommon, HttpCase):
    """/my/loyalty: badges, what is next, campaigns, the feedback question,
    the opt-in leaderboard."""

    def _page(self, url="/my/loyalty"):
        response = self.url_open(url)
        self.assertEqual(response.status_code, 200)
        return html.fromstring(response.content)

    @staticmethod
    def _text(doc, element_id):
        return " ".join(doc.get_element_by_id(element_id).text_content().split())

    def _post(self, url, **data):
        return self.url_open(
            url, data={"csrf_token": http.Request.csrf_token(self), **data}
        )

    def test_badges_progress_and_campaigns(self):
        self.authenticate("lca_martha", "lca_martha_pw")
        doc = self._page()
        badges = self._text(doc, "o_loyalty_badges")
        self.assertIn("Early Bird", badges)
        self.assertTrue(
            doc.xpath("//*[@id='o_loyalty_badges']//i[hasclass('fa-sun-o')]")
        )
        progress = self._text(doc, "o_loyalty_progress")
        self.assertIn("2 more orders", progress)
        self.assertIn("for Streak Master: +100 points", progress)
        self.assertIn("1 / 3", progress)
        # A badge of a tier the member is not in is not shown, nor a badge
        # already reached (Early Bird: in the badges only).
        self.assertNotIn("Golden Circle", progress)
        self.assertNotIn("Early Bird", progress)
        campaigns = self._text(doc, "o_loyalty_campaigns")
        self.assertIn("Double points on LCA Garden until", campaigns)
        self.assertNotIn("LCA Gold evening", campaigns)
        self.assertNotIn("LCA Last week", campaigns)
        # In Gold, the Gold campaign and badge show.
        self._set_tier(self.card, self.gold)
        doc = self._page()
        self.assertIn("LCA Gold evening", self._text(doc, "o_loyalty_campaigns"))
        self.assertIn("Golden Circle", self._text(doc, "o_loyalty_progress"))

    def test_feedback_pays_once(self):
        self.authenticate("lca_martha", "lca_martha_pw")
        form = self._page().xpath("//form[hasclass('o_loyalty_feedback_form')]")[0]
        self.assertTrue(form.xpath(".//input[@name='csrf_token']"))
        self.assertEqual(len(form.xpath(".//input[@name='score']")), 11)
        # Without the CSRF token, nothing is recorded.
        response = self.url_open("/my/loyalty/feedback", data={"score": "9"})
        self.assertNotEqual(response.status_code, 200)
        Feedback = self.env["loyalty.feedback"]
        self.assertFalse(Feedback.search([("partner_id", "=", self.member.id)]))
        # A bad score: said, nothing written.
        response = self._post("/my/loyalty/feedback", score="eleven")
        self.assertIn("Choose a score from 0 to 10", response.text)
        first = self._post("/my/loyalty/feedback", score="9", comment=" Lovely ")
        self.assertEqual(first.status_code, 200)
        thanks = self._text(html.fromstring(first.content), "o_loyalty_feedback")
        self.assertIn("Thank you for your feedback", thanks)
        self.assertIn("You earned 20 points", thanks)
        # The same answer sent twice (double click, back button): once.
        second = self._post("/my/loyalty/feedback", score="3")
        self.assertEqual(second.status_code, 200)
        feedback = Feedback.search([("partner_id", "=", self.member.id)])
        self.assertRecordValues(
            feedback, [{"score": 9, "comment": "Lovely", "channel": "portal"}]
        )
        self.assertEqual(self._lines(entry_type="bonus").mapped("points"), [20.0])
        self.assertLedgerMatches()
        page = self._text(self._page(), "o_loyalty_feedback")
        self.assertIn("This month you told us 9/10", page)

    def test_leaderboard_opt_in_first_name_and_initial(self):
        Partner = self.env["res.partner"]
        maria, zed, ann = Partner.create(
            [
                {"name": "Maria Garcia", "email": "maria@example.com"},
                {"name": "Zed Hidden", "email": "zed@example.com"},
                {"name": "Ann Old", "email": "ann@example.com"},
            ]
        )
        for partner in maria | zed | ann:
            partner.action_loyalty_enroll()
        maria.loyalty_leaderboard_opt_in = True
        ann.loyalty_leaderboard_opt_in = True
        self._bonus(maria, 300, "lb:maria")
        self._bonus(zed, 900, "lb:zed")
        self._bonus(self.member, 120, "lb:martha")
        # Ann's points are older than the board's 30 days.
        old = self._bonus(ann, 5000, "lb:ann")
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE loyalty_ledger_line SET date = %s WHERE id = %s",
            [fields.Datetime.now() - timedelta(days=45), old.id],
        )
        self.authenticate("lca_martha", "lca_martha_pw")
        doc = self._page()
        board = self._text(doc, "o_loyalty_leaderboard")
        self.assertIn("Maria G.", board)
        for hidden in ("Garcia", "Zed", "Hidden", "Ann", "example.com", "Martha"):
            self.assertNotIn(hidden, board)
        self.assertTrue(doc.xpath("//button[hasclass('o_loyalty_leaderboard_join')]"))
        self._post("/my/loyalty/leaderboard", opt_in="1")
        self.assertTrue(self.member.loyalty_leaderboard_opt_in)
        doc = self._page()
        rows = [
            " ".join(row.text_content().split())
            for row in doc.xpath("//tr[hasclass('o_loyalty_leaderboard_row')]")
        ]
        self.assertEqual(rows, ["Maria G. 300 points", "#2 Martha M. (you) 120 points"])
        # Leaving: gone from the board again.
        self._post("/my/loyalty/leaderboard", opt_in="0")
        self.assertFalse(self.member.loyalty_leaderboard_opt_in)
        self.assertNotIn("Martha", self._text(self._page(), "o_loyalty_leaderboard"))

    def test_leaderboard_top_ten_and_own_rank(self):
        Partner = self.env["res.partner"]
        others = Partner.create([{"name": f"Member{i:02d} Surname"} for i in range(12)])
        for i, partner in enumerate(others):
            partner.action_loyalty_enroll()
            partner.loyalty_leaderboard_opt_in = True
            self._bonus(partner, 1000 - i * 10, f"lb:{i}")
        self.member.loyalty_leaderboard_opt_in = True
        self._bonus(self.member, 5, "lb:me")
        board = Partner._loyalty_leaderboard(self.program, self.member)
        self.assertEqual(len(board["rows"]), 10)
        self.assertEqual(board["rows"][0]["name"], "Member00 S.")
        self.assertEqual(board["me"]["rank"], 13)
        self.assertEqual(board["me"]["name"], "Martha M.")
        self.authenticate("lca_martha", "lca_martha_pw")
        text = self._text(self._page(), "o_loyalty_leaderboard")
        self.assertIn("#13 Martha M. (you)", text)
        self.assertNotIn("Member10", text)

    def test_leaderboard_choice_in_export_and_erasure(self):
        self.member.loyalty_leaderboard_opt_in = True
        data = self.member.sudo()._loyalty_export_data()
        self.assertIs(data["profile"]["loyalty_leaderboard_opt_in"], True)
        self.member.sudo()._loyalty_erase_one()
        self.assertFalse(self.member.loyalty_leaderboard_opt_in)


@tagged("post_install", "-at_install")
class TestEngagementPortalTour(EngagementPortalCommon, HttpCase):
    """The same page on a phone (static/tests/tours/
    loyalty_crm_engagement_tour.js)."""

    browser_size = "390x844"
    touch_enabled = True

    def test_engagement_tour_on_a_phone(self):
        self._bonus(self.member, 120, "tour:earned")
        self.start_tour(
            "/my/loyalty", "loyalty_crm_portal_engagement", login="lca_martha"
        )
        feedback = self.env["loyalty.feedback"].search(
            [("partner_id", "=", self.member.id)]
        )
        self.assertRecordValues(
            feedback, [{"score": 9, "comment": "Great shop", "channel": "portal"}]
        )
        self.assertTrue(self.member.loyalty_leaderboard_opt_in)


@tagged("post_install", "-at_install")
class TestEngagementDashboard(EngagementCommon):
    """The dashboard's feedback part: NPS by month, by tier, members
    against non-members."""

    def test_nps_breakdown(self):
        seller = new_test_user(
            self.env,
            login="nps_seller",
            groups="sales_team.group_sale_salesman_all_leads",
        )
        owner = new_test_user(
            self.env,
            login="nps_owner",
            groups="base.group_user,loyalty_crm_addon.group_loyalty_manager,"
            "sales_team.group_sale_manager",
        )
        Partner = self.env["res.partner"]
        gold_member, walk_in = Partner.create(
            [{"name": "Goldie"}, {"name": "Walk-in Wendy"}]
        )
        gold_member.action_loyalty_enroll()
        self._set_tier(gold_member.loyalty_card_id, self.gold)
        answers = [
            (self.member, 10),  # member without tier: promoter
            (self.member, 3),  # detractor
            (gold_member, 9),  # Gold promoter
            (walk_in, 2),  # non-member detractor
            (walk_in, 8),  # non-member passive
        ]
        for i, (partner, score) in enumerate(answers):
            partner.with_user(seller).loyalty_record_feedback(score, False, f"t{i}")
        # One answer of the month before.
        last_month = self.today.replace(day=1) - timedelta(days=1)
        feedback = self.env["loyalty.feedback"].search([("reference", "=", "t4")])
        self.env.cr.execute(
            "UPDATE loyalty_feedback SET date = %s WHERE id = %s",
            [datetime.combine(last_month, time(12)), feedback.id],
        )
        self.env.invalidate_all()
        data = self.program.with_user(owner).get_loyalty_dashboard_data(
            self.program.id,
            fields.Date.to_string(last_month.replace(day=1)),
            fields.Date.to_string(self.today),
        )
        nps = data["nps"]
        self.assertEqual(nps["responses"], 5)
        self.assertEqual(data["kpis"]["nps"], 0.0)  # 2 promoters, 2 detractors
        self.assertEqual(data["kpis"]["nps_responses"], 5)
        self.assertIn("nps", data["previous"]["kpis"])
        self.assertEqual(
            nps["trend"],
            [
                {
                    "month": last_month.replace(day=1).isoformat(),
                    "nps": 0.0,
                    "responses": 1,
                },
                {
                    "month": self.today.replace(day=1).isoformat(),
                    "nps": 0.0,
                    "responses": 4,
                },
            ],
        )
        self.assertEqual(
            nps["by_tier"],
            [
                {"tier": False, "nps": 0.0, "responses": 2},
                {"tier": "Gold", "nps": 100.0, "responses": 1},
            ],
        )
        self.assertEqual(nps["members"], {"nps": 33.3, "responses": 3})
        self.assertEqual(nps["non_members"], {"nps": -50.0, "responses": 2})


@tagged("post_install", "-at_install")
class TestChurnFeedback(EngagementCommon):
    """A detractor's answer raises the churn risk and says so; a
    promoter's lowers it."""

    def _insert_orders(self, rows):
        """Confirmed sales orders (partner_id, date, untaxed amount), as the
        KPI tests make them."""
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
                [datetime.combine(r[1], time(10)) for r in rows],
                [r[2] for r in rows],
            ],
        )
        self.env["loyalty.kpi.order"]._touch(partner_ids=[r[0] for r in rows])

    def test_detractor_raises_churn_risk(self):
        Partner = self.env["res.partner"]
        happy, unhappy, quiet = Partner.create(
            [{"name": "Happy"}, {"name": "Unhappy"}, {"name": "Quiet"}]
        )
        members = happy | unhappy | quiet
        for partner in members:
            partner.action_loyalty_enroll()
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE loyalty_card SET create_date = %s WHERE partner_id = ANY(%s)",
            [fields.Datetime.now() - timedelta(days=400), members.ids],
        )
        # The same steady buying, one order every 10 days.
        self._insert_orders(
            [
                (p.id, self.today - timedelta(days=d), 50)
                for p in members
                for d in range(300, 4, -10)
            ]
        )
        seller = new_test_user(
            self.env, login="churn_seller", groups="sales_team.group_sale_salesman"
        )
        unhappy.with_user(seller).loyalty_record_feedback(4, "Damaged parcel", "c1")
        happy.with_user(seller).loyalty_record_feedback(10, False, "c2")
        Partner._cron_loyalty_segments()
        base = quiet.loyalty_churn_score
        self.assertGreater(unhappy.loyalty_churn_score, base)
        self.assertLessEqual(happy.loyalty_churn_score, base)
        day = fields.Date.to_string(fields.Datetime.now().date())
        self.assertEqual(unhappy.loyalty_churn_reason, f"Gave 4/10 on {day}.")
        self.assertEqual(quiet.loyalty_churn_reason, "Buying at the usual rhythm.")
        self.assertEqual(happy.loyalty_churn_reason, "Buying at the usual rhythm.")
        # An answer older than 90 days no longer counts.
        self.env.cr.execute(
            "UPDATE loyalty_feedback SET date = %s WHERE partner_id = %s",
            [fields.Datetime.now() - timedelta(days=100), unhappy.id],
        )
        Partner._cron_loyalty_segments()
        self.assertEqual(unhappy.loyalty_churn_score, base)
        self.assertEqual(unhappy.loyalty_churn_reason, "Buying at the usual rhythm.")
