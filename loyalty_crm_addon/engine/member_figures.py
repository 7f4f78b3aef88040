# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A member's figures as the contact shows them, read from the ledger in a
few grouped queries for many members at once."""

from odoo import fields

# "Expiring soon", the one definition (contact figures and filter, member
# events, till): posted points still open in lots that expire from today to
# the end of the program's expiry warning period (0: never). On ledger
# lines ``l`` of programs ``pr``.
EXPIRING_SOON_SQL = """
    l.points_residual > 0 AND l.state = 'posted'
    AND pr.loyalty_expiry_warning_days > 0
    AND l.expiry_date >= %(today)s
    AND l.expiry_date <= %(today)s::date + pr.loyalty_expiry_warning_days
"""


def card_figures(cards):
    """{card: (pending points, points expiring soon, next expiry date, ledger
    line count)} of membership cards."""
    Ledger = cards.env["loyalty.ledger.line"]
    today = fields.Date.context_today(Ledger)
    pending = dict(
        Ledger._read_group(
            [("card_id", "in", cards.ids), ("state", "=", "pending")],
            ["card_id"],
            ["points:sum"],
        )
    )
    Ledger.flush_model(
        ["card_id", "program_id", "points_residual", "state", "expiry_date"]
    )
    cards.env.cr.execute(
        f"""
        SELECT l.card_id, SUM(l.points_residual), MIN(l.expiry_date)
          FROM loyalty_ledger_line l
          JOIN loyalty_program pr ON pr.id = l.program_id
         WHERE l.card_id = ANY(%(cards)s) AND {EXPIRING_SOON_SQL}
         GROUP BY l.card_id
        """,  # noqa: S608 -- a constant of this module
        {"cards": cards.ids, "today": today},
    )
    expiring = {
        cards.browse(card_id): (points, first)
        for card_id, points, first in cards.env.cr.fetchall()
    }
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
