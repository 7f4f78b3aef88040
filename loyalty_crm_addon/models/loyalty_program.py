# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import ValidationError


class LoyaltyProgram(models.Model):
    _inherit = "loyalty.program"

    loyalty_tier_ids = fields.One2many(
        "loyalty.tier", "program_id", string="Tiers", copy=True
    )
    loyalty_tier_window_days = fields.Integer(
        string="Tier Window (days)",
        default=365,
        help="Points earned over this many days qualify a member for a tier.",
    )
    loyalty_points_validity_days = fields.Integer(
        string="Points Validity (days)",
        default=0,
        help="Points expire this many days after they were earned; 0 = never.",
    )
    loyalty_pending_days = fields.Integer(
        string="Pending Period (days)",
        default=0,
        help="Points earned by an order become available after this many days "
        "(e.g. the return period); 0 = at once.",
    )
    loyalty_inactivity_days = fields.Integer(
        string="Inactive After (days)",
        default=90,
        help="A member who neither earns nor redeems for this many days is inactive.",
    )
    loyalty_tier_grace_days = fields.Integer(
        string="Tier Grace Period (days)",
        default=0,
        help="A member who no longer qualifies keeps their tier this many days "
        "after the review that first found it; 0 = downgrade at that review.",
    )
    loyalty_referrer_points = fields.Float(string="Referrer Points")
    loyalty_referee_points = fields.Float(string="Referee Points")
    loyalty_responsible_id = fields.Many2one(
        "res.users",
        string="Responsible",
        help="Gets the follow-up activities of members without a salesperson.",
    )
    loyalty_ledger_line_count = fields.Integer(
        compute="_compute_loyalty_ledger_line_count"
    )

    _sql_constraints = [
        (
            "loyalty_days_positive",
            "CHECK(loyalty_tier_window_days > 0 AND loyalty_points_validity_days >= 0"
            " AND loyalty_pending_days >= 0 AND loyalty_inactivity_days > 0"
            " AND loyalty_tier_grace_days >= 0)",
            "Day counts of a loyalty program cannot be negative.",
        ),
    ]

    @api.constrains("loyalty_referrer_points", "loyalty_referee_points")
    def _check_loyalty_referral_points(self):
        for program in self:
            if (
                program.loyalty_referrer_points < 0
                or program.loyalty_referee_points < 0
            ):
                raise ValidationError(self.env._("Referral points cannot be negative."))

    @api.constrains("program_type", "loyalty_tier_ids")
    def _check_loyalty_tiers_membership(self):
        for program in self:
            if program.loyalty_tier_ids and program.program_type != "loyalty":
                raise ValidationError(
                    self.env._(
                        "Tiers belong to membership (loyalty card) programs only."
                    )
                )

    def _loyalty_tier_for_points(self, points):
        """The highest tier whose threshold ``points`` meet."""
        self.ensure_one()
        reached = self.loyalty_tier_ids.filtered(lambda t: t.threshold <= points)
        return reached.sorted("threshold")[-1:] if reached else reached

    def _compute_loyalty_ledger_line_count(self):
        data = dict(
            self.env["loyalty.ledger.line"]._read_group(
                [("program_id", "in", self.ids)], ["program_id"], ["__count"]
            )
        )
        for program in self:
            program.loyalty_ledger_line_count = data.get(program, 0)

    @api.model
    def _loyalty_demo_populate(self):
        """Entry point of the demo data (demo/loyalty_crm_demo.xml): members,
        orders and redemptions made through the real flows, by plain Python
        loaded only then."""
        from ..demo.loyalty_crm_demo import populate

        return populate(self.env)

    @api.model
    def _loyalty_demo_referrals(self):
        """Entry point of the demo referrals (demo/loyalty_referral_demo.xml)."""
        from ..demo.loyalty_referral_demo import populate_referrals

        return populate_referrals(self.env)

    def action_open_loyalty_ledger(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "loyalty_crm_addon.action_loyalty_ledger_line"
        )
        action["domain"] = [("program_id", "=", self.id)]
        action["context"] = {}
        return action

    # Member events (automation)
    loyalty_points_milestone = fields.Float(
        string="Points Milestone Every",
        default=1000,
        help="A member is congratulated each time the balance reaches a new "
        "multiple of this many points; 0 = never.",
    )
    loyalty_nth_order = fields.Integer(
        string="Milestone Order Every",
        default=10,
        help="Every Nth order earning points (sales and POS) is celebrated; 0 = never.",
    )
    loyalty_expiry_warning_days = fields.Integer(
        string="Warn of Expiry (days)",
        default=30,
        help="Members are told of points expiring within this many days; 0 = never.",
    )

    @api.constrains(
        "loyalty_points_milestone", "loyalty_nth_order", "loyalty_expiry_warning_days"
    )
    def _check_loyalty_event_settings(self):
        for program in self:
            if (
                min(
                    program.loyalty_points_milestone,
                    program.loyalty_nth_order,
                    program.loyalty_expiry_warning_days,
                )
                < 0
            ):
                raise ValidationError(
                    self.env._("Milestones and warning days cannot be negative.")
                )

    # Referrals
    loyalty_referral_monthly_cap = fields.Integer(
        string="Referral Cap per Month",
        default=0,
        help="A member earns referral points for at most this many new "
        "customers per month; 0 = no cap.",
    )
    loyalty_referral_min_amount = fields.Float(
        string="Referral Minimum Order",
        default=0.0,
        help="The referred customer's first order must reach this total for "
        "the referral to convert.",
    )

    @api.constrains("loyalty_referral_monthly_cap", "loyalty_referral_min_amount")
    def _check_loyalty_referral_settings(self):
        for program in self:
            if (
                program.loyalty_referral_monthly_cap < 0
                or program.loyalty_referral_min_amount < 0
            ):
                raise ValidationError(
                    self.env._("Referral cap and minimum cannot be negative.")
                )
