# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common import LoyaltyCrmCommon


@tagged("post_install", "-at_install")
class TestLoyaltyFeedback(LoyaltyCrmCommon):
    """``res.partner.loyalty_record_feedback``: the member's NPS answer,
    recorded once per reference, paid once, followed up."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.seller = new_test_user(
            cls.env,
            login="fb_seller",
            groups="sales_team.group_sale_salesman_all_leads,point_of_sale.group_pos_user",
        )
        cls.manager = new_test_user(
            cls.env,
            login="fb_manager",
            groups="sales_team.group_sale_manager,point_of_sale.group_pos_user,"
            "loyalty_crm_addon.group_loyalty_manager",
        )
        cls.outsider = new_test_user(
            cls.env, login="fb_outsider", groups="base.group_user"
        )
        cls.member.user_id = cls.seller
        cls.program.loyalty_feedback_points = 20
        cls.Feedback = cls.env["loyalty.feedback"]
        cls.followup = cls.env.ref(
            "loyalty_crm_addon.mail_activity_type_loyalty_followup"
        )

    def _record(self, *args, user=None, partner=None):
        partner = (partner or self.member).with_user(user or self.seller)
        return partner.loyalty_record_feedback(*args)

    def _activities(self):
        return self.env["mail.activity"].search(
            [
                ("res_model", "=", "res.partner"),
                ("res_id", "=", self.member.id),
                ("activity_type_id", "=", self.followup.id),
            ]
        )

    def test_record_is_idempotent_and_pays_once(self):
        first = self._record(8, "Good", "survey:1")
        self.assertIsInstance(first, int)
        self.assertEqual(self._record(8, "Good", "survey:1"), first)
        self.assertEqual(self._record(3, "Changed my mind", "survey:1"), first)
        feedback = self.Feedback.browse(first)
        self.assertRecordValues(
            feedback,
            [
                {
                    "partner_id": self.member.id,
                    "score": 8,
                    "comment": "Good",
                    "channel": "api",
                    "reference": "survey:1",
                    "category": "passive",
                }
            ],
        )
        bonus = self._lines(entry_type="bonus")
        self.assertEqual(bonus.mapped("points"), [20.0])
        self.assertEqual(feedback.ledger_line_id, bonus)
        # Another reference: another answer, paid.
        self._record(9, False, "survey:2")
        self.assertEqual(len(self._lines(entry_type="bonus")), 2)
        # Without a reference, paid once a day.
        self._record(7)
        self._record(7)
        self.assertEqual(len(self._lines(entry_type="bonus")), 3)
        self.assertEqual(
            self.Feedback.search_count([("partner_id", "=", self.member.id)]), 4
        )
        self.assertLedgerMatches()

    def test_company_contact_answers_for_the_company(self):
        company = self.env["res.partner"].create({"name": "Acme", "is_company": True})
        company_card = self.env["loyalty.card"].browse(company.action_loyalty_enroll())
        contact = self.env["res.partner"].create(
            {"name": "Ann Acme", "parent_id": company.id}
        )
        feedback = self.Feedback.browse(self._record(10, partner=contact))
        self.assertEqual(feedback.partner_id, company)
        self.assertEqual(feedback.author_id, contact)
        self.assertEqual(self._lines(company_card, entry_type="bonus").points, 20.0)

    def test_bad_input_writes_nothing(self):
        before = self.Feedback.search_count([])
        for args in (
            (11,),
            (-1,),
            (7.5,),
            ("9",),
            (True,),
            (None,),
            (5, 42),
            (5, "x" * 5000),
            (5, False, "r" * 500),
        ):
            with self.subTest(args=args), self.assertRaises(UserError):
                self._record(*args)
        self.assertEqual(self.Feedback.search_count([]), before)
        self.assertFalse(self._lines(entry_type="bonus"))
        self.assertFalse(self._activities())
        with self.assertRaises(AccessError):
            self._record(9, user=self.outsider)

    def test_detractor_gets_an_activity_for_the_salesperson(self):
        self._record(3, "Late delivery, twice.", "survey:3")
        activity = self._activities()
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, self.seller)
        self.assertIn("Late delivery", activity.note)
        self.assertFalse(
            self.env["loyalty.member.event"].search([("event_type", "=", "promoter")])
        )

    def test_promoter_gets_an_event(self):
        feedback_id = self._record(10, "Love it", "survey:4")
        event = self.env["loyalty.member.event"].search(
            [("event_type", "=", "promoter"), ("partner_id", "=", self.member.id)]
        )
        self.assertEqual(event.feedback_id.id, feedback_id)
        self.assertFalse(self._activities())
        self.env["loyalty.member.event"]._cron_process_events()
        self.assertEqual(event.state, "done")

    def test_member_answers_for_themselves_on_the_portal(self):
        portal = new_test_user(
            self.env,
            login="fb_portal",
            groups="base.group_portal",
            partner_id=self.member.id,
        )
        other = self.env["res.partner"].create({"name": "Someone Else"})
        feedback = self.member.with_user(portal)._loyalty_record_feedback(
            9, "Nice", "portal:1", "portal"
        )
        self.assertEqual(self.Feedback.browse(feedback).channel, "portal")
        with self.assertRaises(AccessError):
            other.with_user(portal)._loyalty_record_feedback(9)

    def test_kpi_nps(self):
        today = fields.Date.context_today(self.Feedback)
        period = (fields.Date.to_string(today), fields.Date.to_string(today))
        kpis = self.program.with_user(self.manager).get_loyalty_kpis(*period)
        self.assertIs(kpis["nps"], False)
        self.assertEqual(kpis["nps_responses"], 0)
        partners = self.env["res.partner"].create(
            [{"name": f"Member {i}"} for i in range(5)]
        )
        for partner, score in zip(partners, (10, 9, 8, 6, 0), strict=True):
            partner.action_loyalty_enroll()
            self._record(score, partner=partner)
        # An answer of last year is out of the period.
        old = self.Feedback.browse(self._record(0, partner=self.member))
        self.env.cr.execute(
            "UPDATE loyalty_feedback SET date = %s WHERE id = %s",
            [fields.Datetime.now() - timedelta(days=400), old.id],
        )
        self.env.invalidate_all()
        kpis = self.program.with_user(self.manager).get_loyalty_kpis(*period)
        # 2 promoters, 1 passive, 2 detractors of 5: 40% - 40% = 0.
        self.assertEqual(kpis["nps"], 0.0)
        self.assertEqual(kpis["nps_responses"], 5)
        self._record(10, partner=partners[2], user=self.manager)
        kpis = self.program.with_user(self.manager).get_loyalty_kpis(*period)
        # 3 promoters, 2 detractors of 6: 50% - 33.3% = 16.7.
        self.assertEqual(kpis["nps"], 16.7)
        self.assertEqual(kpis["nps_responses"], 6)

    def test_privacy_export_and_erase(self):
        self._record(4, "Call me back on my mobile", "survey:9")
        data = self.member.with_user(self.manager).loyalty_export_data()
        self.assertEqual(
            [(f["score"], f["reference"]) for f in data["feedback"]], [(4, "survey:9")]
        )
        self.member.with_user(self.manager).action_loyalty_erase()
        feedback = self.Feedback.search([("partner_id", "=", self.member.id)])
        self.assertEqual(feedback.comment, "[erased]")
        self.assertEqual(feedback.score, 4)
