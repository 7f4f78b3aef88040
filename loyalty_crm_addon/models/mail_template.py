# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models


class MailTemplate(models.Model):
    """Consent gate of loyalty emails: a template rendered on a loyalty record
    (member events, ledger lines, cards, referrals, claims...) sends nothing
    to a member who opted out of loyalty communications, whatever rule or
    scheduled action sends it."""

    _inherit = "mail.template"

    def _loyalty_filter_consent(self, res_ids):
        """``res_ids`` without the records whose member opted out."""
        if not (self.model or "").startswith("loyalty.") or not res_ids:
            return res_ids
        records = self.env[self.model].sudo().browse(res_ids)
        if "partner_id" not in records._fields:
            return res_ids
        allowed = records.partner_id._loyalty_can_contact()
        return [
            record.id
            for record in records
            if not record.partner_id or record.partner_id in allowed
        ]

    def send_mail(
        self,
        res_id,
        force_send=False,
        raise_exception=False,
        email_values=None,
        email_layout_xmlid=False,
    ):
        self.ensure_one()
        if not self._loyalty_filter_consent([res_id]):
            return False
        return super().send_mail(
            res_id,
            force_send=force_send,
            raise_exception=raise_exception,
            email_values=email_values,
            email_layout_xmlid=email_layout_xmlid,
        )

    def send_mail_batch(
        self,
        res_ids,
        force_send=False,
        raise_exception=False,
        email_values=None,
        email_layout_xmlid=False,
    ):
        self.ensure_one()
        return super().send_mail_batch(
            self._loyalty_filter_consent(res_ids),
            force_send=force_send,
            raise_exception=raise_exception,
            email_values=email_values,
            email_layout_xmlid=email_layout_xmlid,
        )
