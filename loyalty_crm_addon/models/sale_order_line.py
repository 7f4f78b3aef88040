# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    # Reward lines changed on a confirmed order move points: native code's
    # change of a membership card is captured (``sale.order._loyalty_capture``)
    # and posted as redemptions of the order, so that cancelling it or a
    # credit note reverses them too.

    @api.model
    def _loyalty_post_reward_changes(self, orders, capture):
        if not capture.deltas:
            return
        description = (
            self.env._("Rewards changed on %s", orders.name)
            if len(orders) == 1
            else self.env._("Rewards changed on confirmed orders")
        )
        orders.with_env(self.env)._loyalty_post_captured(capture, "redeem", description)

    @api.model_create_multi
    def create(self, vals_list):
        orders = self.env["sale.order"].browse(
            {vals["order_id"] for vals in vals_list if vals.get("order_id")}
        )
        if not any(order.state == "sale" for order in orders):
            # Native code moves card points for confirmed orders only.
            return super().create(vals_list)
        capture, orders = orders._loyalty_capture()
        lines = super(SaleOrderLine, self.with_env(orders.env)).create(vals_list)
        self._loyalty_post_reward_changes(orders, capture)
        return lines.with_env(self.env)

    def write(self, vals):
        if "points_cost" not in vals or not any(
            order.state == "sale" for order in self.order_id
        ):
            return super().write(vals)
        capture, orders = self.order_id._loyalty_capture()
        res = super(SaleOrderLine, self.with_env(orders.env)).write(vals)
        self._loyalty_post_reward_changes(orders, capture)
        return res

    def unlink(self):
        if not any(order.state == "sale" for order in self.order_id):
            return super().unlink()
        capture, orders = self.order_id._loyalty_capture()
        res = super(SaleOrderLine, self.with_env(orders.env)).unlink()
        self._loyalty_post_reward_changes(orders, capture)
        return res
