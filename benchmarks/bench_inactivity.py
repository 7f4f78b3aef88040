#!/usr/bin/env python3
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Inactivity detection over a million members.

Creates ``--members`` members set-based (INSERT ... SELECT generate_series into
res_partner and loyalty_card), a share of them (``--inactive-share``) inactive
for longer than the program's ``loyalty_inactivity_days`` (the others active
within it), then runs the inactivity cron method
``loyalty.member.event._cron_detect_inactivity()`` twice: the first run
records the events; the second run must find nothing new. In between, the
processing cron (``_cron_process_events()``) runs the shipped automation rules
on them: the members go on the win-back list, their salesperson gets an
activity and, for top-tier members, an opportunity. Figures are printed; the
transaction is rolled back at the end (nothing is committed).

Target: a run over 1,000,000 members within 60 s.

Usage::

    ./dev bench bench_inactivity [DB] [--members 1000000] [--inactive-share 0.01]

``DB`` (default ``lca_bench_addon``) is built from the benchmark template
with the addon when missing. ``ODOO_SRC`` points to the
Odoo 18 tree (default ``~/odoo-18.0``).
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _cli  # noqa: E402

ODOO_SRC = _cli.ODOO_SRC
sys.path.insert(0, ODOO_SRC)


def main():
    parser = _cli.parser(__doc__)
    parser.add_argument(
        "db",
        nargs="?",
        default="lca_bench_addon",
        help="a database with the addon (built from the template when missing)",
    )
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument(
        "--inactive-share",
        type=float,
        default=0.01,
        help="share of members that crossed the inactivity period (a daily run "
        "sees those who crossed it since the day before)",
    )
    parser.add_argument(
        "--top-tier-share",
        type=float,
        default=0.1,
        help="share of inactive members in the top tier (they get an opportunity)",
    )
    args = parser.parse_args()
    from bench_ledger import _cpu_ns

    _cli.ensure_db(args.db, args.template, ODOO_SRC, with_addon=True)

    from odoo import SUPERUSER_ID, api

    registry = _cli.registry(args.db, "--log-level=warn")
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        try:
            run(env, args, _cpu_ns)
        finally:
            cr.rollback()
    print("# rolled back")


def run(env, args, cpu_ns):
    cr = env.cr
    cr.execute("SELECT pg_backend_pid()")
    backend = cr.fetchone()[0]

    def timed(method):
        """(result, wall s, Odoo CPU s, PostgreSQL CPU s) of ``method()``:
        CPU seconds stay honest on a loaded machine."""
        t0, odoo0, pg0 = time.perf_counter(), cpu_ns(os.getpid()), cpu_ns(backend)
        result = method()
        env.flush_all()
        return (
            result,
            time.perf_counter() - t0,
            (cpu_ns(os.getpid()) - odoo0) / 1e9,
            (cpu_ns(backend) - pg0) / 1e9,
        )

    program = env["loyalty.program"].create(
        {
            "name": "Bench Club",
            "program_type": "loyalty",
            "trigger": "auto",
            "applies_on": "both",
            "loyalty_inactivity_days": 90,
            "loyalty_tier_ids": [
                (0, 0, {"name": "Bench Silver", "threshold": 0}),
                (0, 0, {"name": "Bench Gold", "threshold": 1000}),
            ],
        }
    )
    gold = program.loyalty_tier_ids.sorted("threshold")[-1]
    env.company.loyalty_membership_program_id = program
    env.flush_all()
    n = args.members
    every = max(int(round(1 / args.inactive_share)), 1) if args.inactive_share else 0
    top_every = (
        max(int(round(1 / args.top_tier_share)), 1) if args.top_tier_share else 0
    )

    t0 = time.perf_counter()
    cr.execute(
        """
        WITH new AS (
            INSERT INTO res_partner (name, email, email_normalized, active, type,
                                     is_company, lang, autopost_bills,
                                     loyalty_last_activity_date,
                                     create_date, write_date, create_uid, write_uid)
            SELECT 'Bench Member ' || g, 'bench' || g || '@example.com',
                   'bench' || g || '@example.com', true, 'contact', false, 'en_US',
                   'ask',
                   CASE WHEN %(every)s > 0 AND g %% %(every)s = 0
                        THEN CURRENT_DATE - 120
                        ELSE CURRENT_DATE - (g %% 90) END,
                   now() at time zone 'UTC', now() at time zone 'UTC', 1, 1
              FROM generate_series(1, %(n)s) g
            RETURNING id, substr(name, 14)::int AS g
        )
        INSERT INTO loyalty_card (code, program_id, partner_id, company_id, points,
                                  active, loyalty_tier_id, create_date, write_date,
                                  create_uid, write_uid)
        SELECT 'bench-' || id, %(program)s, id, %(company)s, 0, true,
               CASE WHEN %(every)s > 0 AND %(top)s > 0
                         AND g %% (%(every)s * %(top)s) = 0
                    THEN %(gold)s END,
               now() at time zone 'UTC', now() at time zone 'UTC', 1, 1
          FROM new
        """,
        {
            "n": n,
            "every": every,
            "top": top_every,
            "gold": gold.id,
            "program": program.id,
            "company": env.company.id,
        },
    )
    cr.execute(
        "UPDATE res_partner SET commercial_partner_id = id "
        "WHERE commercial_partner_id IS NULL AND name LIKE 'Bench Member %%'"
    )
    cr.execute(
        "ANALYZE res_partner; ANALYZE loyalty_card; ANALYZE loyalty_member_event"
    )
    print(f"members created: {n:,} in {time.perf_counter() - t0:.1f} s")

    cr.execute(
        """
        SELECT COUNT(*)
          FROM loyalty_card c
          JOIN loyalty_program pr ON pr.id = c.program_id
          JOIN res_partner p ON p.id = c.partner_id
         WHERE pr.program_type = 'loyalty' AND pr.active AND p.active
           AND COALESCE(p.loyalty_last_activity_date, c.create_date::date)
               <= CURRENT_DATE - pr.loyalty_inactivity_days
        """
    )
    print(f"inactive members expected: {cr.fetchone()[0]:,}")

    Event = env["loyalty.member.event"]
    counts_before = figures(env)
    emitted, first, odoo1, pg1 = timed(Event._cron_detect_inactivity)
    print(
        f"first run: {first:.1f} s (CPU: Odoo {odoo1:.1f} s, PostgreSQL "
        f"{pg1:.1f} s), events emitted: {emitted:,}"
    )

    processed, automation, odoo_a, pg_a = timed(Event._cron_process_events)
    after = figures(env)
    print(
        f"automation (processing cron): {automation:.1f} s (CPU: Odoo "
        f"{odoo_a:.1f} s, PostgreSQL {pg_a:.1f} s) for {processed:,} events "
        f"({automation / max(processed, 1) * 1000:.1f} ms per event)"
    )
    for key, value in after.items():
        print(f"  {key}: +{value - counts_before[key]:,}")

    again, second, odoo2, pg2 = timed(Event._cron_detect_inactivity)
    print(
        f"second run: {second:.1f} s (CPU: Odoo {odoo2:.1f} s, PostgreSQL "
        f"{pg2:.1f} s), events emitted: {again:,} (expected 0)"
    )
    print(
        f"total: {first + second:.1f} s (CPU {odoo1 + pg1 + odoo2 + pg2:.1f} s) "
        f"for {n:,} members (target <= 60 s per run)"
    )


def figures(env):
    cr = env.cr
    env.flush_all()
    activity_type = env.ref("loyalty_crm_addon.mail_activity_type_loyalty_followup")
    winback = env.ref("loyalty_crm_addon.mailing_list_winback")
    result = {}
    for key, query, params in (
        (
            "events",
            "SELECT COUNT(*) FROM loyalty_member_event WHERE event_type = 'inactive'",
            [],
        ),
        (
            "activities",
            "SELECT COUNT(*) FROM mail_activity WHERE activity_type_id = %s",
            [activity_type.id],
        ),
        (
            "win-back subscriptions",
            "SELECT COUNT(*) FROM mailing_subscription WHERE list_id = %s",
            [winback.id],
        ),
        (
            "opportunities",
            "SELECT COUNT(*) FROM crm_lead WHERE type = 'opportunity'",
            [],
        ),
    ):
        cr.execute(query, params)
        result[key] = cr.fetchone()[0]
    return result


if __name__ == "__main__":
    main()
