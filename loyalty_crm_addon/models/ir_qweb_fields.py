# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models
from odoo.tools import float_is_zero

from ..engine.ledger import PRECISION


class IrQwebFieldLoyaltyPoints(models.AbstractModel):
    """Points as people write them, in the reader's language: 1,250 or
    12.50, never 1,250.00 (``t-options="{'widget': 'loyalty_points'}"`` in
    emails, portal pages and reports)."""

    _name = "ir.qweb.field.loyalty_points"
    _description = "Qweb Field Loyalty Points"
    _inherit = "ir.qweb.field.float"

    @api.model
    def value_to_html(self, value, options):
        value = value or 0.0
        whole = float_is_zero(value - round(value), precision_digits=PRECISION)
        return super().value_to_html(
            value, dict(options, precision=0 if whole else PRECISION)
        )
