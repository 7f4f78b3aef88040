# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    def _loyalty_ledger_context(self):
        """Reward lines changed on a confirmed order move points: say so in
        the ledger."""
        order = self.order_id[:1]
        if not order or len(self.order_id) > 1:
            return self
        return self.with_context(
            loyalty_ledger_source="sale",
            loyalty_ledger_sale_order_id=order.id,
            loyalty_ledger_description=self.env._("Rewards changed on %s", order.name),
        )

    def write(self, vals):
        if "points_cost" in vals:
            self = self._loyalty_ledger_context()  # noqa: PLW0642
        return super().write(vals)

    def unlink(self):
        return super(SaleOrderLine, self._loyalty_ledger_context()).unlink()
