# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The ledger's scheduled actions: release pending points, expire old lots.
Set-based (one SQL statement per batch), batched, resumable; the thin
entries are ``loyalty.ledger.line._cron_release_pending`` and
``_cron_expire_points``."""

from odoo import fields

from .batch import count, run_statement


def release_pending(Ledger, batch_size, max_batches=0):
    """Post the pending lines whose release date has come and move their
    cards, by batches of ``batch_size`` lines in id order."""
    params = {
        "today": fields.Date.context_today(Ledger),
        "limit": batch_size,
        "last": 0,
    }
    Event = Ledger.env["loyalty.member.event"]
    Card = Ledger.env["loyalty.card"]

    def follow_up(row):
        # Resume after the last line done; released points can reach a
        # milestone or unlock a reward.
        params["last"] = row[1]
        gains = dict(zip(Card.browse(row[2]), row[3], strict=True))
        Event._emit(Event._balance_event_vals(gains))

    return run_statement(
        Ledger.env,
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
        total=count(
            Ledger.env,
            "SELECT COUNT(*) FROM loyalty_ledger_line"
            " WHERE state = 'pending' AND release_date <= %(today)s",
            params,
        ),
        max_batches=max_batches,
    )


def expire_points(Ledger, batch_size, max_batches=0):
    """Expire what is left of lots past their date, ``batch_size`` cards
    at a time in card order: one ``expire`` line per card and run."""
    params = {
        "today": fields.Date.context_today(Ledger),
        "limit": batch_size,
        "last": 0,
        "uid": Ledger.env.uid,
        "description": Ledger.env._("Points expired"),
    }
    return run_statement(
        Ledger.env,
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
        total=count(
            Ledger.env,
            "SELECT COUNT(*) FROM loyalty_ledger_line"
            " WHERE points_residual > 0 AND state = 'posted'"
            " AND expiry_date < %(today)s",
            params,
        ),
        max_batches=max_batches,
    )
