# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict
from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import float_is_zero, float_round

from ..engine.batch import run_batches

# Only the engine holds this object; RPC contexts are JSON and cannot carry it,
# so ledger lines cannot be forged or edited from outside (see queue_job).
ENGINE = object()


class LedgerOrigin:
    """Where a change of membership-card points comes from: the one context
    switch of the engine's callers (key ``loyalty_ledger_origin``).

    A Python object, so an RPC caller cannot forge it. ``ENGINE`` is the
    engine itself making a card follow its ledger (balance, tier); a
    ``LedgerOrigin`` carries the values of the ledger line that a native
    flow's change of ``points`` becomes (see ``loyalty.card.write``).
    """

    __slots__ = ("values",)

    def __init__(self, **values):
        self.values = values


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
    from odoo.tools.misc import formatLang

    whole = float_is_zero(points - round(points), precision_digits=PRECISION)
    return formatLang(env, points, digits=0 if whole else PRECISION)


# Programs of Odoo's own demo data (loyalty, sale_loyalty, pos_loyalty...):
# not the shop's members; their cards get no ledger and stay out of the
# loyalty reports and the consistency check.
NATIVE_DEMO_MODULES = ["loyalty", "sale_loyalty", "pos_loyalty", "website_sale_loyalty"]


class LoyaltyLedgerLine(models.Model):
    _name = "loyalty.ledger.line"
    _description = "Loyalty Points Ledger Line"
    _order = "date desc, id desc"
    _check_company_auto = True
    _rec_name = "description"

    card_id = fields.Many2one(
        "loyalty.card",
        required=True,
        index=True,
        ondelete="restrict",
        readonly=True,
    )
    program_id = fields.Many2one(
        "loyalty.program", required=True, index=True, ondelete="restrict", readonly=True
    )
    partner_id = fields.Many2one(
        "res.partner", index=True, ondelete="restrict", readonly=True
    )
    company_id = fields.Many2one("res.company", index=True, readonly=True)
    member_tier_id = fields.Many2one(
        related="card_id.loyalty_tier_id",
        string="Member Tier",
        store=True,
        index=True,
        help="The member's current tier, to analyse points by tier.",
    )
    date = fields.Datetime(
        required=True, index=True, default=fields.Datetime.now, readonly=True
    )
    entry_type = fields.Selection(
        [
            ("earn", "Earned"),
            ("redeem", "Redeemed"),
            ("expire", "Expired"),
            ("adjust", "Adjustment"),
            ("referral", "Referral"),
            ("bonus", "Bonus"),
            ("reversal", "Reversal"),
        ],
        string="Type",
        required=True,
        index=True,
        readonly=True,
    )
    points = fields.Float(required=True, readonly=True, digits=(16, PRECISION))
    points_residual = fields.Float(
        string="Points Left",
        readonly=True,
        digits=(16, PRECISION),
        help="For a lot of points: what is still unspent and unexpired.",
    )
    state = fields.Selection(
        [("pending", "Pending"), ("posted", "Posted")],
        required=True,
        default="posted",
        index=True,
        readonly=True,
    )
    release_date = fields.Date(
        readonly=True, help="Pending points become available on this date."
    )
    expiry_date = fields.Date(index=True, readonly=True)
    reversed_line_id = fields.Many2one(
        "loyalty.ledger.line",
        string="Reverses",
        index="btree_not_null",
        ondelete="restrict",
        readonly=True,
    )
    reversal_line_ids = fields.One2many(
        "loyalty.ledger.line", "reversed_line_id", string="Reversals", readonly=True
    )
    reference = fields.Char(index="btree_not_null", readonly=True)
    description = fields.Char(readonly=True)
    source = fields.Selection(
        [
            ("sale", "Sales Order"),
            ("pos", "Point of Sale"),
            ("invoice", "Credit Note"),
            ("api", "Redemption"),
            ("manual", "Manual"),
            ("import", "Import / Card Update"),
            ("referral", "Referral"),
            ("system", "Scheduled"),
            ("catalog", "Reward Catalog"),
        ],
        required=True,
        default="manual",
        readonly=True,
    )
    sale_order_id = fields.Many2one(
        "sale.order", index="btree_not_null", ondelete="restrict", readonly=True
    )
    pos_order_id = fields.Many2one(
        "pos.order", index="btree_not_null", ondelete="restrict", readonly=True
    )
    move_id = fields.Many2one(
        "account.move",
        string="Credit Note",
        index="btree_not_null",
        ondelete="restrict",
        readonly=True,
    )
    multiplier = fields.Float(
        default=1.0,
        readonly=True,
        digits=(16, 2),
        help="Tier earn multiplier applied to these points.",
    )
    tier_qualifying = fields.Boolean(
        readonly=True,
        help="Counts towards the member's tier: points earned (earn, bonus, "
        "referral) and their reversals.",
    )
    user_id = fields.Many2one(
        "res.users", default=lambda self: self.env.user, readonly=True
    )

    _sql_constraints = [
        (
            "pending_has_release_date",
            "CHECK(state = 'posted' OR release_date IS NOT NULL)",
            "Pending points need a release date.",
        ),
        (
            "points_not_zero",
            "CHECK(points <> 0)",
            "A ledger line moves points.",
        ),
    ]

    def init(self):
        # The same redemption reference twice deducts once (idempotent API).
        self.env.cr.execute(
            """
            CREATE UNIQUE INDEX IF NOT EXISTS loyalty_ledger_line_api_reference_uniq
            ON loyalty_ledger_line (card_id, reference)
            WHERE source = 'api' AND reference IS NOT NULL
            """
        )
        # A bonus (sign-up, birthday of a year) is given once per card.
        self.env.cr.execute(
            """
            CREATE UNIQUE INDEX IF NOT EXISTS loyalty_ledger_line_bonus_reference_uniq
            ON loyalty_ledger_line (card_id, reference)
            WHERE entry_type = 'bonus' AND reference IS NOT NULL
            """
        )
        # Points that qualify for tiers, read by every upgrade check.
        self.env.cr.execute(
            """
            CREATE INDEX IF NOT EXISTS loyalty_ledger_line_tier_idx
            ON loyalty_ledger_line (card_id, date) INCLUDE (points)
            WHERE tier_qualifying
            """
        )
        # Points waiting for release: few rows, read by the release cron.
        self.env.cr.execute(
            """
            CREATE INDEX IF NOT EXISTS loyalty_ledger_line_pending_idx
            ON loyalty_ledger_line (id) INCLUDE (release_date)
            WHERE state = 'pending'
            """
        )
        # Lots still open, the hot path of spending and expiry.
        self.env.cr.execute(
            """
            CREATE INDEX IF NOT EXISTS loyalty_ledger_line_open_lot_idx
            ON loyalty_ledger_line (card_id, expiry_date, id)
            WHERE points_residual > 0
            """
        )

    # ------------------------------------------------------------------
    # Immutability
    # ------------------------------------------------------------------
    def _is_engine(self):
        return self.env.context.get("loyalty_ledger_engine") is ENGINE

    @api.model_create_multi
    def create(self, vals_list):
        if not self._is_engine():
            raise UserError(
                self.env._(
                    "Ledger lines are written by the loyalty engine only. "
                    "Use a manual adjustment to correct a balance."
                )
            )
        return super().create(vals_list)

    def write(self, vals):
        touched = set(vals) - {"display_name"}
        if touched & PROTECTED_FIELDS or (
            touched & ENGINE_FIELDS and not self._is_engine()
        ):
            raise UserError(
                self.env._(
                    "Ledger lines cannot be changed. "
                    "Record a reversal or an adjustment instead."
                )
            )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(
            self.env._(
                "Ledger lines cannot be deleted. "
                "Record a reversal or an adjustment instead."
            )
        )

    def _engine(self):
        return self.sudo().with_context(loyalty_ledger_engine=ENGINE)

    # ------------------------------------------------------------------
    # Engine
    # ------------------------------------------------------------------
    @api.model
    def _prepare_line(self, card, entry_type, points, **values):
        """Values of a ledger line for ``card``; pending and expiry dates come
        from the card's program unless given."""
        program = card.program_id
        now = values.pop("date", False) or fields.Datetime.now()
        today = fields.Date.to_date(now)
        state = values.pop("state", "posted")
        vals = {
            "card_id": card.id,
            "program_id": program.id,
            "partner_id": card.partner_id.id,
            "company_id": card.company_id.id,
            "date": now,
            "entry_type": entry_type,
            "points": float_round(points, PRECISION),
            "state": state,
            "tier_qualifying": entry_type in QUALIFYING_TYPES,
        }
        if points > 0:
            vals["points_residual"] = vals["points"]
            validity = program.loyalty_points_validity_days
            if validity:
                vals["expiry_date"] = today + timedelta(days=validity)
        if state == "pending" and "release_date" not in values:
            vals["release_date"] = today + timedelta(days=program.loyalty_pending_days)
        vals.update(values)
        return vals

    @api.model
    def _prepare_order_lines(self, card, earned, spent, labels, **common):
        """Lines of what an order spent on rewards and earned on a card;
        ``labels`` are the (earn, redeem) descriptions."""
        vals_list = []
        if not float_is_zero(spent, precision_digits=PRECISION):
            vals_list.append(
                self._prepare_line(
                    card, "redeem", -spent, description=labels[1], **common
                )
            )
        if not float_is_zero(earned, precision_digits=PRECISION):
            vals_list.append(
                self._prepare_line(
                    card,
                    "earn",
                    earned,
                    state="pending"
                    if card.program_id.loyalty_pending_days
                    else "posted",
                    multiplier=card.loyalty_tier_multiplier or 1.0,
                    description=labels[0],
                    **common,
                )
            )
        return vals_list

    @api.model
    def _post(self, vals_list, locked=None):
        """Create ledger lines and move the cards by their posted points
        (under the cards' row lock, never below zero). ``locked``: cards the
        caller already locked in this transaction (``_loyalty_lock``) to
        check their balance first; they are not locked again."""
        vals_list, capped = self._cap_reversals(
            [
                v
                for v in vals_list
                if not float_is_zero(v["points"], precision_digits=PRECISION)
            ]
        )
        lines = self._engine().create(vals_list) if vals_list else self._engine()
        lines._consume_lots()
        moves = defaultdict(float)
        for line in lines.filtered(lambda ln: ln.state == "posted"):
            moves[line.card_id] += line.points
        lines.card_id._loyalty_add_points(moves, locked=capped | (locked or capped))
        active = lines.filtered(lambda ln: ln.entry_type in ("earn", "redeem"))
        active.partner_id._loyalty_touch_activity()
        lines._loyalty_after_post()
        return lines

    @api.model
    def _cap_reversals(self, vals_list):
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
        Card = self.env["loyalty.card"].sudo()
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
                    notes[card.partner_id.id] = self.env._(
                        "%(reference)s could not take back %(points)s points "
                        "already spent: a membership card never goes below zero.",
                        reference=vals.get("reference") or vals.get("description"),
                        points=missed,
                    )
                    vals = dict(vals, points=-float_round(taken, PRECISION))
                available[card_id] -= taken
                if float_is_zero(vals["points"], precision_digits=PRECISION):
                    continue
            kept.append(vals)
        if notes:
            self.env["res.partner"].sudo().browse(list(notes))._message_log_batch(
                bodies={pid: Markup("<p>%s</p>") % body for pid, body in notes.items()},
                message_type="notification",
            )
        return kept, cards

    def _loyalty_after_post(self):
        """Follow-ups of new lines, once per batch: tiers, member events."""
        earning = self.filtered(lambda ln: ln.tier_qualifying and ln.points > 0)
        if earning:
            earning.card_id._loyalty_apply_tiers(reason=self.env._("Points earned"))
        taken_back = self.filtered(
            lambda ln: ln.entry_type == "reversal" and ln.points < 0
        )
        if taken_back:
            taken_back.card_id._loyalty_revert_same_day_upgrades(
                reason=self.env._("points of the upgrade taken back")
            )
        self.env["loyalty.member.event"]._emit_from_ledger(self)

    def _consume_lots(self):
        """Spend lots of points, oldest expiry first, for negative lines.

        A reversal first takes back the lot it reverses; what that lot no
        longer holds comes from the oldest lots of the card.
        """
        negatives = self.filtered(lambda ln: ln.points < 0)
        if not negatives:
            return
        engine = self._engine()
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
            if not float_is_zero(
                value - lot.points_residual, precision_digits=PRECISION
            ):
                lot._engine().write({"points_residual": float_round(value, PRECISION)})

    def _prepare_reversal(self, ratio=1.0, **values):
        """Values reversing ``ratio`` of each line, never more than what is
        left of it after earlier reversals."""
        already = defaultdict(float)
        for reversal in self.reversal_line_ids:
            already[reversal.reversed_line_id] += reversal.points
        vals_list = []
        for line in self:
            left = line.points + already[line]
            amount = line.points * ratio
            amount = min(amount, left) if line.points > 0 else max(amount, left)
            if float_is_zero(amount, precision_digits=PRECISION):
                continue
            vals = self._prepare_line(
                line.card_id,
                "reversal",
                -amount,
                state=line.state,
                reversed_line_id=line.id,
                tier_qualifying=line.tier_qualifying,
                description=self.env._("Reversal: %s", line.description or ""),
                **values,
            )
            if line.state == "pending":
                vals["release_date"] = line.release_date
            vals_list.append(vals)
        return vals_list

    # ------------------------------------------------------------------
    # Scheduled actions (set-based, batched, resumable)
    # ------------------------------------------------------------------
    @api.model
    def _cron_release_pending(self, batch_size=50000):
        params = {
            "today": fields.Date.context_today(self),
            "limit": batch_size,
            "last": 0,
        }
        Event = self.env["loyalty.member.event"]
        Card = self.env["loyalty.card"]

        def follow_up(row):
            # Resume after the last line done; released points can reach a
            # milestone or unlock a reward.
            params["last"] = row[1]
            gains = dict(zip(Card.browse(row[2]), row[3], strict=True))
            Event._emit(Event._balance_event_vals(gains))

        return self._run_batches(
            """
                SET LOCAL work_mem = '64MB';
                WITH batch AS (
                    SELECT id FROM loyalty_ledger_line
                     WHERE state = 'pending' AND release_date <= %(today)s
                       AND id > %(last)s
                     ORDER BY id LIMIT %(limit)s
                       FOR UPDATE SKIP LOCKED
                ), released AS (
                    UPDATE loyalty_ledger_line l
                       SET state = 'posted', write_date = now() at time zone 'UTC'
                      FROM batch WHERE l.id = batch.id
                    RETURNING l.id, l.card_id, l.points
                ), per_card AS (
                    SELECT card_id, SUM(points) AS points, COUNT(*) AS n
                      FROM released GROUP BY card_id
                ), cards AS (
                    UPDATE loyalty_card c
                       SET points = ROUND((c.points + per_card.points)::numeric, 2)
                      FROM per_card WHERE c.id = per_card.card_id
                    RETURNING c.id, per_card.points, per_card.n
                )
                SELECT (SELECT COALESCE(SUM(n), 0) FROM cards),
                       (SELECT MAX(id) FROM released),
                       (SELECT array_agg(id ORDER BY id) FROM cards),
                       (SELECT array_agg(points ORDER BY id) FROM cards)
                """,
            params,
            on_batch=follow_up,
            total=self._count(
                "SELECT COUNT(*) FROM loyalty_ledger_line"
                " WHERE state = 'pending' AND release_date <= %(today)s",
                params,
            ),
        )

    @api.model
    def _cron_expire_points(self, batch_size=10000):
        """Expire what is left of lots past their date, ``batch_size`` cards
        at a time in card order: one ``expire`` line per card and run."""
        params = {
            "today": fields.Date.context_today(self),
            "limit": batch_size,
            "last": 0,
            "uid": self.env.uid,
            "description": self.env._("Points expired"),
        }
        return self._run_batches(
            """
                SET LOCAL work_mem = '64MB';
                WITH batch AS (
                    SELECT DISTINCT card_id
                      FROM loyalty_ledger_line
                     WHERE points_residual > 0 AND state = 'posted'
                       AND expiry_date < %(today)s AND card_id > %(last)s
                     ORDER BY card_id LIMIT %(limit)s
                ), lots AS (
                    SELECT l.id, l.card_id, l.points_residual
                      FROM loyalty_ledger_line l
                      JOIN batch ON batch.card_id = l.card_id
                     WHERE l.points_residual > 0 AND l.state = 'posted'
                       AND l.expiry_date < %(today)s
                       FOR UPDATE OF l
                ), spent AS (
                    UPDATE loyalty_ledger_line l SET points_residual = 0
                      FROM lots WHERE l.id = lots.id
                    RETURNING lots.card_id, lots.points_residual
                ), per_card AS (
                    SELECT card_id, SUM(points_residual) AS points, COUNT(*) AS n
                      FROM spent GROUP BY card_id
                ), cards AS (
                    UPDATE loyalty_card c
                       SET points = ROUND((c.points - per_card.points)::numeric, 2)
                      FROM per_card WHERE c.id = per_card.card_id
                    RETURNING c.id, c.partner_id, c.company_id, c.program_id,
                              per_card.points, per_card.n
                ), lines AS (
                    INSERT INTO loyalty_ledger_line (
                        card_id, program_id, partner_id, company_id, date,
                        entry_type, points, points_residual, state, source,
                        description, multiplier, user_id,
                        create_uid, create_date, write_uid, write_date)
                    SELECT id, program_id, partner_id, company_id,
                           now() at time zone 'UTC', 'expire',
                           -ROUND(points::numeric, 2), 0,
                           'posted', 'system', %(description)s, 1, %(uid)s,
                           %(uid)s, now() at time zone 'UTC',
                           %(uid)s, now() at time zone 'UTC'
                      FROM cards
                    RETURNING id
                )
                SELECT COALESCE(SUM(n), 0), MAX(id) FROM cards
                """,
            params,
            # Resume after the last card done, never rescanning earlier ones.
            on_batch=lambda row: params.update(last=row[1]),
            total=self._count(
                "SELECT COUNT(*) FROM loyalty_ledger_line"
                " WHERE points_residual > 0 AND state = 'posted'"
                " AND expiry_date < %(today)s",
                params,
            ),
        )

    def _run_batches(self, query, params, on_batch=None, total=0):
        """Run a batch statement (its first column says how many rows it
        handled) with the addon's batch runner; ``on_batch(row)`` follows
        each batch up."""

        def step():
            self.env.cr.execute(query, params)
            row = self.env.cr.fetchone()
            self.env.invalidate_all()
            if row[0] and on_batch:
                on_batch(row)
            return row[0]

        return run_batches(self.env, step, total)

    def _count(self, query, params):
        """How many items a cron run expects, for its progress."""
        self.env.flush_all()
        self.env.cr.execute(query, params)
        return self.env.cr.fetchone()[0]

    def _loyalty_portal_values(self):
        """The line as the customer portal shows it (the keys of Odoo's
        history lines)."""
        self.ensure_one()
        order = self.sale_order_id or self.pos_order_id
        description = self.description or ""
        if self.state == "pending":
            description = self.env._("%s (pending)", description)
        sign = "+" if self.points > 0 else "-"
        return {
            "order_id": order.id,
            "order_name": order.display_name or "",
            "order_portal_url": self.sale_order_id.get_portal_url()
            if self.sale_order_id
            else False,
            "description": description,
            "points": sign + self.card_id._format_points(abs(self.points)),
        }

    # ------------------------------------------------------------------
    # Consistency check
    # ------------------------------------------------------------------
    @api.model
    def _get_inconsistent_cards(self):
        """Membership cards whose balance differs from their posted lines or
        is below zero."""
        self.env.flush_all()
        self.env.cr.execute(
            """
            SELECT c.id
              FROM loyalty_card c
              JOIN loyalty_program p ON p.id = c.program_id
              LEFT JOIN (
                    SELECT card_id, SUM(points) AS points
                      FROM loyalty_ledger_line WHERE state = 'posted'
                     GROUP BY card_id
              ) l ON l.card_id = c.id
             WHERE p.program_type = 'loyalty'
               AND (ABS(c.points - COALESCE(l.points, 0)) > 0.005
                    OR c.points < -0.005)
               AND p.id NOT IN (
                    SELECT res_id FROM ir_model_data
                     WHERE model = 'loyalty.program' AND module = ANY(%s))
            """,
            [NATIVE_DEMO_MODULES],
        )
        return self.env["loyalty.card"].browse(r[0] for r in self.env.cr.fetchall())

    @api.model
    def action_check_consistency(self):
        if not self.env.user.has_group("loyalty_crm_addon.group_loyalty_manager"):
            raise AccessError(self.env._("Only loyalty managers check the ledger."))
        cards = self._get_inconsistent_cards().filtered_domain(
            [("company_id", "in", self.env.companies.ids + [False])]
        )
        if not cards:
            return {
                "type": "ir.actions.client",
                "tag": "display_notification",
                "params": {
                    "type": "success",
                    "message": self.env._(
                        "Every membership card matches its ledger and none is "
                        "below zero."
                    ),
                },
            }
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Cards not matching their ledger or below zero"),
            "res_model": "loyalty.card",
            "view_mode": "list,form",
            "domain": [("id", "in", cards.ids)],
        }
