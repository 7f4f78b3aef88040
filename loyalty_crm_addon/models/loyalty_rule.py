# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models
from odoo.exceptions import ValidationError

from ..engine.sales_only import SALES_ONLY_RULE_VALUES, sales_only_errors


class LoyaltyRule(models.Model):
    # The engine caches a program's rules: a change clears it.
    _name = "loyalty.rule"
    _inherit = ["loyalty.rule", "loyalty.engine.data.mixin"]

    @api.constrains(
        lambda self: [
            name
            for _addon, name, _value in SALES_ONLY_RULE_VALUES
            if name in self._fields
        ]
    )
    def _check_loyalty_sales_only_settings(self):
        """Rules of membership programs use no Sales-only criteria
        (engine/sales_only.py)."""
        errors = sales_only_errors(self.program_id)
        if errors:
            raise ValidationError(errors[0])
