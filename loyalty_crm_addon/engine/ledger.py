# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The ledger's engine: the marks only the engine holds, the fields nobody
else writes, and the lots of points (spent oldest expiry first, taken back
without a card going below zero). ``loyalty.ledger.line._post`` calls it."""

from collections import defaultdict

from markupsafe import Markup

from odoo.tools import float_is_zero, float_round
from odoo.tools.misc import formatLang

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


def format_points(env, points):
    """Points as people write them, in the user's language: 150, 1,250,
    12.50 (no trailing ".0")."""
    whole = float_is_zero(points - round(points), precision_digits=PRECISION)
    return formatLang(env, points, digits=0 if whole else PRECISION)


# Programs of Odoo's own demo data (loyalty, sale_loyalty, pos_loyalty...):
# not the shop's members; their cards get no ledger and stay out of the
# loyalty reports and the consistency check.
NATIVE_DEMO_MODULES = ["loyalty", "sale_loyalty", "pos_loyalty", "website_sale_loyalty"]


def cap_reversals(Ledger, vals_list):
    """Reversals taking back earned points take no more than the card
    holds (with what the same batch gives back): a card never goes below
    zero. What was already spent stays with the member, noted on them.
    Returns the values to post and the cards it locked."""
    taking = {
        id(v)
        for v in vals_list
        if v["entry_type"] == "reversal"
        and v["points"] < 0
        and v.get("state", "posted") == "posted"
    }
    Card = Ledger.env["loyalty.card"].sudo()
    if not taking:
        return vals_list, Card
    cards = Card.browse({v["card_id"] for v in vals_list if id(v) in taking})
    cards._loyalty_lock()
    available = {card.id: card.points for card in cards}
    for vals in vals_list:
        if vals["card_id"] in available and vals["points"] > 0:
            if vals.get("state", "posted") == "posted":
                available[vals["card_id"]] += vals["points"]
    kept, notes = [], {}
    for vals in vals_list:
        if id(vals) in taking:
            card_id = vals["card_id"]
            taken = min(-vals["points"], max(available[card_id], 0.0))
            missed = float_round(-vals["points"] - taken, PRECISION)
            if not float_is_zero(missed, precision_digits=PRECISION):
                card = Card.browse(card_id)
                notes[card.partner_id.id] = Ledger.env._(
                    "%(reference)s could not take back %(points)s points "
                    "already spent: a membership card never goes below zero.",
                    reference=vals.get("reference") or vals.get("description"),
                    points=format_points(Ledger.env, missed),
                )
                vals = dict(vals, points=-float_round(taken, PRECISION))
            available[card_id] -= taken
            if float_is_zero(vals["points"], precision_digits=PRECISION):
                continue
        kept.append(vals)
    if notes:
        Ledger.env["res.partner"].sudo().browse(list(notes))._message_log_batch(
            bodies={pid: Markup("<p>%s</p>") % body for pid, body in notes.items()},
            message_type="notification",
        )
    return kept, cards


def consume_lots(lines):
    """Spend lots of points, oldest expiry first, for negative lines.

    A reversal first takes back the lot it reverses; what that lot no
    longer holds comes from the oldest lots of the card. The other negative
    lines (redemptions, adjustments...) take from the oldest lots of their
    cards in one statement (``consume_oldest_lots``).
    """
    negatives = lines.filtered(lambda ln: ln.points < 0)
    targeted = negatives.filtered("reversed_line_id")
    if targeted:
        _consume_lots_of_reversals(targeted)
    taking = defaultdict(float)
    for line in negatives - targeted:
        if line.state == "posted":
            taking[line.card_id.id] -= line.points
    if taking:
        consume_oldest_lots(lines, taking)


def consume_oldest_lots(Ledger, taking):
    """Take ``taking`` ({card id: points}) from the cards' open posted lots,
    oldest expiry first, in one UPDATE (running sums per card)."""
    Ledger.flush_model(["points_residual", "state", "card_id", "expiry_date"])
    Ledger.env.cr.execute(
        """
        WITH take AS (
            SELECT * FROM unnest(%(cards)s::int[], %(points)s::numeric[])
                AS t(card_id, points)
        ), lots AS (
            SELECT l.id, l.points_residual AS residual, t.points AS take,
                   SUM(l.points_residual) OVER (
                       PARTITION BY l.card_id
                       ORDER BY l.expiry_date ASC NULLS LAST, l.id ASC
                   ) AS running
              FROM loyalty_ledger_line l
              JOIN take t ON t.card_id = l.card_id
             WHERE l.points_residual > 0 AND l.state = 'posted'
        )
        UPDATE loyalty_ledger_line l
           SET points_residual = ROUND(GREATEST(lots.running - lots.take, 0), 2),
               write_uid = %(uid)s,
               write_date = now() at time zone 'UTC'
          FROM lots
         WHERE l.id = lots.id AND lots.running - lots.residual < lots.take
        RETURNING l.id
        """,
        {
            "cards": list(taking),
            "points": [float_round(p, PRECISION) for p in taking.values()],
            "uid": Ledger.env.uid,
        },
    )
    spent = Ledger.browse(row[0] for row in Ledger.env.cr.fetchall())
    spent.invalidate_recordset(["points_residual", "write_uid", "write_date"])
    spent.modified(["points_residual"])


def _consume_lots_of_reversals(negatives):
    """Reversals take back their own lot first, then from the oldest lots
    of the card."""
    engine = negatives._engine()
    open_lots = engine.search(
        [
            ("card_id", "in", negatives.card_id.ids),
            ("points_residual", ">", 0),
        ],
        order="expiry_date asc nulls last, id asc",
    )
    lots_by_card = defaultdict(list)
    for lot in open_lots:
        lots_by_card[lot.card_id.id].append(lot)
    residual = {lot: lot.points_residual for lot in open_lots}
    for line in negatives:
        to_take = -line.points
        target = line.reversed_line_id
        if target and target.points > 0:
            taken = min(to_take, residual.get(target, target.points_residual))
            residual[target] = residual.get(target, target.points_residual) - taken
            to_take -= taken
        if line.state != "posted":
            continue
        for lot in lots_by_card[line.card_id.id]:
            if to_take <= 0:
                break
            if lot.state != "posted" or residual[lot] <= 0:
                continue
            taken = min(to_take, residual[lot])
            residual[lot] -= taken
            to_take -= taken
    for lot, value in residual.items():
        if not float_is_zero(value - lot.points_residual, precision_digits=PRECISION):
            lot._engine().write({"points_residual": float_round(value, PRECISION)})
