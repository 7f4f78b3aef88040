# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
from datetime import timedelta

from odoo import api, fields, models

_logger = logging.getLogger(__name__)

# Orders dated up to this many days before the invitation day are still
# invited (a day the scheduler did not run is caught up); older ones never.
CATCH_UP_DAYS = 3
# Invitations sent per run and company, at most (the next run sends more).
BATCH_SIZE = 500


class LoyaltyProgram(models.Model):
    _inherit = "loyalty.program"

    def _default_loyalty_survey_id(self):
        return self.env.ref(
            "loyalty_crm_survey.survey_loyalty_nps", raise_if_not_found=False
        )

    loyalty_survey_id = fields.Many2one(
        "survey.survey",
        string="After-Purchase Survey",
        default=lambda self: self._default_loyalty_survey_id(),
        ondelete="set null",
        help="Survey sent by email to members some days after each order "
        "(sales and till orders). Its first Scale (or Numerical Value) "
        "question is the NPS score (0-10), its first text question the "
        "comment: the answer becomes the member's feedback. Empty: no "
        "survey is sent.",
    )
    loyalty_survey_delay_days = fields.Integer(
        string="Survey Delay (days)",
        default=7,
        help="Days after the order date when the member is invited to "
        "answer the survey.",
    )

    _sql_constraints = [
        (
            "loyalty_survey_delay_days_positive",
            "CHECK(loyalty_survey_delay_days >= 0)",
            "The survey delay cannot be negative.",
        ),
    ]

    # ------------------------------------------------------------------
    # Invitations (daily scheduled action)
    # ------------------------------------------------------------------
    @api.model
    def _cron_loyalty_survey_invite(self):
        """Invite the members who ordered ``loyalty_survey_delay_days`` days
        ago (up to CATCH_UP_DAYS more) to answer their company's program's
        survey: one invitation per order, ever; members who opted out of
        loyalty emails (``loyalty_consent = 'out'``) or without an email
        are not invited. Returns the number of invitations sent."""
        companies = (
            self.env["res.company"]
            .sudo()
            .search([("loyalty_membership_program_id.loyalty_survey_id", "!=", False)])
        )
        sent = 0
        for company in companies:
            program = company.loyalty_membership_program_id
            if program.active and program.loyalty_survey_id.active:
                sent += (
                    program.sudo().with_company(company)._loyalty_survey_invite(company)
                )
        return sent

    def _loyalty_survey_orders(self, company):
        """The orders of ``company`` due for an invitation today: sales
        orders (confirmed) and till orders (paid, not refunds) with a
        customer, dated ``loyalty_survey_delay_days`` to that plus
        CATCH_UP_DAYS days ago, not invited yet."""
        self.ensure_one()
        now = fields.Datetime.now()
        date_to = now - timedelta(days=self.loyalty_survey_delay_days)
        date_from = date_to - timedelta(days=CATCH_UP_DAYS)
        Answer = self.env["survey.user_input"].sudo().with_context(active_test=False)
        dates = [
            ("company_id", "=", company.id),
            ("partner_id", "!=", False),
            ("date_order", ">", date_from),
            ("date_order", "<=", date_to),
        ]
        sales = (
            self.env["sale.order"]
            .sudo()
            .search(
                dates + [("state", "=", "sale")],
                order="date_order, id",
                limit=BATCH_SIZE,
            )
        )
        if sales:
            sales -= Answer.search(
                [("loyalty_sale_order_id", "in", sales.ids)]
            ).loyalty_sale_order_id
        tills = (
            self.env["pos.order"]
            .sudo()
            .search(
                dates
                + [
                    ("state", "in", ("paid", "done", "invoiced")),
                    ("amount_total", ">", 0),
                ],
                order="date_order, id",
                limit=BATCH_SIZE,
            )
        )
        if tills:
            tills -= Answer.search(
                [("loyalty_pos_order_id", "in", tills.ids)]
            ).loyalty_pos_order_id
        return sales, tills

    def _loyalty_survey_invite(self, company):
        """Invite the customers of the due orders (see
        ``_loyalty_survey_orders``) who are members of this program and may
        receive loyalty emails. Returns the number of invitations."""
        self.ensure_one()
        survey = self.loyalty_survey_id.sudo()
        template = self.env.ref(
            "loyalty_crm_survey.mail_template_loyalty_survey_invite",
            raise_if_not_found=False,
        )
        if not survey or not template:
            return 0
        sales, tills = self._loyalty_survey_orders(company)
        orders = [(o, "loyalty_sale_order_id") for o in sales] + [
            (o, "loyalty_pos_order_id") for o in tills
        ]
        customers = sales.partner_id | tills.partner_id
        members = set(
            self.env["loyalty.card"]
            .sudo()
            .search(
                [
                    ("program_id", "=", self.id),
                    ("partner_id", "in", customers.commercial_partner_id.ids),
                ]
            )
            .partner_id.ids
        )
        allowed = customers._loyalty_can_contact()
        answers = self.env["survey.user_input"]
        for order, link in orders[:BATCH_SIZE]:
            partner = order.partner_id
            if (
                partner.commercial_partner_id.id not in members
                or partner not in allowed
                or not partner.email_normalized
            ):
                continue
            answers |= survey._create_answer(
                partner=partner, check_attempts=False, **{link: order.id}
            )
        for answer in answers:
            template.send_mail(
                answer.id, email_layout_xmlid="mail.mail_notification_light"
            )
        if answers:
            _logger.info(
                "Loyalty survey: %s invitation(s) for %s", len(answers), company.name
            )
        return len(answers)
