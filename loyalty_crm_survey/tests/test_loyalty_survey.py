# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo import fields
from odoo.tests import new_test_user, tagged

from odoo.addons.loyalty_crm_addon.tests.common import LoyaltyCrmCommon


@tagged("post_install", "-at_install")
class TestLoyaltySurvey(LoyaltyCrmCommon):
    """The after-purchase survey: members are invited some days after an
    order (once per order, honouring their email consent); their answer
    becomes their feedback, paid once."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.survey = cls.env.ref("loyalty_crm_survey.survey_loyalty_nps")
        cls.score_question = cls.env.ref(
            "loyalty_crm_survey.survey_loyalty_nps_question_score"
        )
        cls.comment_question = cls.env.ref(
            "loyalty_crm_survey.survey_loyalty_nps_question_comment"
        )
        cls.program.write(
            {
                "loyalty_survey_id": cls.survey.id,
                "loyalty_survey_delay_days": 7,
                "loyalty_feedback_points": 25,
            }
        )
        cls.salesperson = new_test_user(
            cls.env,
            login="survey_sales",
            groups="sales_team.group_sale_salesman,loyalty_crm_addon.group_loyalty_user",
        )
        cls.Answer = cls.env["survey.user_input"]

    def _order_days_ago(self, days, partner=None):
        order = self._confirmed_order(partner)
        order.date_order = fields.Datetime.now() - timedelta(days=days)
        return order

    def _invitations(self, order):
        return self.Answer.search([("loyalty_sale_order_id", "=", order.id)])

    def _answer(self, invitation, score, comment=None):
        invitation._save_lines(self.score_question, score)
        if comment:
            invitation._save_lines(self.comment_question, comment)
        invitation._mark_done()

    def test_new_programs_send_the_shipped_survey(self):
        program = self.env["loyalty.program"].create(
            {"name": "Another Club", "program_type": "loyalty"}
        )
        self.assertEqual(program.loyalty_survey_id, self.survey)
        self.assertEqual(program.loyalty_survey_delay_days, 7)
        self.assertEqual(
            self.score_question.question_type, "scale", "the NPS question, 0 to 10"
        )
        self.assertEqual(
            (self.score_question.scale_min, self.score_question.scale_max), (0, 10)
        )

    def test_invited_once_per_order_after_the_delay(self):
        recent = self._order_days_ago(3)
        due = self._order_days_ago(8)
        Program = self.env["loyalty.program"]
        self.assertEqual(Program._cron_loyalty_survey_invite(), 1)
        self.assertFalse(self._invitations(recent), "not N days old yet")
        invitation = self._invitations(due)
        self.assertEqual(len(invitation), 1)
        self.assertRecordValues(
            invitation,
            [
                {
                    "survey_id": self.survey.id,
                    "partner_id": self.member.id,
                    "state": "new",
                }
            ],
        )
        mail = self.env["mail.mail"].search(
            [("recipient_ids", "in", self.member.ids), ("subject", "ilike", due.name)]
        )
        self.assertEqual(len(mail), 1, "the invitation email, queued")
        self.assertIn(invitation.access_token, mail.body_html)
        # Once per order, whatever runs again; the other order once due.
        self.assertEqual(Program._cron_loyalty_survey_invite(), 0)
        self.assertEqual(len(self._invitations(due)), 1)
        recent.date_order = fields.Datetime.now() - timedelta(days=7, hours=1)
        self.assertEqual(Program._cron_loyalty_survey_invite(), 1)
        self.assertEqual(len(self._invitations(recent)), 1)
        # Orders older than the catch-up window are never surveyed.
        old = self._order_days_ago(30)
        Program._cron_loyalty_survey_invite()
        self.assertFalse(self._invitations(old))

    def test_no_invitation_without_consent_or_membership(self):
        self.member.with_user(self.salesperson).loyalty_set_consent("out")
        stranger = self.env["res.partner"].create(
            {"name": "Not A Member", "email": "nam@example.com"}
        )
        self.program.loyalty_auto_enroll = False
        orders = self._order_days_ago(8) | self._order_days_ago(8, stranger)
        self.env["loyalty.program"]._cron_loyalty_survey_invite()
        self.assertFalse(
            self.Answer.search([("loyalty_sale_order_id", "in", orders.ids)])
        )
        # Without a survey on the program, nobody is invited.
        self.member.sudo()._loyalty_set_consent("in", "backend")
        self.program.loyalty_survey_id = False
        self.env["loyalty.program"]._cron_loyalty_survey_invite()
        self.assertFalse(self._invitations(orders[0]))

    def test_answer_records_feedback_and_pays_once(self):
        order = self._order_days_ago(8)
        self.env["loyalty.program"]._cron_loyalty_survey_invite()
        invitation = self._invitations(order)
        balance = self.member.loyalty_balance
        self._answer(invitation, 9, "Quick delivery, thanks!")
        feedback = self.env["loyalty.feedback"].search(
            [("partner_id", "=", self.member.id)]
        )
        self.assertRecordValues(
            feedback,
            [
                {
                    "score": 9,
                    "comment": "Quick delivery, thanks!",
                    "channel": "survey",
                    "reference": f"survey:sale.order:{order.id}",
                    "category": "promoter",
                }
            ],
        )
        self.assertEqual(feedback.ledger_line_id.points, 25)
        self.member.invalidate_recordset()
        self.assertEqual(self.member.loyalty_balance, balance + 25)
        # Done again, or a second answer for the same order: paid once.
        invitation._mark_done()
        second = self.survey._create_answer(
            partner=self.member, check_attempts=False, loyalty_sale_order_id=order.id
        )
        self._answer(second, 4)
        self.assertEqual(
            self.env["loyalty.feedback"].search_count(
                [("partner_id", "=", self.member.id)]
            ),
            1,
        )
        self.member.invalidate_recordset()
        self.assertEqual(self.member.loyalty_balance, balance + 25)
        self.assertLedgerMatches()

    def test_answer_without_score_or_test_entry_records_nothing(self):
        order = self._order_days_ago(8)
        self.env["loyalty.program"]._cron_loyalty_survey_invite()
        invitation = self._invitations(order)
        invitation._save_lines(self.comment_question, "Only a comment")
        invitation._mark_done()
        test_entry = self.Answer.create(
            {
                "survey_id": self.survey.id,
                "partner_id": self.member.id,
                "test_entry": True,
                "loyalty_sale_order_id": order.id,
            }
        )
        self._answer(test_entry, 10)
        self.assertFalse(
            self.env["loyalty.feedback"].search([("partner_id", "=", self.member.id)])
        )
