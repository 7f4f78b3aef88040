# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models
from odoo.exceptions import UserError


class SaleOrder(models.Model):
    """Reward catalog on quotations: the catalog's limits apply to the
    rewards core's reward wizard offers and applies, and a confirmed order
    records a claim per reward it spent points on."""

    _inherit = "sale.order"

    loyalty_claim_ids = fields.One2many(
        "loyalty.reward.claim", "sale_order_id", string="Reward Claims", readonly=True
    )

    def _loyalty_catalog_error(self, reward, coupon):
        if reward in reward._loyalty_catalog_only():
            return self.env._(
                "%s is claimed from the reward catalog, not on an order.",
                reward.description,
            )
        if coupon.program_type != "loyalty":
            return False
        taken = len(
            self.order_line.filtered(
                lambda ln: ln.reward_id == reward and ln.coupon_id == coupon
            ).mapped("reward_identifier_code")
        )
        return reward._loyalty_claim_error(coupon, quantity=taken + 1)

    def _get_claimable_rewards(self, forced_coupons=None):
        result = super()._get_claimable_rewards(forced_coupons=forced_coupons)
        for coupon, rewards in list(result.items()):
            allowed = rewards.filtered(
                lambda r, c=coupon: not self._loyalty_catalog_error(r, c)
            )
            if allowed:
                result[coupon] = allowed
            else:
                del result[coupon]
        return result

    def _apply_program_reward(self, reward, coupon, **kwargs):
        error = self._loyalty_catalog_error(reward, coupon)
        if error:
            return {"error": error}
        return super()._apply_program_reward(reward, coupon, **kwargs)

    def action_confirm(self):
        to_confirm = self.filtered(lambda o: o.state != "sale")
        Claim = self.env["loyalty.reward.claim"]
        for order in to_confirm:
            error = Claim._loyalty_order_errors(order.order_line)
            if error:
                raise UserError(error)
        res = super().action_confirm()
        for order in to_confirm.filtered(lambda o: o.state == "sale"):
            claims = Claim._loyalty_record_order_claims(
                order.order_line,
                "sale",
                sale_order_id=order.id,
                date=order.date_order,
            )
            Claim._loyalty_link_order_lines(
                claims, order.sudo().loyalty_ledger_line_ids
            )
        return res

    def _action_cancel(self):
        res = super()._action_cancel()
        self.env["loyalty.reward.claim"]._loyalty_cancel_for_orders(
            self.sudo().loyalty_claim_ids
        )
        return res
