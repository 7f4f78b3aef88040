# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_is_zero, float_round

from .loyalty_ledger_line import PRECISION


class LoyaltyCard(models.Model):
    _inherit = "loyalty.card"

    ledger_line_ids = fields.One2many(
        "loyalty.ledger.line", "card_id", string="Ledger", readonly=True
    )
    is_membership_card = fields.Boolean(
        compute="_compute_is_membership_card",
        search="_search_is_membership_card",
    )

    @api.depends("program_id.program_type")
    def _compute_is_membership_card(self):
        for card in self:
            card.is_membership_card = card.program_id.program_type == "loyalty"

    def _search_is_membership_card(self, operator, value):
        positive = (operator == "=") == bool(value)
        return [("program_type", "=" if positive else "!=", "loyalty")]

    def _loyalty_ledger_skip(self):
        return self.env.context.get("loyalty_ledger_defer") or self.env.context.get(
            "loyalty_ledger_sync"
        )

    def _loyalty_add_points(self, deltas):
        """Move card balances by ``deltas`` ({card: points}) as the ledger
        says, without writing ledger lines again."""
        for card, delta in deltas.items():
            if not float_is_zero(delta, precision_digits=PRECISION):
                card.sudo().with_context(loyalty_ledger_sync=True).points = float_round(
                    card.points + delta, PRECISION
                )

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
        flows: the context tells where it comes from."""
        ctx = self.env.context
        return {
            "entry_type": ctx.get("loyalty_ledger_entry_type", "adjust"),
            "source": ctx.get("loyalty_ledger_source", "import"),
            "description": ctx.get("loyalty_ledger_description")
            or _("Balance updated"),
            "sale_order_id": ctx.get("loyalty_ledger_sale_order_id", False),
        }

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
        if not self._loyalty_ledger_skip():
            deltas = {
                card: card.points
                for card in cards
                if card.is_membership_card
                and not float_is_zero(card.points, precision_digits=PRECISION)
            }
            if deltas:
                cards._loyalty_record_changes(deltas)
        return cards

    def write(self, vals):
        if "points" not in vals or self._loyalty_ledger_skip():
            return super().write(vals)
        members = self.filtered("is_membership_card")
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
                _(
                    "A membership card with a points history cannot be deleted; "
                    "archive it instead."
                )
            )
