# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models
from odoo.tools import float_round


class SaleOrder(models.Model):
    """Earn campaigns (``loyalty.campaign``) on sales orders: the points the
    matching lines earn are multiplied by the campaign's multiplier, on top
    of the tier multiplier, wherever Odoo computes the order's points
    (quotation and confirmation)."""

    _inherit = "sale.order"  # pylint: disable=consider-merging-classes-inherited

    def _program_check_compute_points(self, programs):
        result = super()._program_check_compute_points(programs)
        Campaign = self.env["loyalty.campaign"]
        today = fields.Date.context_today(self)
        for program in programs:
            status = result.get(program) or {}
            if program.program_type != "loyalty" or not status.get("points"):
                continue
            campaigns = Campaign._loyalty_running(program.id, "sale", today)
            if not campaigns:
                continue
            card = self._loyalty_card_for(program)
            if Campaign._loyalty_needs_tier(campaigns):
                campaigns = Campaign._loyalty_running(
                    program.id, "sale", today, tier_id=card.loyalty_tier_id.id
                )
            extra = self._loyalty_campaign_extra(program, campaigns)
            if not extra:
                continue
            extra *= card.loyalty_tier_multiplier or 1.0
            points = status["points"]
            points[0] = max(
                0.0,
                float_round(
                    points[0] + extra, precision_digits=2, rounding_method="DOWN"
                ),
            )
        return result

    def _loyalty_campaign_extra(self, program, campaigns):
        """Points the running ``campaigns`` add to what the order earns in
        ``program`` (before the tier multiplier): each earning rule the
        order meets, as sale_loyalty counts it, gives its points on the
        matching lines once more times (multiplier - 1). Points per order
        are multiplied by the campaigns on every product only."""
        self.ensure_one()
        Campaign = self.env["loyalty.campaign"]
        lines = (self.order_line - self._get_no_effect_on_threshold_lines()).filtered(
            lambda ln: not ln.combo_item_id
        )
        not_rewarded = self._get_not_rewarded_order_lines().filtered(
            lambda ln: not ln.combo_item_id
        )
        products_per_rule = program._get_valid_products(lines.product_id)
        factor = {p: Campaign._loyalty_factor(campaigns, p) for p in lines.product_id}
        extra = 0.0
        for rule in program.rule_ids:
            if rule.mode == "with_code" and rule not in self.code_enabled_rule_ids:
                continue
            if not rule.reward_point_amount:
                continue
            products = products_per_rule.get(rule)
            if not products:
                continue
            threshold = lines.filtered(
                lambda ln, p=products: (
                    ln.product_id in p
                    and not (
                        ln.reward_id.reward_type == "discount"
                        and (
                            ln.reward_id.program_id.trigger == "auto"
                            or ln.reward_id.program_id == program
                        )
                    )
                )
            )
            amount = sum(threshold.mapped("price_subtotal"))
            if rule.minimum_amount_tax_mode == "incl":
                amount += sum(threshold.mapped("price_tax"))
            if rule._compute_amount(self.currency_id) > amount:
                continue
            rule_lines = not_rewarded.filtered(
                lambda ln, p=products: ln.product_id in p
            )
            if sum(rule_lines.mapped("product_uom_qty")) < rule.minimum_qty:
                continue
            if rule.reward_point_mode == "order":
                extra += rule.reward_point_amount * (
                    Campaign._loyalty_factor(campaigns) - 1.0
                )
            elif rule.reward_point_mode == "unit":
                extra += sum(
                    rule.reward_point_amount
                    * line.product_uom_qty
                    * (factor[line.product_id] - 1.0)
                    for line in rule_lines
                )
            elif rule.reward_point_mode == "money":
                for line in lines:
                    if line.product_id not in products or (
                        line.reward_id.program_id.program_type
                        in ("ewallet", "gift_card", program.program_type)
                    ):
                        continue
                    extra += (
                        rule.reward_point_amount
                        * self._get_order_line_price(line, "price_total")
                        * (factor[line.product_id] - 1.0)
                    )
        return extra
