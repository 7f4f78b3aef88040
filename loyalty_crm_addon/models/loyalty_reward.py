# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import math
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Command
from odoo.tools import float_round


class LoyaltyReward(models.Model):
    _name = "loyalty.reward"
    # The engine caches a program's rewards (loyalty.engine.data.mixin).
    _inherit = ["loyalty.reward", "image.mixin", "loyalty.engine.data.mixin"]

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
        tier_ids = self._loyalty_tier_ids()
        return not tier_ids or card.sudo().loyalty_tier_id.id in tier_ids

    def _loyalty_tier_ids(self):
        """Ids of the tiers the reward is kept for (from the program's cached
        data for its active rewards costing points)."""
        self.ensure_one()
        if self.id and self.program_id.id:
            data = self.env["loyalty.program"]._loyalty_engine_data(self.program_id.id)
            for reward_id, _points, tier_ids in data["rewards"]:
                if reward_id == self.id:
                    return tier_ids
        return tuple(self.sudo().tier_ids.ids)

    # ------------------------------------------------------------------
    # Reward catalog: what members can claim, its limits and its figures
    # (the claims themselves are in loyalty_reward_claim.py)
    # ------------------------------------------------------------------
    reward_type = fields.Selection(
        selection_add=[
            ("credit", "Gift Card / eWallet Credit"),
            ("experience", "Experience"),
        ],
        ondelete={"credit": "set default", "experience": "set default"},
    )
    loyalty_credit_program_id = fields.Many2one(
        "loyalty.program",
        string="Credit Program",
        domain="[('program_type', 'in', ('gift_card', 'ewallet'))]",
        help="Gift card or eWallet program the credit is issued in.",
    )
    loyalty_credit_amount = fields.Float(
        string="Credit Amount", help="Value of the gift card or eWallet top-up."
    )
    loyalty_coupon_program_id = fields.Many2one(
        "loyalty.program",
        string="Coupon Program",
        readonly=True,
        copy=False,
        help="Technical: the coupon program issuing codes for this reward "
        "when it is claimed outside an order.",
    )
    loyalty_stock = fields.Integer(
        string="Stock", help="How many times it can be claimed in all; 0 = unlimited."
    )
    loyalty_limit_per_member = fields.Integer(
        string="Limit per Member",
        help="How many times one member can claim it; 0 = no limit.",
    )
    loyalty_limit_period_days = fields.Integer(
        string="Limit Period (days)",
        help="The limit per member counts the claims of the last days; "
        "0 = all claims ever.",
    )
    loyalty_date_from = fields.Date(string="Claimable From")
    loyalty_date_to = fields.Date(string="Claimable Until")
    loyalty_claim_ids = fields.One2many(
        "loyalty.reward.claim", "reward_id", string="Claims", readonly=True
    )
    loyalty_claim_count = fields.Integer(
        string="Times Claimed", compute="_compute_loyalty_claim_count"
    )
    loyalty_stock_left = fields.Integer(
        string="Left", compute="_compute_loyalty_claim_count"
    )
    loyalty_affordable_for = fields.Many2one(
        "res.partner",
        compute="_compute_loyalty_affordable_for",
        search="_search_loyalty_affordable_for",
        help="Technical: search rewards a member can claim now.",
    )

    _sql_constraints = [
        (
            "loyalty_limits_positive",
            "CHECK(loyalty_stock >= 0 AND loyalty_limit_per_member >= 0"
            " AND loyalty_limit_period_days >= 0)",
            "Stock and limits cannot be negative.",
        ),
    ]

    def _compute_description(self):
        res = super()._compute_description()
        for reward in self:
            if reward.reward_type == "credit" and not reward.description:
                reward.description = self.env._(
                    "%(amount)s credit", amount=reward.loyalty_credit_amount
                )
            elif reward.reward_type == "experience" and not reward.description:
                reward.description = self.env._("Experience")
        return res

    @api.depends("program_id", "description", "required_points", "point_name")
    @api.depends_context("loyalty_reward_cost")
    def _compute_display_name(self):
        """With ``loyalty_reward_cost`` in the context (the dialogs where
        staff pick a reward for a member), a membership reward's name says
        what it costs: "10% on your order (500 Points)"."""
        res = super()._compute_display_name()
        if not self.env.context.get("loyalty_reward_cost"):
            return res
        for reward in self:
            if reward.program_id.program_type != "loyalty":
                continue
            reward.display_name = self.env._(
                "%(reward)s (%(points)s %(unit)s)",
                reward=reward.description,
                points=self.env["loyalty.ledger.line"]._format_points(
                    reward.required_points
                ),
                unit=reward.point_name or self.env._("Points"),
            )
        return res

    def _compute_loyalty_claim_count(self):
        counts = dict(
            self.env["loyalty.reward.claim"]
            .sudo()
            ._read_group(
                [("reward_id", "in", self.ids), ("state", "!=", "cancelled")],
                ["reward_id"],
                ["__count"],
            )
        )
        for reward in self:
            reward.loyalty_claim_count = counts.get(reward._origin, 0)
            reward.loyalty_stock_left = (
                max(reward.loyalty_stock - reward.loyalty_claim_count, 0)
                if reward.loyalty_stock
                else 0
            )

    def _compute_loyalty_affordable_for(self):
        self.loyalty_affordable_for = False

    def _search_loyalty_affordable_for(self, operator, value):
        if operator in ("=", "in") and value:
            ids = value if isinstance(value, list | tuple) else [value]
            partners = self.env["res.partner"].browse(ids)
        elif operator == "ilike" and value:
            partners = self.env["res.partner"].search([("name", "ilike", value)])
        else:
            raise UserError(self.env._("Choose a member to see what they can afford."))
        cards = (
            self.env["loyalty.card"]
            .sudo()
            .search(
                [
                    ("partner_id", "in", partners.commercial_partner_id.ids),
                    ("program_type", "=", "loyalty"),
                ]
            )
        )
        reward_ids = []
        for card in cards:
            reward_ids += card.program_id.reward_ids.filtered(
                lambda r, c=card: (
                    r.required_points <= c.points and not r._loyalty_claim_error(c)
                )
            ).ids
        return [("id", "in", reward_ids)]

    def _loyalty_lock(self):
        """Row lock on rewards with a stock: the last unit goes to one claim.
        The row is written too, so that a concurrent claim waiting on it
        fails to serialize (and is retried) instead of counting the claims
        of its older snapshot."""
        limited = self.filtered("loyalty_stock")
        if limited:
            self.env.flush_all()
            self.env.cr.execute(
                "SELECT id FROM loyalty_reward WHERE id IN %s ORDER BY id FOR UPDATE",
                [tuple(limited.ids)],
            )
            self.env.cr.execute(
                "UPDATE loyalty_reward SET write_date = write_date WHERE id IN %s",
                [tuple(limited.ids)],
            )

    def _loyalty_claim_error(self, card, quantity=1):
        """Why ``card`` cannot claim ``quantity`` more of the reward now
        (tier, validity window, stock, limit per member), or ``False``.
        Points are checked by the channel that moves them."""
        self.ensure_one()
        reward = self.sudo()
        today = fields.Date.context_today(self)
        name = reward.description
        if not reward.active or not reward.program_id.active:
            return self.env._("%s is no longer offered.", name)
        if card.program_id != reward.program_id:
            return self.env._("%s is not a reward of this membership.", name)
        if not reward._loyalty_allowed_for(card):
            return self.env._(
                "%(reward)s is kept for members of %(tiers)s.",
                reward=name,
                tiers=", ".join(reward.tier_ids.mapped("name")),
            )
        if reward.loyalty_date_from and today < reward.loyalty_date_from:
            return self.env._(
                "%(reward)s can be claimed from %(date)s.",
                reward=name,
                date=reward.loyalty_date_from,
            )
        if reward.loyalty_date_to and today > reward.loyalty_date_to:
            return self.env._(
                "%(reward)s could be claimed until %(date)s.",
                reward=name,
                date=reward.loyalty_date_to,
            )
        Claim = self.env["loyalty.reward.claim"].sudo()
        domain = [("reward_id", "=", reward.id), ("state", "!=", "cancelled")]
        if (
            reward.loyalty_stock
            and Claim.search_count(domain) + quantity > reward.loyalty_stock
        ):
            return self.env._("%s is out of stock.", name)
        if reward.loyalty_limit_per_member:
            domain += [("card_id", "=", card.id)]
            if reward.loyalty_limit_period_days:
                since = fields.Datetime.now() - timedelta(
                    days=reward.loyalty_limit_period_days
                )
                domain += [("date", ">=", since)]
            if Claim.search_count(domain) + quantity > reward.loyalty_limit_per_member:
                if reward.loyalty_limit_period_days:
                    return self.env._(
                        "%(reward)s can be claimed %(limit)s time(s) per member "
                        "every %(days)s days.",
                        reward=name,
                        limit=reward.loyalty_limit_per_member,
                        days=reward.loyalty_limit_period_days,
                    )
                return self.env._(
                    "%(reward)s can be claimed %(limit)s time(s) per member.",
                    reward=name,
                    limit=reward.loyalty_limit_per_member,
                )
        return False

    def _loyalty_catalog_only(self):
        """Rewards fulfilled outside an order (credit, experience)."""
        return self.filtered(lambda r: r.reward_type in ("credit", "experience"))

    @api.model
    def _load_pos_data_domain(self, data):
        # The till applies discounts and products only; catalog-only rewards
        # and rewards outside their window are not offered there.
        today = fields.Date.context_today(self)
        return super()._load_pos_data_domain(data) + [
            ("reward_type", "not in", ("credit", "experience")),
            "|",
            ("loyalty_date_from", "=", False),
            ("loyalty_date_from", "<=", today),
            "|",
            ("loyalty_date_to", "=", False),
            ("loyalty_date_to", ">=", today),
        ]

    def _loyalty_coupon_program(self):
        """The coupon program of the reward (made on first use): its code,
        applied on a later order, gives the reward."""
        self.ensure_one()
        reward = self.sudo()
        if not reward.loyalty_coupon_program_id:
            values = reward.copy_data(
                {
                    "required_points": 1,
                    "tier_ids": [Command.clear()],
                    "loyalty_stock": 0,
                    "loyalty_limit_per_member": 0,
                    "loyalty_date_from": False,
                    "loyalty_date_to": False,
                }
            )[0]
            values.pop("program_id", None)
            reward.loyalty_coupon_program_id = (
                self.env["loyalty.program"]
                .sudo()
                .create(
                    {
                        "name": self.env._("Catalog: %s", reward.description),
                        "program_type": "coupons",
                        "trigger": "with_code",
                        "applies_on": "current",
                        "company_id": reward.company_id.id,
                        "currency_id": reward.currency_id.id,
                        "rule_ids": [Command.clear()],
                        "reward_ids": [Command.clear(), Command.create(values)],
                        "communication_plan_ids": [Command.clear()],
                    }
                )
            )
        return reward.loyalty_coupon_program_id

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
