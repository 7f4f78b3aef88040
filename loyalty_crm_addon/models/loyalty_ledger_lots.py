# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict

from markupsafe import Markup

from odoo import api, fields, models
from odoo.tools import SQL, float_is_zero, float_round
from odoo.tools.misc import formatLang

from ..engine.ledger import PRECISION


class LoyaltyLedgerLots(models.AbstractModel):
    """The lots of points of the ledger, a part of ``loyalty.ledger.line``:
    positive lines are lots, spent oldest expiry first; reversals take back
    no more than a card holds (a card never goes below zero); the scheduled
    release of pending points and expiry of old lots (set-based, batched,
    resumable). ``loyalty.ledger.line._post`` calls it. Extend a method
    with ``_inherit = "loyalty.ledger.line"``."""

    _name = "loyalty.ledger.lots"
    _description = "Loyalty Ledger Lots"

    @api.model
    def _format_points(self, points):
        """Points as people write them, in the user's language: 150, 1,250,
        12.50 (no trailing ".0"); without the program's point name (that is
        ``loyalty.card._format_points``)."""
        whole = float_is_zero(points - round(points), precision_digits=PRECISION)
        return formatLang(self.env, points, digits=0 if whole else PRECISION)

    # ------------------------------------------------------------------
    # Posting: reversals capped, lots spent
    # ------------------------------------------------------------------
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
                        points=self._format_points(missed),
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

    def _consume_lots(self, riders=None):
        """Spend lots of points, oldest expiry first, for the negative lines
        of ``self`` (new lines).

        A reversal first takes back the lot it reverses; what that lot no
        longer holds comes from the oldest lots of the card. The other
        negative lines (redemptions, adjustments...) take from the oldest
        lots of their cards in one statement (``_consume_oldest_lots``).

        ``riders``: {name: SQL} statements of the posting that ride along
        in that same statement (one round trip), each a ``SELECT`` or a
        data-modifying statement ``RETURNING`` one id per row; returns
        {name: [ids]} (they run alone, in one statement, when no lot is
        taken that way).
        """
        negatives = self.filtered(lambda ln: ln.points < 0)
        targeted = negatives.filtered("reversed_line_id")
        if targeted:
            targeted._consume_lots_of_reversals()
        taking = defaultdict(float)
        for line in negatives - targeted:
            if line.state == "posted":
                taking[line.card_id.id] -= line.points
        riders = {name: sql for name, sql in (riders or {}).items() if sql}
        if taking:
            return self._consume_oldest_lots(taking, riders)
        return self._run_riders(None, riders)

    @api.model
    def _run_riders(self, ctes, riders, head=None):
        """One statement: the common table expressions ``ctes`` (SQL, or
        None), ``head`` (a ``SELECT 'lots', id`` of them, or None) and the
        ``riders`` ({name: SQL}); returns {name: [ids]}."""
        names = list(riders)
        parts = [ctes] if ctes is not None else []
        parts += [
            SQL("%s AS (%s)", SQL.identifier(f"rider_{index}"), riders[name])
            for index, name in enumerate(names)
        ]
        selects = [head] if head is not None else []
        selects += [
            SQL(
                "SELECT %s, rider.* FROM %s rider",
                name,
                SQL.identifier(f"rider_{index}"),
            )
            for index, name in enumerate(names)
        ]
        found = {name: [] for name in ["lots", *names]}
        if not selects:
            return found
        self.env.cr.execute(
            SQL(
                "WITH %s %s",
                SQL(", ").join(parts),
                SQL(" UNION ALL ").join(selects),
            )
        )
        for name, record_id in self.env.cr.fetchall():
            found[name].append(record_id)
        return found

    @api.model
    def _consume_oldest_lots(self, taking, riders=None):
        """Take ``taking`` ({card id: points}) from the cards' open posted
        lots, oldest expiry first, in one UPDATE (running sums per card);
        ``riders``: see ``_consume_lots``."""
        self.flush_model(["points_residual", "state", "card_id", "expiry_date"])
        found = self._run_riders(
            SQL(
                """
            take AS (
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
            ), spent AS (
                UPDATE loyalty_ledger_line l
                   SET points_residual =
                           ROUND(GREATEST(lots.running - lots.take, 0), 2),
                       write_uid = %(uid)s,
                       write_date = now() at time zone 'UTC'
                  FROM lots
                 WHERE l.id = lots.id AND lots.running - lots.residual < lots.take
                RETURNING l.id
            )""",
                cards=list(taking),
                points=[float_round(p, PRECISION) for p in taking.values()],
                uid=self.env.uid,
            ),
            riders or {},
            head=SQL("SELECT 'lots', spent.id FROM spent"),
        )
        spent = self.browse(found["lots"])
        spent.invalidate_recordset(["points_residual", "write_uid", "write_date"])
        spent.modified(["points_residual"])
        return found

    def _consume_lots_of_reversals(self):
        """Reversals (``self``) take back their own lot first, then from the
        oldest lots of the card."""
        engine = self._engine()
        open_lots = engine.search(
            [
                ("card_id", "in", self.card_id.ids),
                ("points_residual", ">", 0),
            ],
            order="expiry_date asc nulls last, id asc",
        )
        lots_by_card = defaultdict(list)
        for lot in open_lots:
            lots_by_card[lot.card_id.id].append(lot)
        residual = {lot: lot.points_residual for lot in open_lots}
        for line in self:
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

    # ------------------------------------------------------------------
    # Scheduled: release pending points, expire old lots (set-based SQL,
    # batched, resumable; the cron entries are ``_cron_release_pending``
    # and ``_cron_expire_points``)
    # ------------------------------------------------------------------
    @api.model
    def _release_pending(self, batch_size, max_batches=0):
        """Post the pending lines whose release date has come and move their
        cards, by batches of ``batch_size`` lines in id order."""
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

        return self.env["loyalty.batch"]._run_statement(
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
            total=self.env["loyalty.batch"]._count(
                "SELECT COUNT(*) FROM loyalty_ledger_line"
                " WHERE state = 'pending' AND release_date <= %(today)s",
                params,
            ),
            max_batches=max_batches,
        )

    @api.model
    def _expire_points(self, batch_size, max_batches=0):
        """Expire what is left of lots past their date, ``batch_size`` cards
        at a time in card order: one ``expire`` line per card and run."""
        params = {
            "today": fields.Date.context_today(self),
            "limit": batch_size,
            "last": 0,
            "uid": self.env.uid,
            "description": self.env._("Points expired"),
        }
        return self.env["loyalty.batch"]._run_statement(
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
            total=self.env["loyalty.batch"]._count(
                "SELECT COUNT(*) FROM loyalty_ledger_line"
                " WHERE points_residual > 0 AND state = 'posted'"
                " AND expiry_date < %(today)s",
                params,
            ),
            max_batches=max_batches,
        )
