# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The ledger's model-free vocabulary: the marks only the engine holds, the
fields nobody else writes, the precision of points. The engine itself is
made of methods of ``loyalty.ledger.line`` (``_post``) and of its mixin
``loyalty.ledger.lots`` (models/loyalty_ledger_lots.py: lots spent oldest
expiry first, reversals capped, release and expiry)."""

from collections import defaultdict

# Only the engine holds this object; RPC contexts are JSON and cannot carry it,
# so ledger lines and the cards' balances cannot be forged or edited from
# outside (see queue_job). Context key ``loyalty_ledger_origin``.
ENGINE = object()

# Context values of ``loyalty_history`` (docs/architecture.md, "One history").
# NATIVE_HISTORY: an Odoo flow writes its ``loyalty.history`` lines (sale orders, card
# generation, the till's lines written from the ledger), membership cards
# included; nobody else writes them on a membership card. OTHER_CARDS: Odoo's
# figures read from its history lines leave membership cards out, whose
# figures are their ledger lines (``loyalty.history._read_group``).
NATIVE_HISTORY = object()
OTHER_CARDS = object()


class PointsCapture:
    """Changes of membership-card points that native code makes inside a
    core hook method the addon extends (``sale.order._add_points_for_coupon``,
    reward lines of a confirmed order): under the context key
    ``loyalty_ledger_origin``, ``loyalty.card.write`` records them here
    instead of writing, and the hook then posts them itself through the one
    posting method, ``loyalty.ledger.line._post``. A Python object, so an
    RPC caller cannot send one; without it a change of points is refused."""

    __slots__ = ("deltas",)

    def __init__(self):
        self.deltas = defaultdict(float)  # {card: points}

    def add(self, deltas):
        for card, delta in deltas.items():
            self.deltas[card] += delta


PROTECTED_FIELDS = {
    "card_id",
    "program_id",
    "partner_id",
    "company_id",
    "date",
    "entry_type",
    "points",
    "expiry_date",
    "release_date",
    "reversed_line_id",
    "reference",
    "source",
    "sale_order_id",
    "pos_order_id",
    "move_id",
    "multiplier",
    "tier_qualifying",
}
QUALIFYING_TYPES = ("earn", "bonus", "referral")
ENGINE_FIELDS = {"state", "points_residual"}
PRECISION = 2


# Programs of Odoo's own demo data (loyalty, sale_loyalty, pos_loyalty...):
# not the shop's members; their cards get no ledger and stay out of the
# loyalty reports and the consistency check.
NATIVE_DEMO_MODULES = ["loyalty", "sale_loyalty", "pos_loyalty", "website_sale_loyalty"]
