# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models


class MailingList(models.Model):
    _inherit = "mailing.list"

    loyalty_consent_required = fields.Boolean(
        string="Loyalty List",
        help="Members who opted out of loyalty communications are never "
        "mailed through this list.",
    )

    @api.model
    def _loyalty_flag_lists(self):
        """The shipped loyalty lists respect the members' consent."""
        winback = self.env.ref(
            "loyalty_crm_addon.mailing_list_winback", raise_if_not_found=False
        )
        if winback:
            winback.loyalty_consent_required = True
