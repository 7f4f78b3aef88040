# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models

# Loyalty models whose records SMS templates and "Send SMS" actions may
# target (their member: ``partner_id``), though they are not mail threads.
LOYALTY_SMS_MODELS = ("loyalty.member.event",)


class IrModel(models.Model):
    _inherit = "ir.model"

    def _compute_is_mail_thread_sms(self):
        res = super()._compute_is_mail_thread_sms()
        for model in self.filtered(lambda m: m.model in LOYALTY_SMS_MODELS):
            model.is_mail_thread_sms = True
        return res

    def _search_is_mail_thread_sms(self, operator, value):
        domain = super()._search_is_mail_thread_sms(operator, value)
        ids = self.search([("model", "in", LOYALTY_SMS_MODELS)]).ids
        if domain and domain[0][1] == "in":
            return [("id", "in", list(set(domain[0][2]) | set(ids)))]
        return [("id", "not in", list(set(domain[0][2]) - set(ids)))]
