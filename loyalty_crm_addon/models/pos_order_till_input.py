# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What a till sends, checked before anything is read or written, and the
points it reserves when it validates a payment (holds)."""

import math

from odoo import models
from odoo.exceptions import AccessError, MissingError, UserError
from odoo.tools import float_compare, float_round

from ..engine.ledger import PRECISION
from .pos_order import MAX_TILL_POINTS, MAX_TILL_TEXT


class PosOrder(models.Model):
    # pos.order is extended per capability, each in its own file.
    _inherit = "pos.order"  # pylint: disable=consider-merging-classes-inherited

    # ------------------------------------------------------------------
    # What a till sends: checked before anything is read or written
    # ------------------------------------------------------------------
    def _loyalty_till_number(self, value, what):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or abs(value) > MAX_TILL_POINTS
        ):
            raise UserError(self.env._("The till sent an invalid number for %s.", what))
        return float(value)

    def _loyalty_till_id(self, value, what):
        """A record id as a till sends it (an int, or a string in dict keys);
        negative ids name cards the till has not created yet."""
        if isinstance(value, str) and value.lstrip("-").isdigit() and len(value) < 12:
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or abs(value) > 2**31:
            raise UserError(self.env._("The till sent an invalid %s.", what))
        return value

    def _loyalty_till_records(self, model, ids, label):
        """Records of ``ids`` (positive ids), read at once; an unknown id
        is refused."""
        records = self.env[model].sudo().browse({i for i in ids if i > 0})
        try:
            records.mapped("company_id")
        except MissingError:
            missing = set(records.ids) - set(records.exists().ids)
            raise UserError(
                self.env._(
                    "Unknown %(what)s: %(ids)s.",
                    what=label,
                    ids=", ".join(str(i) for i in sorted(missing)),
                )
            ) from None
        return records

    def _loyalty_till_cards(self, card_ids):
        """Existing cards of ``card_ids`` (positive ids) that the user may
        use: an unknown id or another company's card is refused."""
        cards = self._loyalty_till_records(
            "loyalty.card", card_ids, self.env._("loyalty card")
        )
        foreign = cards.filtered(
            lambda c: c.company_id and c.company_id not in self.env.companies
        )
        if foreign:
            raise AccessError(
                self.env._("These loyalty cards belong to another company.")
            )
        return cards

    def _loyalty_till_point_changes(self, point_changes):
        if not isinstance(point_changes, dict):
            raise UserError(self.env._("The till sent invalid point changes."))
        return {
            self._loyalty_till_id(key, self.env._("card")): self._loyalty_till_number(
                value, self.env._("points")
            )
            for key, value in point_changes.items()
        }

    def _loyalty_till_coupon_data(self, coupon_data):
        """``coupon_data`` of confirm_coupon_programs, checked: {id: dict}."""
        if not isinstance(coupon_data, dict):
            raise UserError(self.env._("The till sent invalid loyalty data."))
        result = {}
        for key, vals in coupon_data.items():
            card_id = self._loyalty_till_id(key, self.env._("card"))
            if not isinstance(vals, dict):
                raise UserError(self.env._("The till sent invalid loyalty data."))
            vals = dict(vals)
            vals["program_id"] = self._loyalty_till_id(
                vals.get("program_id"), self.env._("program")
            )
            vals["points"] = self._loyalty_till_number(
                vals.get("points", 0.0), self.env._("points")
            )
            if vals.get("partner_id"):
                self._loyalty_till_id(vals["partner_id"], self.env._("customer"))
            codes = vals.get("line_codes", [])
            if not isinstance(codes, list) or not all(
                isinstance(code, str) and len(code) <= MAX_TILL_TEXT for code in codes
            ):
                raise UserError(self.env._("The till sent invalid reward codes."))
            for field in ("code", "barcode"):
                value = vals.get(field)
                if value and (not isinstance(value, str) or len(value) > MAX_TILL_TEXT):
                    raise UserError(self.env._("The till sent an invalid card code."))
            result[card_id] = vals
        self._loyalty_till_records(
            "loyalty.program",
            {vals["program_id"] for vals in result.values()},
            self.env._("loyalty program"),
        )
        self._loyalty_till_cards(result)
        return result

    def _loyalty_till_hold(self, loyalty_hold):
        """The reservation a till asks for: (order uuid, config, {card id:
        points}), or None when the till did not ask."""
        if loyalty_hold is None or loyalty_hold is False:
            return None
        if not isinstance(loyalty_hold, dict):
            raise UserError(self.env._("The till sent an invalid reservation."))
        uuid = loyalty_hold.get("uuid")
        if not isinstance(uuid, str) or not uuid or len(uuid) > MAX_TILL_TEXT:
            raise UserError(self.env._("The till sent an invalid order reference."))
        config_id = self._loyalty_till_id(
            loyalty_hold.get("config_id"), self.env._("point of sale")
        )
        config = self.env["pos.config"].browse(config_id)
        spends = self._loyalty_till_point_changes(loyalty_hold.get("spends") or {})
        if any(points < 0 for points in spends.values()):
            raise UserError(self.env._("The till sent invalid points to reserve."))
        if any(spends.values()):
            try:
                config.company_id  # noqa: B018 - read under the user's rules
            except MissingError:
                raise UserError(self.env._("Unknown point of sale.")) from None
        return uuid, config, spends

    # ------------------------------------------------------------------
    # Payment validation at the till: reserve the points it spends
    # ------------------------------------------------------------------
    def validate_coupon_programs(self, point_changes, new_codes, loyalty_hold=None):
        changes = self._loyalty_till_point_changes(point_changes)
        if not isinstance(new_codes, list) or not all(
            isinstance(code, str) and len(code) <= MAX_TILL_TEXT for code in new_codes
        ):
            raise UserError(self.env._("The till sent invalid card codes."))
        hold = self._loyalty_till_hold(loyalty_hold)
        to_hold = hold[2] if hold else {}
        # Unknown cards the till reports are native's to answer (it tells
        # the till to drop them); the cards to hold must exist.
        cards = (
            self.env["loyalty.card"]
            .sudo()
            .browse({k for k in changes if k > 0} | set(to_hold))
        )
        try:
            cards.mapped("company_id")
        except MissingError:
            cards = cards.exists()
            self._loyalty_till_cards(set(to_hold) - set(cards.ids))
        cards = self._loyalty_till_cards(cards.ids)
        members = cards.filtered(
            lambda c: c.id in changes and c.program_type == "loyalty"
        )
        if hold:
            if cards.filtered(
                lambda c: c.id in to_hold and c.program_type != "loyalty"
            ):
                raise UserError(
                    self.env._("Only membership points are reserved at the till.")
                )
            spends = {card: to_hold[card.id] for card in cards if card.id in to_hold}
        else:
            # An older till: what it nets out on a card may hide a spend.
            spends = {card: max(0.0, -changes[card.id]) for card in members}
        # What the card's balance must cover: all of the spend when the
        # order's own points are pending, else what they leave uncovered
        # (the server recomputes both when the order arrives).
        for card, spent in spends.items():
            if not card.program_id.loyalty_pending_days and card.id in changes:
                spends[card] = max(0.0, min(spent, -changes[card.id]))
        # Native code checks other coupons; membership cards are checked here
        # against the ledger's balance, without the points the order earns.
        result = super().validate_coupon_programs(
            {
                card_id: 0.0 if card_id in members.ids else points
                for card_id, points in changes.items()
            },
            new_codes,
        )
        if not result.get("successful"):
            return result
        return self._loyalty_reserve(spends, hold) or result

    def _loyalty_reserve(self, spends, hold):
        """Check ``spends`` ({card: points}) against what is available under
        the cards' locks and hold them for the till's order; a refusal as
        validate_coupon_programs returns it, or None."""
        cards = self.env["loyalty.card"].sudo().browse(c.id for c in spends)
        Hold = self.env["loyalty.points.hold"]
        _points, holds = Hold._lock_cards(cards, touch=True)
        uuid = hold and hold[0]
        own = holds.filtered(lambda h: uuid and h.order_uuid == uuid)
        held = Hold._held_by_others(holds, uuid)
        for card in cards:
            needed = float_round(spends[card], PRECISION)
            available = max(0.0, card.points - held.get(card, 0.0))
            if float_compare(needed, available, precision_digits=PRECISION) > 0:
                own.unlink()
                message = self.env._(
                    "%(member)s has %(available)s points available; this order "
                    "needs %(needed)s.",
                    member=card.partner_id.display_name,
                    available=self.env["loyalty.ledger.line"]._format_points(available),
                    needed=self.env["loyalty.ledger.line"]._format_points(needed),
                )
                if held.get(card):
                    message += " " + self.env._(
                        "%(held)s points are held by an order being paid at "
                        "another till.",
                        held=self.env["loyalty.ledger.line"]._format_points(held[card]),
                    )
                if card.program_id.loyalty_pending_days:
                    message += " " + self.env._(
                        "Points this order earns are pending: they cannot pay "
                        "for its rewards."
                    )
                return {
                    "successful": False,
                    "payload": {
                        "message": message,
                        "updated_points": {
                            c.id: max(0.0, c.points - held.get(c, 0.0)) for c in cards
                        },
                    },
                }
        if hold:
            own.unlink()
            Hold._create_holds(hold[0], spends, config=hold[1])
        return None
