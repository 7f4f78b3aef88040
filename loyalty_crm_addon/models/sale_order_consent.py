# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

from .res_partner_privacy import CONSENT_VALUES


# Kept apart from sale_order.py: consent is the privacy capability's, not
# the ledger's.
class SaleOrder(models.Model):
    _inherit = "sale.order"  # pylint: disable=consider-merging-classes-inherited

    loyalty_consent = fields.Selection(
        CONSENT_VALUES,
        string="Loyalty Emails",
        copy=False,
        help="The customer's answer, asked at the sale, about loyalty emails "
        "and mailings; recorded on the customer (channel Sales) when the "
        "order is confirmed.",
    )

    def action_confirm(self):
        res = super().action_confirm()
        for consent in ("in", "out"):
            orders = self.filtered(lambda o, c=consent: o.loyalty_consent == c)
            if orders:
                orders.partner_id._loyalty_set_consent(consent, "sale")
        return res
