# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A member's figures as the contact shows them, read from the ledger in a
few grouped queries for many members at once."""

from datetime import timedelta

from odoo import fields


def card_figures(cards):
    """{card: (pending points, points expiring soon, next expiry date, ledger
    line count)} of membership cards. "Expiring soon" is the program's expiry
    warning period."""
    Ledger = cards.env["loyalty.ledger.line"]
    today = fields.Date.context_today(Ledger)
    pending = dict(
        Ledger._read_group(
            [("card_id", "in", cards.ids), ("state", "=", "pending")],
            ["card_id"],
            ["points:sum"],
        )
    )
    expiring = {}
    for program, program_cards in cards.grouped("program_id").items():
        days = program.loyalty_expiry_warning_days
        if not days:
            continue
        for card, points, first in Ledger._read_group(
            [
                ("card_id", "in", program_cards.ids),
                ("state", "=", "posted"),
                ("points_residual", ">", 0),
                ("expiry_date", "!=", False),
                ("expiry_date", "<=", today + timedelta(days=days)),
            ],
            ["card_id"],
            ["points_residual:sum", "expiry_date:min"],
        ):
            expiring[card] = (points, first)
    counts = dict(
        Ledger._read_group([("card_id", "in", cards.ids)], ["card_id"], ["__count"])
    )
    return {
        card: (
            pending.get(card, 0.0),
            *expiring.get(card, (0.0, False)),
            counts.get(card, 0),
        )
        for card in cards
    }
