# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models
from odoo.tools import float_is_zero


class AccountMove(models.Model):
    _inherit = "account.move"

    loyalty_ledger_line_ids = fields.One2many(
        "loyalty.ledger.line", "move_id", string="Loyalty Ledger", readonly=True
    )

    def _post(self, soft=True):
        posted = super()._post(soft=soft)
        # A credit note reset to draft and posted again reverses nothing more.
        posted.filtered(
            lambda m: (
                m.move_type == "out_refund" and not m.sudo().loyalty_ledger_line_ids
            )
        )._loyalty_reverse_points()
        return posted

    def _loyalty_reverse_points(self):
        """A credit note takes back the points its sales orders earned and
        gives back what they spent, in proportion to what it refunds."""
        for move in self:
            lines = move.invoice_line_ids.filtered("sale_line_ids")
            for order, order_lines in lines.grouped(
                lambda ln: ln.sale_line_ids.order_id[:1]
            ).items():
                if not order.sudo().loyalty_ledger_line_ids or float_is_zero(
                    order.amount_untaxed, precision_digits=2
                ):
                    continue
                ratio = min(
                    1.0,
                    sum(order_lines.mapped("price_subtotal")) / order.amount_untaxed,
                )
                if ratio > 0:
                    order._loyalty_reverse_ratio(
                        ratio, move_id=move.id, reference=move.name
                    )
                if ratio >= 1.0:
                    self.env["loyalty.referral"]._loyalty_revert(
                        order, move_id=move.id, reference=move.name
                    )
