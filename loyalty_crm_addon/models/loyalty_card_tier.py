# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict
from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models

from ..engine.ledger import ENGINE


class LoyaltyCardTier(models.AbstractModel):
    """Tiers of membership cards, a part of ``loyalty.card``: the points
    that qualify for a tier, upgrades and downgrades, and same-day reverts.
    Extend a method with ``_inherit = "loyalty.card"``."""

    _name = "loyalty.card.tier"
    _description = "Loyalty Card Tiers"

    def _loyalty_qualifying_points(self):
        """{card: points earned within its program's tier window}"""
        Ledger = self.env["loyalty.ledger.line"].sudo()
        result = defaultdict(float)
        now = fields.Datetime.now()
        # Cards merged into these ones (contacts merged) count for them.
        merged = (
            self.sudo()
            .with_context(active_test=False)
            .search_fetch(
                [("loyalty_merged_into_id", "in", self.ids)], ["loyalty_merged_into_id"]
            )
        )
        holder = {card: card.loyalty_merged_into_id for card in merged}
        for program, cards in (self | merged).grouped("program_id").items():
            cutoff = now - timedelta(days=program.loyalty_tier_window_days)
            for card, points in Ledger._read_group(
                [
                    ("card_id", "in", cards.ids),
                    ("tier_qualifying", "=", True),
                    ("date", ">=", cutoff),
                ],
                ["card_id"],
                ["points:sum"],
            ):
                result[holder.get(card, card)] += points
        return dict(result)

    def _loyalty_apply_tiers(self, allow_downgrade=False, reason=""):
        """Move cards to the tier their qualifying points reach. Upgrades
        apply at once; downgrades only when ``allow_downgrade`` (review)."""
        Program = self.env["loyalty.program"]
        cards = self.sudo().filtered(
            lambda c: Program._loyalty_engine_data(c.program_id.id)["has_tiers"]
        )
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

    def _loyalty_revert_same_day_upgrades(self, reason=""):
        """A cancelled order or a refund that takes a member back below the
        tier it gave them today reverts that upgrade at once: the card goes
        back to the tier its points reach, the upgrade's event is cancelled
        if its rules have not run yet, and the follow-up it opened is closed.
        No "moved down" event: nothing happened from the member's view."""
        today = fields.Date.context_today(self)
        cards = self.sudo().filtered(
            lambda c: c.loyalty_tier_id and c.loyalty_tier_since == today
        )
        if not cards:
            return []
        Event = self.env["loyalty.member.event"].sudo()
        upgrades = Event.search(
            [
                ("card_id", "in", cards.ids),
                ("event_type", "=", "tier_upgrade"),
                ("create_date", ">=", fields.Datetime.to_datetime(today)),
            ],
            order="id desc",
        )
        points = cards._loyalty_qualifying_points()
        reverted = []
        for card in cards:
            current = card.loyalty_tier_id
            upgrade = upgrades.filtered(
                lambda e, c=card, t=current: e.card_id == c and e.tier_id == t
            )[:1]
            target = card.program_id._loyalty_tier_for_points(points.get(card, 0.0))
            if not upgrade or (target.threshold if target else -1) >= current.threshold:
                continue
            reverted.append((card, current, target, upgrade))
        if not reverted:
            return []
        for card, _current, target, _upgrade in reverted:
            card.with_context(loyalty_ledger_origin=ENGINE).write(
                {
                    "loyalty_tier_id": target.id,
                    "loyalty_tier_since": today,
                    "loyalty_tier_review_date": False,
                }
            )
        events = Event.browse([u.id for _c, _cur, _t, u in reverted])
        events.filtered(lambda e: e.state == "pending").write({"state": "cancel"})
        self._loyalty_close_upgrade_followups(
            events.filtered(lambda e: e.state == "done")
        )
        bodies = {}
        for card, current, target, _upgrade in reverted:
            bodies[card.partner_id.id] = Markup("<p>%s</p>") % self.env._(
                "Loyalty tier: %(old)s → %(new)s (upgrade reverted: %(reason)s)",
                old=current.name,
                new=target.name or self.env._("none"),
                reason=reason,
            )
        self.env["res.partner"].sudo().browse(list(bodies))._message_log_batch(
            bodies=bodies, message_type="notification"
        )
        return [(card, current, target) for card, current, target, _u in reverted]

    @api.model
    def _loyalty_close_upgrade_followups(self, upgrades):
        """Close the follow-up activities the upgrade events opened on their
        members (whatever the rule's activity type and title)."""
        if not upgrades:
            return
        to_close = (
            self.env["mail.activity"]
            .sudo()
            .search([("loyalty_member_event_id", "in", upgrades.ids)])
        )
        if to_close:
            to_close.action_feedback(
                feedback=self.env._(
                    "Upgrade reverted the same day: the order was cancelled "
                    "or refunded."
                )
            )

    @api.model
    def _loyalty_change_tiers(self, changes, reason):
        """Apply tier changes [(card, from, to)] in batch: the cards (the
        members' tier follows theirs), one chatter note and one member event
        each."""
        if not changes:
            return
        today = fields.Date.context_today(self)
        Card = (
            self.env["loyalty.card"].sudo().with_context(loyalty_ledger_origin=ENGINE)
        )
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
