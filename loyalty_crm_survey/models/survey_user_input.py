# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

from odoo import fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from odoo.addons.loyalty_crm_addon.models.res_partner_engagement import MAX_COMMENT

_logger = logging.getLogger(__name__)

SCORE_TYPES = ("scale", "numerical_box", "simple_choice")
COMMENT_TYPES = ("text_box", "char_box")


class SurveyUserInput(models.Model):
    _inherit = "survey.user_input"

    loyalty_sale_order_id = fields.Many2one(
        "sale.order",
        string="Surveyed Sales Order",
        index="btree_not_null",
        ondelete="set null",
        readonly=True,
        help="The order this after-purchase survey was sent for.",
    )
    loyalty_pos_order_id = fields.Many2one(
        "pos.order",
        string="Surveyed POS Order",
        index="btree_not_null",
        ondelete="set null",
        readonly=True,
        help="The till order this after-purchase survey was sent for.",
    )

    def _mark_done(self):
        """A finished answer to a loyalty survey becomes the member's
        feedback (NPS), recorded once per order (or per answer)."""
        res = super()._mark_done()
        for answer in self:
            answer._loyalty_record_nps()
        return res

    # ------------------------------------------------------------------
    # Answer -> loyalty feedback
    # ------------------------------------------------------------------
    def _loyalty_is_nps(self):
        """An invitation sent for an order, or an answer to the survey of a
        membership program, by a known contact (not a test)."""
        self.ensure_one()
        if self.test_entry or not self.partner_id:
            return False
        if self.loyalty_sale_order_id or self.loyalty_pos_order_id:
            return True
        return bool(
            self.env["loyalty.program"]
            .sudo()
            .with_context(active_test=False)
            .search_count([("loyalty_survey_id", "=", self.survey_id.id)], limit=1)
        )

    def _loyalty_nps_answer(self):
        """(score, comment) of the answer: the first Scale, Numerical Value
        or Multiple Choice (answers "0".."10") question answered, and the
        first text question answered; score None without one."""
        self.ensure_one()
        lines = self.user_input_line_ids.filtered(lambda ln: not ln.skipped).sorted(
            lambda ln: (ln.question_id.sequence, ln.question_id.id, ln.id)
        )
        score = comment = None
        for line in lines:
            kind = line.question_id.question_type
            if score is None and kind in SCORE_TYPES:
                value = None
                if line.answer_type == "scale":
                    value = line.value_scale
                elif line.answer_type == "numerical_box":
                    value = line.value_numerical_box
                elif line.answer_type == "suggestion":
                    text = (line.suggested_answer_id.value or "").strip()
                    value = int(text) if text.isdigit() else None
                if value is not None and 0 <= value <= 10 and value == int(value):
                    score = int(value)
            elif comment is None and kind in COMMENT_TYPES:
                comment = (line.value_text_box or line.value_char_box or "").strip()
        return score, (comment or False) and comment[:MAX_COMMENT]

    def _loyalty_nps_reference(self):
        """One feedback per order surveyed (whatever answers it has), else
        one per answer."""
        self.ensure_one()
        if self.loyalty_sale_order_id:
            return f"survey:sale.order:{self.loyalty_sale_order_id.id}"
        if self.loyalty_pos_order_id:
            return f"survey:pos.order:{self.loyalty_pos_order_id.id}"
        return f"survey:{self.id}"

    def _loyalty_record_nps(self):
        """Record the answer as the member's feedback (channel ``survey``),
        which pays the program's feedback points once per reference. A
        problem here (an archived contact...) is logged: it never blocks
        the person finishing the survey."""
        self.ensure_one()
        if self.state != "done" or not self._loyalty_is_nps():
            return False
        score, comment = self._loyalty_nps_answer()
        if score is None:
            return False
        order = self.loyalty_sale_order_id or self.loyalty_pos_order_id
        partner = self.partner_id.sudo()
        if order.company_id:
            partner = partner.with_company(order.company_id)
        try:
            with self.env.cr.savepoint():
                return partner._loyalty_record_feedback(
                    score, comment, self._loyalty_nps_reference(), "survey"
                )
        except (AccessError, UserError, ValidationError) as error:
            _logger.warning(
                "Loyalty survey answer %s not recorded as feedback: %s", self.id, error
            )
            return False
