# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import math

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import float_round


class LoyaltyReward(models.Model):
    _inherit = "loyalty.reward"

    tier_ids = fields.Many2many(
        "loyalty.tier",
        string="Tiers",
        domain="[('program_id', '=', program_id)]",
        help="Only members of these tiers may claim the reward; empty = everyone.",
    )
    loyalty_tier_key = fields.Char(
        compute="_compute_loyalty_tier_key",
        help="Technical: the allowed tiers as the point of sale reads them.",
    )

    @api.depends("tier_ids")
    def _compute_loyalty_tier_key(self):
        for reward in self:
            reward.loyalty_tier_key = ",".join(str(i) for i in reward.tier_ids.ids)

    @api.constrains("tier_ids", "program_id")
    def _check_tier_program(self):
        for reward in self:
            if reward.tier_ids.program_id - reward.program_id:
                raise ValidationError(
                    self.env._(
                        "A reward can only be kept for tiers of its own program."
                    )
                )

    def _load_pos_data_fields(self, config_id):
        return super()._load_pos_data_fields(config_id) + ["loyalty_tier_key"]

    def _loyalty_allowed_for(self, card):
        """Whether the card's tier may claim the reward."""
        self.ensure_one()
        return not self.tier_ids or card.sudo().loyalty_tier_id in self.tier_ids

    def _loyalty_till_cost(self, lines):
        """Points a till order's reward ``lines`` (one claim of this reward)
        really cost: the reward's price, whatever the till says; for
        per-point discounts, what the till claims but never less than the
        discount given is worth."""
        self.ensure_one()
        claimed = max(0.0, sum(lines.mapped("points_cost")))
        if self.reward_type == "product":
            free_qty = sum(abs(qty) for qty in lines.mapped("qty"))
            claims = max(1, math.ceil(free_qty / (self.reward_product_qty or 1) - 1e-9))
            cost = self.required_points * claims
        elif self.reward_type == "discount" and self.discount_mode == "per_point":
            given = -sum(lines.mapped("price_subtotal_incl"))
            worth = given / self.discount if self.discount else 0.0
            cost = max(claimed, float_round(worth, 2, rounding_method="UP"))
        else:
            cost = self.required_points
        if self.clear_wallet:
            cost = max(cost, claimed)
        return float_round(cost, 2)
