# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models

from ..engine.ledger import LedgerOrigin


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    def _loyalty_ledger_context(self, orders=None):
        """Reward lines changed on a confirmed order move points: say so in
        the ledger, as redemptions of the order, so that cancelling it or a
        credit note reverses them too."""
        order = self.order_id if orders is None else orders
        if len(order) != 1:
            return self.with_context(
                loyalty_ledger_origin=LedgerOrigin(
                    entry_type="redeem",
                    source="sale",
                    description=self.env._("Rewards changed on confirmed orders"),
                )
            )
        return self.with_context(
            loyalty_ledger_origin=order._loyalty_origin(
                "redeem", self.env._("Rewards changed on %s", order.name)
            )
        )

    @api.model_create_multi
    def create(self, vals_list):
        orders = self.env["sale.order"].browse(
            {vals["order_id"] for vals in vals_list if vals.get("order_id")}
        )
        return super(SaleOrderLine, self._loyalty_ledger_context(orders)).create(
            vals_list
        )

    def write(self, vals):
        if "points_cost" in vals:
            self = self._loyalty_ledger_context()  # noqa: PLW0642
        return super().write(vals)

    def unlink(self):
        return super(SaleOrderLine, self._loyalty_ledger_context()).unlink()
