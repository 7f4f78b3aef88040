# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import ast

from odoo import fields, models
from odoo.tools import float_round

from ..engine.ledger import PRECISION


class PosOrder(models.Model):
    """Earn campaigns (``loyalty.campaign``) at the till: the server's
    computation of what a paid order earns (``_loyalty_till_points``, before
    the tier multiplier) multiplies the points of the matching lines."""

    _inherit = "pos.order"  # pylint: disable=consider-merging-classes-inherited

    def _loyalty_till_points(self, program):
        points = super()._loyalty_till_points(program)
        if not points:
            return points
        Campaign = self.env["loyalty.campaign"]
        day = fields.Date.context_today(self, self.date_order or fields.Datetime.now())
        campaigns = Campaign._loyalty_running(program.id, "pos", day)
        if campaigns and Campaign._loyalty_needs_tier(campaigns):
            card = self.partner_id._loyalty_program_card(program)
            campaigns = Campaign._loyalty_running(
                program.id, "pos", day, tier_id=card.loyalty_tier_id.id
            )
        if not campaigns:
            return points
        extra = self._loyalty_campaign_extra(program, campaigns)
        return max(0.0, float_round(points + extra, PRECISION))

    def _loyalty_campaign_extra(self, program, campaigns):
        """Points ``campaigns`` add: each rule the order meets (as
        ``_loyalty_till_points`` counts it) gives its points on the matching
        lines (multiplier - 1) more times; points per order are multiplied
        by the campaigns on every product only."""
        self.ensure_one()
        Campaign = self.env["loyalty.campaign"]
        lines = self.lines.filtered(lambda ln: not ln.combo_parent_id)
        products = lines.product_id | lines.reward_id.reward_product_ids
        rules = self.env["loyalty.program"]._loyalty_engine_data(program.id)["rules"]
        factor = {p: Campaign._loyalty_factor(campaigns, p) for p in lines.product_id}
        extra = 0.0
        for rule in rules:
            if rule["mode"] == "with_code":
                continue
            domain = ast.literal_eval(rule["domain"])
            valid = products.filtered_domain(domain) if domain else products
            threshold_lines, counted, qty = self._loyalty_rule_lines(
                program, lines, valid
            )
            amount = sum(
                ln.price_subtotal_incl
                if rule["minimum_amount_tax_mode"] == "incl"
                else ln.price_subtotal
                for ln in threshold_lines
            )
            if rule["minimum_amount"] and self._loyalty_rule_minimum(rule) > amount:
                continue
            if qty < rule["minimum_qty"]:
                continue
            if rule["reward_point_mode"] == "order":
                extra += rule["reward_point_amount"] * (
                    Campaign._loyalty_factor(campaigns) - 1.0
                )
            elif rule["reward_point_mode"] == "money":
                extra += rule["reward_point_amount"] * sum(
                    ln.price_subtotal_incl * (factor[ln.product_id] - 1.0)
                    for ln in counted
                )
            elif rule["reward_point_mode"] == "unit":
                for ln in counted:
                    if not ln.is_reward_line:
                        weight = ln.qty
                    elif ln.reward_id.program_id == program:
                        weight = -abs(ln.qty)
                    else:
                        continue
                    extra += (
                        rule["reward_point_amount"]
                        * weight
                        * (factor[ln.product_id] - 1.0)
                    )
        return extra
