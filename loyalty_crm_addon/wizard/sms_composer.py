# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models


class SmsComposer(models.TransientModel):
    """Consent gate of loyalty SMS sent in mass from any loyalty record
    (a rule, or staff's *Send SMS* on a list): the SMS of a member who did
    not opt in to loyalty SMS is cancelled (``sms_optout``), as SMS
    Marketing cancels those of opted-out contacts."""

    _inherit = "sms.composer"

    def _get_optout_record_ids(self, records, recipients_info):
        res = super()._get_optout_record_ids(records, recipients_info)
        if not records._name.startswith("loyalty.") or (
            "partner_id" not in records._fields
        ):
            return res
        allowed = records.sudo().partner_id._loyalty_can_sms()
        return list(
            set(res) | {r.id for r in records.sudo() if r.partner_id not in allowed}
        )
