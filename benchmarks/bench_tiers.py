#!/usr/bin/env python3
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Tier review over a large membership, and the cost of the upgrade check.

Targets: ``ir_cron_loyalty_review_tiers`` over 1,000,000 members in at most
60 s on this 2-core machine, set-based; the upgrade check adds at most 3
queries to an order confirmation.

Fixture (SQL, ``INSERT ... SELECT generate_series``; rolled back at the end):
a membership program with Silver (500), Gold (2,000) and Platinum (5,000),
``--members`` partners with a card each and two qualifying ``earn`` lines per
card spread over the last 400 days; every card starts in the tier its points
met when they were earned, so the review finds the members whose points left
the 365-day window (downgrades) and applies them through the ORM (cards,
members, chatter notes, member events and their automation rules).
Members sit in the tier their window points give, as after yesterday's
review, except one in ``--stale-every`` (1,000) whose points have all left
the window since: the daily review's real work.

Usage::

    ./dev bench bench_tiers [--db lca_bench_addon] [--members 1000000]
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _cli  # noqa: E402

sys.path.insert(0, _cli.ODOO_SRC)

import odoo  # noqa: E402
from odoo import SUPERUSER_ID, api  # noqa: E402

TARGET_S = 60.0
TARGET_QUERIES = 3


def build_fixture(env, members, stale):
    cr = env.cr
    program = env["loyalty.program"].create(
        {"name": "Bench Tiers", "program_type": "loyalty", "active": True}
    )
    tiers = env["loyalty.tier"].create(
        [
            {
                "name": "Silver",
                "program_id": program.id,
                "sequence": 1,
                "threshold": 500,
            },
            {
                "name": "Gold",
                "program_id": program.id,
                "sequence": 2,
                "threshold": 2000,
            },
            {
                "name": "Platinum",
                "program_id": program.id,
                "sequence": 3,
                "threshold": 5000,
            },
        ]
    )
    env.flush_all()
    t0 = time.perf_counter()
    cr.execute(
        """
        CREATE TEMP TABLE bench_members (n int, pts int, age int, partner_id int,
                                         card_id int) ON COMMIT DROP;
        CREATE TEMP TABLE bench_ids (id int, n int) ON COMMIT DROP;
        INSERT INTO bench_members (n, pts, age)
        SELECT g, 1 + (hashtext(g::text) & 2147483647) %% 4000,
               (hashtext('d' || g) & 2147483647) %% 400
          FROM generate_series(1, %(n)s) g;
        WITH p AS (
            INSERT INTO res_partner (name, complete_name, active, autopost_bills,
                                     create_date, write_date)
            SELECT 'Bench member ' || n, 'Bench member ' || n, true, 'ask',
                   now(), now()
              FROM bench_members ORDER BY n
            RETURNING id
        )
        INSERT INTO bench_ids SELECT id, row_number() OVER (ORDER BY id) FROM p;
        UPDATE bench_members m SET partner_id = i.id FROM bench_ids i WHERE i.n = m.n;
        TRUNCATE bench_ids;
        WITH c AS (
            INSERT INTO loyalty_card (program_id, partner_id, code, points, active,
                                      loyalty_tier_id, create_date, write_date)
            SELECT %(program)s, partner_id, 'bench-tier-' || n, pts * 2, true,
                   NULL, now(), now()
              FROM bench_members ORDER BY n
            RETURNING id
        )
        INSERT INTO bench_ids SELECT id, row_number() OVER (ORDER BY id) FROM c;
        UPDATE bench_members m SET card_id = i.id FROM bench_ids i WHERE i.n = m.n;
        INSERT INTO loyalty_ledger_line (card_id, program_id, partner_id, date,
               entry_type, points, points_residual, state, source, tier_qualifying,
               multiplier, create_date, write_date)
        SELECT card_id, %(program)s, partner_id,
               now() - make_interval(days => age + k * 5), 'earn', pts, pts,
               'posted', 'sale', true, 1, now(), now()
          FROM bench_members CROSS JOIN generate_series(0, 1) k;
        -- Members sit in the tier of their points in the window, as after
        -- yesterday's review; one in %(stale)s has since dropped out of it.
        UPDATE loyalty_card c SET loyalty_tier_id = (
                SELECT t.id FROM loyalty_tier t
                 WHERE t.program_id = %(program)s
                   AND t.threshold <= m.pts * (CASE WHEN m.n %% %(stale)s = 0
                                                    THEN 2
                                                    ELSE (m.age < 365)::int
                                                         + (m.age + 5 < 365)::int
                                               END)
                 ORDER BY t.threshold DESC LIMIT 1)
          FROM bench_members m WHERE m.card_id = c.id;
        UPDATE loyalty_ledger_line l
           SET date = now() - interval '370 days'
          FROM bench_members m
         WHERE l.card_id = m.card_id AND m.n %% %(stale)s = 0;
        ANALYZE loyalty_card; ANALYZE loyalty_ledger_line; ANALYZE res_partner;
        """,
        {"program": program.id, "n": members, "stale": stale},
    )
    env.invalidate_all()
    print(
        f"fixture: {members:,} members, {2 * members:,} qualifying lines "
        f"in {time.perf_counter() - t0:.1f}s",
        flush=True,
    )
    return program, tiers


def upgrade_check_queries(env, program):
    """Queries of the upgrade check for one earning line, as an order
    confirmation runs it."""
    Ledger = env["loyalty.ledger.line"]
    card = env["loyalty.card"].search([("program_id", "=", program.id)], limit=1)
    line = Ledger._engine().create(
        [Ledger._prepare_line(card, "earn", 1, source="sale", description="x")]
    )
    env.flush_all()
    env.invalidate_all()
    card = line.card_id
    card.program_id.loyalty_tier_ids.mapped("threshold")  # cached per request
    before = odoo.sql_db.sql_counter
    card._loyalty_apply_tiers(reason="bench")
    env.flush_all()
    return odoo.sql_db.sql_counter - before


def main():
    parser = _cli.parser(__doc__)
    parser.add_argument(
        "--db",
        default="lca_bench_addon",
        help="a database with the addon (built from the template when missing)",
    )
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument(
        "--stale-every",
        type=int,
        default=1000,
        help="one member in N dropped below their tier since the last review",
    )
    parser.add_argument("--addons-path", default=None)
    args = parser.parse_args()
    _cli.ensure_db(args.db, args.template, _cli.ODOO_SRC, with_addon=True)
    registry = _cli.registry(
        args.db, *([f"--addons-path={args.addons_path}"] if args.addons_path else [])
    )
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        program, _tiers = build_fixture(env, args.members, args.stale_every)
        queries = upgrade_check_queries(env, program)
        Tier = env["loyalty.tier"]
        t0 = time.perf_counter()
        changed = Tier._cron_review_tiers()
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = Tier._cron_review_tiers()
        second = time.perf_counter() - t0
        cr.rollback()
    print(
        f"upgrade check: {queries} queries "
        f"({_cli.verdict(queries <= TARGET_QUERIES)} <= {TARGET_QUERIES})"
    )
    print(
        f"tier review over {args.members:,} members: {first:.1f}s, "
        f"{changed:,} tier changes ({_cli.verdict(first <= TARGET_S)} "
        f"<= {TARGET_S:.0f}s)"
    )
    print(
        f"second run: {second:.1f}s, {again} changes (idempotent: "
        f"{'yes' if again == 0 else 'NO'})"
    )


if __name__ == "__main__":
    main()
