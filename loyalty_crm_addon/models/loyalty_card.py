# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict
from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_is_zero, float_round

from .loyalty_ledger_line import ENGINE, PRECISION, LedgerOrigin


class LoyaltyCard(models.Model):
    _inherit = "loyalty.card"

    ledger_line_ids = fields.One2many(
        "loyalty.ledger.line", "card_id", string="Ledger", readonly=True
    )
    loyalty_tier_id = fields.Many2one(
        "loyalty.tier", string="Tier", readonly=True, index="btree_not_null", copy=False
    )
    loyalty_tier_since = fields.Date(string="Tier Since", readonly=True, copy=False)
    loyalty_tier_review_date = fields.Date(
        readonly=True,
        copy=False,
        help="First tier review that found the member below their tier; the "
        "downgrade waits for the program's grace period from that day.",
    )
    loyalty_tier_multiplier = fields.Float(
        related="loyalty_tier_id.earn_multiplier", string="Earn Multiplier"
    )
    loyalty_tier_key = fields.Char(
        compute="_compute_loyalty_tier_key",
        help="Technical: the tier as the point of sale compares it with rewards.",
    )

    @api.depends("loyalty_tier_id")
    def _compute_loyalty_tier_key(self):
        for card in self:
            card.loyalty_tier_key = str(card.loyalty_tier_id.id or "")

    def _send_points_reach_communication(self, points_changes):
        """Milestone emails of membership cards come from member events,
        after the transaction and on the ledger's balance (README, "One
        history"); Odoo's "When Reaching" plans serve the other cards."""
        return super(
            LoyaltyCard, self.filtered(lambda c: c.program_type != "loyalty")
        )._send_points_reach_communication(points_changes)

    def _load_pos_data_fields(self, config_id):
        return super()._load_pos_data_fields(config_id) + [
            "loyalty_tier_multiplier",
            "loyalty_tier_key",
        ]

    # ------------------------------------------------------------------
    # Tiers
    # ------------------------------------------------------------------
    def _loyalty_qualifying_points(self):
        """{card: points earned within its program's tier window}"""
        Ledger = self.env["loyalty.ledger.line"].sudo()
        result = {}
        now = fields.Datetime.now()
        for program, cards in self.grouped("program_id").items():
            cutoff = now - timedelta(days=program.loyalty_tier_window_days)
            result.update(
                Ledger._read_group(
                    [
                        ("card_id", "in", cards.ids),
                        ("tier_qualifying", "=", True),
                        ("date", ">=", cutoff),
                    ],
                    ["card_id"],
                    ["points:sum"],
                )
            )
        return result

    def _loyalty_apply_tiers(self, allow_downgrade=False, reason=""):
        """Move cards to the tier their qualifying points reach. Upgrades
        apply at once; downgrades only when ``allow_downgrade`` (review)."""
        cards = self.sudo().filtered(lambda c: c.program_id.loyalty_tier_ids)
        if not cards:
            return []
        points = cards._loyalty_qualifying_points()
        changes = []
        for card in cards:
            target = card.program_id._loyalty_tier_for_points(points.get(card, 0.0))
            current = card.loyalty_tier_id
            if target == current:
                continue
            upgrade = (target.threshold if target else -1) > (
                current.threshold if current else -1
            )
            if upgrade or allow_downgrade:
                changes.append((card, current, target))
        self._loyalty_change_tiers(changes, reason)
        return changes

    @api.model
    def _loyalty_change_tiers(self, changes, reason):
        """Apply tier changes [(card, from, to)] in batch: the cards (the
        members' tier follows theirs), one chatter note and one member event
        each."""
        if not changes:
            return
        today = fields.Date.context_today(self)
        Card = self.env["loyalty.card"].sudo().with_context(loyalty_ledger_sync=ENGINE)
        by_tier = defaultdict(list)
        for card, _old, new in changes:
            by_tier[new].append(card.id)
        for new, card_ids in by_tier.items():
            Card.browse(card_ids).write(
                {
                    "loyalty_tier_id": new.id,
                    "loyalty_tier_since": today,
                    "loyalty_tier_review_date": False,
                }
            )
        bodies, events = {}, []
        for card, old, new in changes:
            partner = card.partner_id
            upgrade = (new.threshold if new else -1) > (old.threshold if old else -1)
            event_type = "tier_upgrade" if upgrade else "tier_downgrade"
            message = self.env._(
                "Loyalty tier: %(old)s → %(new)s (%(reason)s)",
                old=old.name or self.env._("none"),
                new=new.name or self.env._("none"),
                reason=reason,
            )
            bodies[partner.id] = message
            events.append(
                {
                    "partner_id": partner.id,
                    "card_id": card.id,
                    "program_id": card.program_id.id,
                    "company_id": card.company_id.id,
                    "event_type": event_type,
                    "tier_id": new.id,
                    "previous_tier_id": old.id,
                    "description": message,
                    "key": f"{event_type}:{card.id}:{old.id}:{new.id}:{today}",
                }
            )
        self.env["res.partner"].sudo().browse(list(bodies))._message_log_batch(
            bodies={pid: Markup("<p>%s</p>") % body for pid, body in bodies.items()},
            message_type="notification",
        )
        self.env["loyalty.member.event"]._emit(events)

    def _loyalty_ledger_skip(self):
        ctx = self.env.context
        return (
            ctx.get("loyalty_ledger_defer") is ENGINE
            or ctx.get("loyalty_ledger_sync") is ENGINE
        )

    def _loyalty_add_points(self, deltas):
        """Move card balances by ``deltas`` ({card: points}) as the ledger
        says, without writing ledger lines again."""
        for card, delta in deltas.items():
            if not float_is_zero(delta, precision_digits=PRECISION):
                card.sudo().with_context(
                    loyalty_ledger_sync=ENGINE
                ).points = float_round(card.points + delta, PRECISION)

    def _loyalty_lock(self):
        """Row lock on the cards: money-like values move under it."""
        if self.ids:
            self.env.flush_all()
            self.env.cr.execute(
                "SELECT id FROM loyalty_card WHERE id IN %s ORDER BY id FOR UPDATE",
                [tuple(self.ids)],
            )
            self.invalidate_recordset(["points"])

    def _loyalty_origin(self):
        """Ledger values for a change of points made outside the engine's
        flows (card wizard, import, reward lines changed on a confirmed
        order): what the engine's caller said, else a plain adjustment."""
        values = {
            "entry_type": "adjust",
            "source": "import",
            "description": self.env._("Balance updated"),
        }
        origin = self.env.context.get("loyalty_ledger_origin")
        if isinstance(origin, LedgerOrigin):
            values.update(origin.values)
        return values

    def _loyalty_record_changes(self, deltas):
        origin = self._loyalty_origin()
        entry_type = origin.pop("entry_type")
        Ledger = self.env["loyalty.ledger.line"]
        vals_list = [
            Ledger._prepare_line(card, entry_type, delta, **origin)
            for card, delta in deltas.items()
        ]
        # The card already holds these points: record them, apply nothing.
        Ledger._post(vals_list, applied=deltas)

    @api.model_create_multi
    def create(self, vals_list):
        cards = super().create(vals_list)
        # New members, however their card was made, get a referral code.
        members = cards.filtered(lambda c: c.program_type == "loyalty").partner_id
        members.commercial_partner_id._loyalty_assign_referral_codes()
        if not self._loyalty_ledger_skip():
            deltas = {
                card: card.points
                for card in cards
                if card.program_type == "loyalty"
                and not float_is_zero(card.points, precision_digits=PRECISION)
            }
            if deltas:
                cards._loyalty_record_changes(deltas)
        return cards

    def write(self, vals):
        if "points" not in vals or self._loyalty_ledger_skip():
            return super().write(vals)
        members = self.filtered(lambda c: c.program_type == "loyalty")
        before = {card: card.points for card in members}
        res = super().write(vals)
        deltas = {
            card: card.points - before[card]
            for card in members
            if not float_is_zero(card.points - before[card], precision_digits=PRECISION)
        }
        if deltas:
            members._loyalty_record_changes(deltas)
        return res

    @api.ondelete(at_uninstall=False)
    def _unlink_except_ledger(self):
        if self.sudo().ledger_line_ids:
            raise UserError(
                self.env._(
                    "A membership card with a points history cannot be deleted; "
                    "archive it instead."
                )
            )
