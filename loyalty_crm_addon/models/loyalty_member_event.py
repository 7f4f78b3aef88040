# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

EVENT_TYPES = [
    ("tier_upgrade", "Tier Upgrade"),
    ("tier_downgrade", "Tier Downgrade"),
    ("points_reached", "Points Threshold Reached"),
    ("reward_unlocked", "Reward Unlocked"),
    ("first_redemption", "First Redemption"),
    ("nth_order", "Nth Order"),
    ("birthday", "Birthday"),
    ("points_expiring", "Points Expiring Soon"),
    ("inactive", "Inactive Member"),
    ("referral_converted", "Referral Converted"),
]


class LoyaltyMemberEvent(models.Model):
    """Something worth acting on happened to a member.

    The engine records each occurrence once (``key`` is unique); staff react
    to them with automation rules (base_automation, trigger on creation,
    filtered on ``event_type``), so a new kind of event is one more rule.
    """

    _name = "loyalty.member.event"
    _description = "Loyalty Member Event"
    _order = "date desc, id desc"

    partner_id = fields.Many2one(
        "res.partner", required=True, index=True, ondelete="cascade", readonly=True
    )
    card_id = fields.Many2one("loyalty.card", index=True, ondelete="set null", readonly=True)
    program_id = fields.Many2one("loyalty.program", index=True, ondelete="cascade", readonly=True)
    company_id = fields.Many2one("res.company", index=True, readonly=True)
    event_type = fields.Selection(EVENT_TYPES, required=True, index=True, readonly=True)
    date = fields.Datetime(required=True, default=fields.Datetime.now, readonly=True)
    tier_id = fields.Many2one("loyalty.tier", ondelete="set null", readonly=True)
    previous_tier_id = fields.Many2one("loyalty.tier", ondelete="set null", readonly=True)
    points = fields.Float(readonly=True)
    description = fields.Char(readonly=True)
    key = fields.Char(
        required=True,
        readonly=True,
        help="Identifies one occurrence of an event: the same key is never recorded twice.",
    )

    _sql_constraints = [
        ("key_unique", "UNIQUE(key)", "This event was already recorded."),
    ]

    @api.model
    def _emit(self, vals_list):
        """Record the events not recorded yet; returns the new ones."""
        keys = [vals["key"] for vals in vals_list]
        if not keys:
            return self.browse()
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT key FROM loyalty_member_event WHERE key = ANY(%s)", [keys]
        )
        known = {row[0] for row in self.env.cr.fetchall()}
        new_vals, seen = [], set()
        for vals in vals_list:
            if vals["key"] not in known and vals["key"] not in seen:
                seen.add(vals["key"])
                new_vals.append(vals)
        return self.sudo().create(new_vals) if new_vals else self.browse()

    @api.model
    def _emit_from_ledger(self, lines):
        """Events that new ledger lines give rise to (points reached, reward
        unlocked, first redemption, Nth order...)."""
        return self.browse()
