#!/usr/bin/env python3
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Set-based scheduled actions of the ledger on a large fixture.

Target: the expiry cron over 1,000,000 lots runs in at most 60 s on a 2-core
machine.

Scenarios (each in its own transaction, rolled back at the end):

* ``expire``: 100,000 membership cards (with their partners), 10 posted
  ``earn`` lots each (1,000,000), 60% of them past their expiry date, about a
  third partly spent (one ``redeem`` line per card records what was spent);
  card points = sum of the card's posted lines. Times
  ``loyalty.ledger.line._cron_expire_points()``, then a second run.
* ``release``: the same cards, 1,000,000 ``pending`` lots, 60% due for release
  (release_date in the past). Times ``_cron_release_pending()``, then a second
  run.

The fixture is written in SQL (``INSERT ... SELECT generate_series``): ledger
lines are immutable through the ORM, and the ORM would take far longer than
what is measured. Lots are inserted in date order across cards (all cards'
oldest lots first), as they accumulate in real life, so a card's lots are
spread over the id range. ``ANALYZE`` runs after the fixture.

By default the fixture is never committed, so the cron updates rows inserted
by its own transaction. PostgreSQL then fires every foreign-key check trigger
on UPDATE (keys unchanged or not: see RI_FKey_fk_upd_check_required), which
does not happen in production. ``--committed-fixture`` commits the fixture
and VACUUM ANALYZEs it first (the cron's own work is still rolled back, and
the fixture is deleted in SQL afterwards): use it for the realistic figure.

Usage::

    python benchmarks/bench_expiry.py [--db lca_bench_addon] [--cards 100000]
        [--lots-per-card 10] [--scenarios expire,release] [--explain]

Exit code 0 whatever the verdict.
"""

import os
import random
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import _cli  # noqa: E402
from bench_ledger import (  # noqa: E402
    ADDON,
    DEFAULT_ODOO,
    REPO,
    addons_path,
    ensure_db,
    snapshot_addon,
)

TARGET_S = 60.0
VALIDITY_DAYS = 365


class _Captured(Exception):
    pass


def patch_execute(cr, on_batch):
    """Call ``on_batch(query, params, run)`` for the cron's batch statements
    (``WITH ...`` on loyalty_ledger_line); ``run`` executes the query."""
    orig = cr.execute

    def execute(query, params=None, log_exceptions=True):
        text = str(query)
        if text.lstrip().upper().startswith("WITH") and "loyalty_ledger_line" in text:
            return on_batch(
                text, params, lambda q=text: orig(q, params, log_exceptions)
            )
        return orig(query, params, log_exceptions)

    cr.execute = execute
    return orig


def unpatch(cr):
    cr.__dict__.pop("execute", None)


def explain_first_batch(env, method):
    """EXPLAIN (ANALYZE, BUFFERS) of the cron's first batch, in a savepoint
    that is rolled back."""
    cr = env.cr
    plan = []

    def on_batch(text, params, run):
        orig("EXPLAIN (ANALYZE, BUFFERS) " + text, params)
        plan.extend(r[0] for r in cr.fetchall())
        raise _Captured()

    orig = patch_execute(cr, on_batch)
    try:
        with cr.savepoint():
            method()
    except _Captured:
        pass
    finally:
        unpatch(cr)
        env.invalidate_all()
    return "\n".join(plan)


def timed_cron(env, method):
    """Run ``method`` and time it; also time each batch statement."""
    import odoo

    cr = env.cr
    batches = []

    def on_batch(text, params, run):
        t0 = time.perf_counter()
        res = run()
        batches.append((time.perf_counter() - t0, cr.rowcount))
        return res

    patch_execute(cr, on_batch)
    env.flush_all()
    q0 = odoo.sql_db.sql_counter
    t0 = time.perf_counter()
    try:
        method()
        env.flush_all()
    finally:
        unpatch(cr)
    return time.perf_counter() - t0, odoo.sql_db.sql_counter - q0, batches


def has_column(cr, table, column):
    cr.execute(
        "SELECT 1 FROM information_schema.columns"
        " WHERE table_name = %s AND column_name = %s",
        [table, column],
    )
    return bool(cr.fetchone())


def build_fixture(env, scenario, n_cards, lots_per_card, expired_ratio):
    cr = env.cr
    uid = env.uid
    company = env.company
    program = env["loyalty.program"].create(
        {
            "name": f"Bench expiry {scenario}",
            "program_type": "loyalty",
            "trigger": "auto",
            "applies_on": "both",
            "loyalty_points_validity_days": VALIDITY_DAYS,
            "loyalty_pending_days": 30 if scenario == "release" else 0,
        }
    )
    env.flush_all()
    token = "%08x" % random.getrandbits(32)
    t0 = time.perf_counter()
    cr.execute(
        """
        INSERT INTO res_partner (name, complete_name, active, type, is_company,
                                 lang, autopost_bills, create_uid, create_date,
                                 write_uid, write_date)
        SELECT 'Bench expiry ' || i, 'Bench expiry ' || i, true, 'contact', false,
               'en_US', 'ask', %(uid)s, now() at time zone 'UTC',
               %(uid)s, now() at time zone 'UTC'
          FROM generate_series(1, %(n)s) i
        RETURNING id
        """,
        {"uid": uid, "n": n_cards},
    )
    partner_ids = [r[0] for r in cr.fetchall()]
    cr.execute(
        "UPDATE res_partner SET commercial_partner_id = id WHERE id = ANY(%s)",
        [partner_ids],
    )
    cr.execute(
        """
        INSERT INTO loyalty_card (program_id, company_id, partner_id, code, points,
                                  active, create_uid, create_date, write_uid,
                                  write_date)
        SELECT %(program)s, %(company)s, p, 'BX-' || %(token)s || '-' || p, 0, true,
               %(uid)s, now() at time zone 'UTC', %(uid)s, now() at time zone 'UTC'
          FROM unnest(%(partners)s::int[]) p
         ORDER BY p
        RETURNING id
        """,
        {
            "program": program.id,
            "company": company.id,
            "token": token,
            "uid": uid,
            "partners": partner_ids,
        },
    )
    card_ids = [r[0] for r in cr.fetchall()]
    n_due = round(lots_per_card * expired_ratio)
    extra_cols, extra_vals = "", ""
    if has_column(cr, "loyalty_ledger_line", "tier_qualifying"):
        extra_cols, extra_vals = ", tier_qualifying", ", true"
    if scenario == "expire":
        # lot j < n_due: expired 10..(10 * n_due) days ago; others expire later.
        state_sql = "'posted'"
        expiry_sql = """CASE WHEN j < %(n_due)s
                             THEN CURRENT_DATE - (10 * (%(n_due)s - j))
                             ELSE CURRENT_DATE + 30 * (j - %(n_due)s + 1) END"""
        residual_sql = """CASE WHEN (c.id + j) %% 3 = 0
                               THEN round(pts * 0.4, 2) ELSE pts END"""
        release_sql = "NULL::date"
    else:
        state_sql = "'pending'"
        expiry_sql = "CURRENT_DATE + %(validity)s"
        residual_sql = "pts"
        release_sql = """CASE WHEN j < %(n_due)s
                              THEN CURRENT_DATE - (%(n_due)s - j)
                              ELSE CURRENT_DATE + (j - %(n_due)s + 1) END"""
    cr.execute(
        f"""
        INSERT INTO loyalty_ledger_line (
            card_id, program_id, partner_id, company_id, date, entry_type,
            points, points_residual, state, source, description, multiplier,
            user_id, expiry_date, release_date, reference{extra_cols},
            create_uid, create_date, write_uid, write_date)
        SELECT c.id, c.program_id, c.partner_id, c.company_id,
               (e.expiry - %(validity)s)::timestamp, 'earn',
               e.pts, {residual_sql}, {state_sql}, 'sale', 'Bench lot', 1,
               %(uid)s, e.expiry, {release_sql}, NULL{extra_vals},
               %(uid)s, now() at time zone 'UTC', %(uid)s, now() at time zone 'UTC'
          FROM generate_series(0, %(lots)s - 1) j
         CROSS JOIN loyalty_card c
         CROSS JOIN LATERAL (
               SELECT (10 + (c.id + 7 * j) %% 41)::numeric AS pts,
                      ({expiry_sql})::date AS expiry) e
         WHERE c.id = ANY(%(cards)s)
         ORDER BY j, c.id
        """,
        {
            "validity": VALIDITY_DAYS,
            "uid": uid,
            "lots": lots_per_card,
            "n_due": n_due,
            "cards": card_ids,
        },
    )
    n_lots = cr.rowcount
    if scenario == "expire":
        # What was spent of the lots: one redeem line per card.
        cr.execute(
            """
            INSERT INTO loyalty_ledger_line (
                card_id, program_id, partner_id, company_id, date, entry_type,
                points, points_residual, state, source, description, multiplier,
                user_id, create_uid, create_date, write_uid, write_date)
            SELECT l.card_id, l.program_id, l.partner_id, l.company_id,
                   now() at time zone 'UTC' - interval '1 day', 'redeem',
                   -SUM(l.points - l.points_residual), 0, 'posted', 'api',
                   'Bench spending', 1, %(uid)s,
                   %(uid)s, now() at time zone 'UTC', %(uid)s, now() at time zone 'UTC'
              FROM loyalty_ledger_line l
             WHERE l.card_id = ANY(%(cards)s)
             GROUP BY l.card_id, l.program_id, l.partner_id, l.company_id
            HAVING SUM(l.points - l.points_residual) > 0
            """,
            {"uid": uid, "cards": card_ids},
        )
    cr.execute(
        """
        UPDATE loyalty_card c SET points = s.points
          FROM (SELECT card_id, SUM(points) AS points FROM loyalty_ledger_line
                 WHERE state = 'posted' AND card_id = ANY(%(cards)s)
                 GROUP BY card_id) s
         WHERE c.id = s.card_id
        """,
        {"cards": card_ids},
    )
    t_insert = time.perf_counter() - t0
    t0 = time.perf_counter()
    cr.execute("ANALYZE res_partner")
    cr.execute("ANALYZE loyalty_card")
    cr.execute("ANALYZE loyalty_ledger_line")
    t_analyze = time.perf_counter() - t0
    env.invalidate_all()
    return program.id, card_ids, n_lots, t_insert, t_analyze


def drop_fixture(cr, fixture):
    """Delete a committed fixture (SQL: the ORM forbids deleting ledger lines)."""
    program_id, card_ids = fixture[0], fixture[1]
    cr.execute("SELECT partner_id FROM loyalty_card WHERE id = ANY(%s)", [card_ids])
    partner_ids = [r[0] for r in cr.fetchall()]
    cr.execute("DELETE FROM loyalty_ledger_line WHERE program_id = %s", [program_id])
    cr.execute("DELETE FROM loyalty_member_event WHERE program_id = %s", [program_id])
    cr.execute("DELETE FROM loyalty_card WHERE program_id = %s", [program_id])
    cr.execute("DELETE FROM res_partner WHERE id = ANY(%s)", [partner_ids])
    cr.execute("DELETE FROM loyalty_program WHERE id = %s", [program_id])


def snapshot(cr, card_ids):
    cr.execute(
        """
        SELECT (SELECT COUNT(*) FROM loyalty_ledger_line WHERE card_id = ANY(%(c)s)),
               (SELECT ROUND(SUM(points)::numeric, 2) FROM loyalty_card
                 WHERE id = ANY(%(c)s)),
               (SELECT COUNT(*) FROM loyalty_ledger_line
                 WHERE card_id = ANY(%(c)s) AND state = 'pending'),
               (SELECT COALESCE(SUM(points_residual), 0) FROM loyalty_ledger_line
                 WHERE card_id = ANY(%(c)s) AND state = 'posted'
                   AND points_residual > 0)
        """,
        {"c": card_ids},
    )
    return cr.fetchone()


def check_invariant(cr, card_ids, sample):
    ids = random.sample(card_ids, min(sample, len(card_ids)))
    cr.execute(
        """
        SELECT COUNT(*) FROM loyalty_card c
          LEFT JOIN (SELECT card_id, SUM(points) AS points FROM loyalty_ledger_line
                      WHERE state = 'posted' AND card_id = ANY(%(c)s)
                      GROUP BY card_id) l
                 ON l.card_id = c.id
         WHERE c.id = ANY(%(c)s) AND ABS(c.points - COALESCE(l.points, 0)) > 0.005
        """,
        {"c": ids},
    )
    return len(ids), cr.fetchone()[0]


def run_scenario(env, args, scenario, fixture):
    cr = env.cr
    Ledger = env["loyalty.ledger.line"]
    program_id, card_ids, n_lots, t_insert, t_analyze = fixture
    cr.execute("SELECT COUNT(*) FROM loyalty_ledger_line")
    total_lines = cr.fetchone()[0]
    print(
        f"fixture: {n_lots} lots in {t_insert:.1f} s, ANALYZE {t_analyze:.1f} s, "
        f"table now {total_lines} lines",
        flush=True,
    )
    if scenario == "expire":
        method = Ledger._cron_expire_points
        cr.execute(
            """SELECT COUNT(*), COALESCE(SUM(points_residual), 0)
                 FROM loyalty_ledger_line
                WHERE card_id = ANY(%s) AND state = 'posted' AND points_residual > 0
                  AND expiry_date < CURRENT_DATE""",
            [card_ids],
        )
    else:
        method = Ledger._cron_release_pending
        cr.execute(
            """SELECT COUNT(*), COALESCE(SUM(points), 0) FROM loyalty_ledger_line
                WHERE card_id = ANY(%s) AND state = 'pending'
                  AND release_date <= CURRENT_DATE""",
            [card_ids],
        )
    due, due_points = cr.fetchone()
    print(f"due: {due} lines, {float(due_points):.2f} points", flush=True)
    if args.explain:
        plan = explain_first_batch(env, method)
        print("EXPLAIN (ANALYZE, BUFFERS) of the first batch:\n" + plan, flush=True)
    cr.execute("SELECT COALESCE(MAX(id), 0) FROM loyalty_ledger_line")
    max_id = cr.fetchone()[0]
    before = snapshot(cr, card_ids)

    seconds, queries, batches = timed_cron(env, method)
    after = snapshot(cr, card_ids)
    cr.execute(
        "SELECT entry_type, COUNT(*) FROM loyalty_ledger_line WHERE id > %s GROUP BY 1",
        [max_id],
    )
    written = dict(cr.fetchall())
    if scenario == "expire":
        cr.execute(
            """SELECT COUNT(*) FROM loyalty_ledger_line
                WHERE card_id = ANY(%s) AND state = 'posted' AND points_residual > 0
                  AND expiry_date < CURRENT_DATE""",
            [card_ids],
        )
        left = cr.fetchone()[0]
        done = due - left
        what = "lots expired"
    else:
        done = before[2] - after[2]
        what = "lines released"
    verdict = _cli.verdict(seconds <= TARGET_S)
    print(
        f"run 1: {seconds:.2f} s (target <= {TARGET_S:.0f} s: {verdict}), "
        f"{done} {what} "
        f"(expected {due}), lines written {written or {}}, {queries} queries, "
        f"{len(batches)} batch statements",
        flush=True,
    )
    print(
        "  batches (s, rows): " + ", ".join(f"{s:.2f}/{n}" for s, n in batches),
        flush=True,
    )
    print(
        f"  card points {float(before[1]):.2f} -> {float(after[1]):.2f} "
        f"(delta {float(after[1] - before[1]):+.2f}, "
        f"due {'-' if scenario == 'expire' else '+'}"
        f"{float(due_points):.2f})",
        flush=True,
    )
    n, bad = check_invariant(cr, card_ids, args.sample)
    print(
        f"  invariant card points == sum(posted lines): {n - bad}/{n} sampled cards OK "
        f"({_cli.verdict(not bad)})",
        flush=True,
    )
    t0 = time.perf_counter()
    inconsistent = Ledger._get_inconsistent_cards()
    print(
        f"  _get_inconsistent_cards() over all cards: {len(inconsistent)} in "
        f"{time.perf_counter() - t0:.2f} s",
        flush=True,
    )

    cr.execute("SELECT COALESCE(MAX(id), 0) FROM loyalty_ledger_line")
    max_id = cr.fetchone()[0]
    seconds2, queries2, batches2 = timed_cron(env, method)
    again = snapshot(cr, card_ids)
    cr.execute("SELECT COUNT(*) FROM loyalty_ledger_line WHERE id > %s", [max_id])
    new2 = cr.fetchone()[0]
    same = again == after and not new2
    print(
        f"run 2: {seconds2:.2f} s, {queries2} queries, "
        f"{len(batches2)} batch statements, "
        f"{new2} lines written, state unchanged: {_cli.verdict(same)}",
        flush=True,
    )
    return {
        "scenario": scenario,
        "seconds": seconds,
        "done": done,
        "written": written,
        "seconds2": seconds2,
        "invariant_bad": bad,
        "idempotent": same,
    }


def main():
    parser = _cli.parser(__doc__)
    parser.add_argument("--db", default="lca_bench_addon")
    parser.add_argument("--odoo-root", default=DEFAULT_ODOO)
    parser.add_argument("--cards", type=int, default=100_000)
    parser.add_argument("--lots-per-card", type=int, default=10)
    parser.add_argument(
        "--due-ratio",
        type=float,
        default=0.6,
        help="share of the lots past expiry / due for release",
    )
    parser.add_argument("--sample", type=int, default=1000)
    parser.add_argument("--scenarios", default="expire,release")
    parser.add_argument(
        "--explain",
        action="store_true",
        help="print EXPLAIN (ANALYZE, BUFFERS) of the first batch",
    )
    parser.add_argument("--no-update", action="store_true")
    parser.add_argument(
        "--no-snapshot",
        action="store_true",
        help="use the addon in place instead of a scratch copy",
    )
    parser.add_argument(
        "--committed-fixture",
        action="store_true",
        help="commit the fixture and VACUUM ANALYZE it before timing (closer "
        "to production: rows not written by the cron's own transaction); "
        "the cron's work is still rolled back and the fixture deleted after",
    )
    args = parser.parse_args()

    addons_dir = REPO
    if not args.no_snapshot:
        addons_dir, digest = snapshot_addon()
        print(f"# addon code snapshot {digest} in {addons_dir}", flush=True)
    ensure_db(
        args.db,
        args.template,
        args.odoo_root,
        with_addon=True,
        update=not args.no_update,
        addons_dir=addons_dir,
    )
    sys.path.insert(0, args.odoo_root)
    import odoo
    from odoo import SUPERUSER_ID, api
    from odoo.tools import config

    config.parse_config(
        [
            "-d",
            args.db,
            f"--addons-path={addons_path(args.odoo_root, addons_dir)}",
            "--log-level=warn",
        ]
    )
    registry = odoo.modules.registry.Registry(args.db)
    print(f"# {args.db}, {os.cpu_count()} CPUs, {ADDON}", flush=True)
    results = []
    for scenario in args.scenarios.split(","):
        print(
            f"\n=== scenario {scenario}: {args.cards} cards x {args.lots_per_card} lots"
            f"{' (committed fixture)' if args.committed_fixture else ''}",
            flush=True,
        )
        fixture = None
        cr = registry.cursor()
        try:
            env = api.Environment(cr, SUPERUSER_ID, {})
            fixture = build_fixture(
                env, scenario, args.cards, args.lots_per_card, args.due_ratio
            )
            if args.committed_fixture:
                cr.commit()
                cr.close()
                t0 = time.perf_counter()
                subprocess.run(
                    [
                        "psql",
                        "-d",
                        args.db,
                        "-qc",
                        "VACUUM ANALYZE loyalty_ledger_line, loyalty_card, res_partner",
                    ],
                    check=True,
                )
                print(
                    "(fixture committed, VACUUM ANALYZE "
                    f"{time.perf_counter() - t0:.1f} s)",
                    flush=True,
                )
                cr = registry.cursor()
                env = api.Environment(cr, SUPERUSER_ID, {})
            results.append(run_scenario(env, args, scenario, fixture))
        finally:
            t0 = time.perf_counter()
            cr.rollback()
            cr.close()
            print(f"(rolled back in {time.perf_counter() - t0:.1f} s)", flush=True)
            if args.committed_fixture and fixture:
                with registry.cursor() as cr:  # commits on exit
                    drop_fixture(cr, fixture)
                print("(committed fixture deleted)", flush=True)
    print("\n== summary")
    for res in results:
        print(
            f"{res['scenario']}: {res['seconds']:.2f} s for {res['done']} lines "
            f"({_cli.verdict(res['seconds'] <= TARGET_S)} "
            f"vs {TARGET_S:.0f} s), "
            f"written {res['written']}, second run {res['seconds2']:.2f} s, "
            f"invariant {'OK' if not res['invariant_bad'] else 'BROKEN'}, "
            f"idempotent {'yes' if res['idempotent'] else 'NO'}"
        )


if __name__ == "__main__":
    main()
