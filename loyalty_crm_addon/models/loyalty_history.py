# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict

from odoo import api, models
from odoo.exceptions import UserError
from odoo.osv import expression

from ..engine.ledger import NATIVE_HISTORY, OTHER_CARDS


class LoyaltyHistory(models.Model):
    """Odoo's history lines. A membership card's history is its ledger
    (docs/architecture.md, "One history"): the card form, the sales order, the till and
    the portal show the ledger, never these lines. Odoo's own flows still
    write them for every card, for Odoo and the modules that read them;
    nobody else writes one on a membership card."""

    _inherit = "loyalty.history"

    def _loyalty_membership_cards(self, card_ids):
        cards = self.env["loyalty.card"].sudo().browse(card_ids)
        return set(cards.filtered(lambda c: c.program_type == "loyalty").ids)

    def _loyalty_refuse(self):
        raise UserError(
            self.env._(
                "The history of a membership card is its points ledger: only "
                "Odoo's own flows write its history lines."
            )
        )

    @api.model_create_multi
    def create(self, vals_list):
        if self.env.context.get("loyalty_history") is not NATIVE_HISTORY and (
            self._loyalty_membership_cards(
                {vals["card_id"] for vals in vals_list if vals.get("card_id")}
            )
        ):
            self._loyalty_refuse()
        return super().create(vals_list)

    def write(self, vals):
        if vals.get("card_id") and self._loyalty_membership_cards([vals["card_id"]]):
            self._loyalty_refuse()
        return super().write(vals)

    @api.model
    def _read_group(
        self,
        domain,
        groupby=(),
        aggregates=(),
        having=(),
        offset=0,
        limit=None,
        order=None,
    ):
        """Odoo's figures of the other cards (``sale.order`` loyalty
        summary): membership cards count their ledger lines instead."""
        if self.env.context.get("loyalty_history") is OTHER_CARDS:
            domain = expression.AND(
                [domain, [("card_id.program_type", "!=", "loyalty")]]
            )
        return super()._read_group(
            domain, groupby, aggregates, having, offset, limit, order
        )

    @api.model
    def _loyalty_write_from_ledger(self, orders):
        """Odoo's history lines of the orders' membership cards, from their
        ledger lines (the server's figures, not the till's): points earned as
        issued, points redeemed as used; once per order and card."""
        History = self.sudo().with_context(loyalty_history=NATIVE_HISTORY)
        done = {
            (line.order_id, line.card_id.id)
            for line in History.search(
                [("order_model", "=", orders._name), ("order_id", "in", orders.ids)]
            )
        }
        vals_list = []
        for order in orders.sudo():
            per_card = defaultdict(lambda: [0.0, 0.0])
            for line in order.loyalty_ledger_line_ids:
                if line.entry_type == "earn":
                    per_card[line.card_id][0] += line.points
                elif line.entry_type == "redeem":
                    per_card[line.card_id][1] -= line.points
            for card, (issued, used) in per_card.items():
                if (order.id, card.id) not in done:
                    vals_list.append(
                        {
                            "card_id": card.id,
                            "order_model": orders._name,
                            "order_id": order.id,
                            "description": self.env._("Onsite %s", order.display_name),
                            "issued": issued,
                            "used": used,
                        }
                    )
        return History.create(vals_list)
