#!/usr/bin/env python3
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Member-event processing at several sizes: events per second and CPU per
event side by side (a flat cost per event is the target), and the tier
review with its follow-ups.

Milestones: for each ``--events`` size, that many members (SQL: partners
with an email, a card each of a membership program) each with one pending
``nth_order`` event, whose shipped rule sends the thank-you email (rendered
from its template, queued as ``mail.mail``) and plans a follow-up activity
for the member's salesperson. Then ``loyalty.member.event``
``_cron_process_events()`` runs, as the cron worker runs it (all batches),
followed by ``flush_all()``. Target: 10,000 events in at most 60 CPU-s.

Tier review (``--tier-members``, 0 to skip): ``bench_tiers``' fixture with
one member in ``--stale-every`` (100: 1%) dropped below their tier; the
review (chatter note and event per change) then the processing of its
events (the shipped downgrade rule's activity), timed together. Target:
1,000,000 members with 1% changes in at most 60 CPU-s.

Each size runs in its own subprocess (its own registry and memory) and is
rolled back. CPU is the worker's plus its PostgreSQL backend's
(``/proc/PID/schedstat``).

Usage::

    ./dev bench bench_events [--db lca_bench_events] [--events 1k,10k]
        [--tier-members 100k] [--stale-every 100]
"""

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import _cli  # noqa: E402

TARGET_EVENTS = 10_000
TARGET_CPU_S = 60.0


def parse_count(text):
    text = text.strip().lower()
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * factor)


def _cpu_ns(pid):
    try:
        with open(f"/proc/{pid}/schedstat") as fh:
            return int(fh.read().split()[0])
    except OSError:
        return 0


def milestone_fixture(env, n):
    """``n`` members with a card and one pending nth_order event each."""
    cr = env.cr
    program = env["loyalty.program"].create(
        {
            "name": "Bench Events",
            "program_type": "loyalty",
            "loyalty_points_milestone": 0,
        }
    )
    env.flush_all()
    company = env.company
    cr.execute(
        """
        CREATE TEMP TABLE bench_ev (n int, partner_id int, card_id int)
            ON COMMIT DROP;
        INSERT INTO bench_ev (n) SELECT g FROM generate_series(1, %(n)s) g;
        WITH p AS (
            INSERT INTO res_partner (name, complete_name, email, email_normalized,
                                     active, autopost_bills, lang,
                                     create_date, write_date)
            SELECT 'Bench event ' || n, 'Bench event ' || n,
                   'bench.event.' || n || '@example.com',
                   'bench.event.' || n || '@example.com', true, 'ask', 'en_US',
                   now(), now()
              FROM bench_ev ORDER BY n
            RETURNING id, substring(name from 13)::int AS n
        )
        UPDATE bench_ev b SET partner_id = p.id FROM p WHERE p.n = b.n;
        WITH c AS (
            INSERT INTO loyalty_card (program_id, partner_id, code, points, active,
                                      create_date, write_date)
            SELECT %(program)s, partner_id, 'bench-ev-' || n, 100, true, now(), now()
              FROM bench_ev ORDER BY n
            RETURNING id, partner_id
        )
        UPDATE bench_ev b SET card_id = c.id FROM c WHERE c.partner_id = b.partner_id;
        INSERT INTO loyalty_member_event (partner_id, card_id, program_id,
               company_id, event_type, date, points, description, key, state,
               create_date, write_date, create_uid, write_uid)
        SELECT partner_id, card_id, %(program)s, %(company)s, 'nth_order', now(),
               5, 'Order #5', 'bench-nth:' || card_id, 'pending', now(), now(),
               1, 1
          FROM bench_ev;
        ANALYZE res_partner; ANALYZE loyalty_card; ANALYZE loyalty_member_event;
        """,
        {"n": n, "program": program.id, "company": company.id},
    )
    env.invalidate_all()


def _counts(cr):
    cr.execute(
        """
        SELECT (SELECT COUNT(*) FROM mail_mail),
               (SELECT COUNT(*) FROM mail_activity),
               (SELECT COUNT(*) FROM mail_message),
               (SELECT COUNT(*) FROM loyalty_member_event WHERE state = 'done'),
               (SELECT COUNT(*) FROM loyalty_member_event WHERE state = 'failed'),
               (SELECT COUNT(*) FROM loyalty_member_event WHERE state = 'pending')
        """
    )
    return dict(
        zip(
            ("mails", "activities", "messages", "done", "failed", "pending"),
            cr.fetchone(),
            strict=True,
        )
    )


def worker(db, mode, size, stale_every, addons_dir):
    registry = _cli.registry(db, "--log-level=warn", addons_dir=addons_dir)
    import odoo  # noqa: PLC0415
    from odoo import SUPERUSER_ID, api  # noqa: PLC0415

    result = {"mode": mode, "size": size}
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        t0 = time.perf_counter()
        if mode == "milestones":
            milestone_fixture(env, size)
        else:
            import bench_tiers  # noqa: PLC0415

            bench_tiers.build_fixture(env, size, stale_every)
        result["fixture_s"] = round(time.perf_counter() - t0, 1)
        # Pending events left by earlier work are not part of the run.
        cr.execute(
            "UPDATE loyalty_member_event SET state = 'cancel' WHERE state = 'pending'"
            " AND key NOT LIKE 'bench-%%'"
        )
        env.invalidate_all()
        before = _counts(cr)
        cr.execute("SELECT pg_backend_pid()")
        backend = cr.fetchone()[0]
        q0 = odoo.sql_db.sql_counter
        c0, b0 = _cpu_ns("self"), _cpu_ns(backend)
        t0 = time.perf_counter()
        profile = None
        if os.environ.get("BENCH_EVENTS_PROFILE"):
            import cProfile  # noqa: PLC0415

            profile = cProfile.Profile()
            profile.enable()
        if mode == "tiers":
            result["changes"] = env["loyalty.tier"]._cron_review_tiers()
            env.flush_all()
            result["review_cpu"] = round(
                (_cpu_ns("self") - c0 + _cpu_ns(backend) - b0) / 1e9, 2
            )
        env["loyalty.member.event"]._cron_process_events()
        env.flush_all()
        wall = time.perf_counter() - t0
        if profile:
            profile.disable()
            profile.dump_stats(os.environ["BENCH_EVENTS_PROFILE"])
        c1, b1 = _cpu_ns("self"), _cpu_ns(backend)
        after = _counts(cr)
        result.update(
            wall=round(wall, 2),
            cpu_py=round((c1 - c0) / 1e9, 2),
            cpu_pg=round((b1 - b0) / 1e9, 2),
            queries=odoo.sql_db.sql_counter - q0,
            **{k: after[k] - before[k] for k in after},
        )
        cr.rollback()
    print("RESULT " + json.dumps(result), flush=True)


def run(cmd):
    proc = subprocess.run(cmd, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
        if line.startswith("fixture:"):
            print("#", line, flush=True)
    sys.stderr.write(proc.stdout[-5000:] + proc.stderr[-5000:])
    raise SystemExit(f"worker failed: {cmd}")


def main():
    parser = _cli.parser(__doc__, db="lca_bench_events")
    parser.add_argument("--events", default="1k,10k", help="sizes, e.g. 1k,10k,100k")
    parser.add_argument(
        "--tier-members", default="0", help="members of the tier review (0: skip)"
    )
    parser.add_argument("--stale-every", type=int, default=100)
    parser.add_argument("--no-update", action="store_true")
    parser.add_argument(
        "--addons-dir",
        default=_cli.REPO,
        help="folder holding the addon the workers load (default: this checkout)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.db, args.worker, args.size, args.stale_every, args.addons_dir)
        return
    _cli.ensure_db(
        args.db,
        args.template,
        _cli.ODOO_SRC,
        with_addon=True,
        update=not args.no_update,
    )
    me = [
        sys.executable,
        os.path.abspath(__file__),
        "--db",
        args.db,
        "--addons-dir",
        args.addons_dir,
    ]
    rows = []
    for size in [parse_count(s) for s in args.events.split(",") if s.strip()]:
        if not size:
            continue
        res = run([*me, "--worker", "milestones", "--size", str(size)])
        rows.append(res)
        print(f"# milestones {size:,}: {json.dumps(res)}", flush=True)
    if rows:
        print_rows(rows)
    tier_review(args, me)


def print_rows(rows):
    print(
        "== nth_order events (thank-you email + follow-up activity each), "
        "processed by the event cron"
    )
    print(
        f"   {'events':>9} {'events/s':>9} {'CPU s':>8} {'CPU ms/event':>13} "
        f"{'queries/event':>14} {'mails':>8} {'activities':>10} {'failed':>7}"
    )
    for res in rows:
        cpu = res["cpu_py"] + res["cpu_pg"]
        n = res["size"]
        print(
            f"   {n:>9,} {n / res['wall']:>9.0f} {cpu:>8.2f} "
            f"{1000 * cpu / n:>13.2f} {res['queries'] / n:>14.2f} "
            f"{res['mails']:>8,} {res['activities']:>10,} {res['failed']:>7,}"
        )
    for res in rows:
        cpu = res["cpu_py"] + res["cpu_pg"]
        if res["size"] == TARGET_EVENTS:
            print(
                f"   {TARGET_EVENTS:,} events: {cpu:.1f} CPU-s "
                f"{_cli.verdict(cpu <= TARGET_CPU_S)} <= {TARGET_CPU_S:.0f}"
            )
    if len(rows) > 1:
        per = [(r["cpu_py"] + r["cpu_pg"]) / r["size"] for r in rows]
        print(
            f"   CPU per event, largest / smallest size: {per[-1] / per[0]:.2f}x "
            "(flat = 1.00x)"
        )


def tier_review(args, me):
    members = parse_count(args.tier_members)
    if members:
        res = run(
            [
                *me,
                "--worker",
                "tiers",
                "--size",
                str(members),
                "--stale-every",
                str(args.stale_every),
            ]
        )
        cpu = res["cpu_py"] + res["cpu_pg"]
        print(
            f"== tier review over {members:,} members, 1 in {args.stale_every} "
            f"changing, then its events processed: {res['changes']:,} changes, "
            f"{res['wall']:.1f} s wall, CPU {cpu:.1f} s ({res['cpu_py']:.1f} "
            f"python + {res['cpu_pg']:.1f} postgres; the review alone "
            f"{res['review_cpu']:.1f} s), {res['activities']:,} activities, "
            f"{res['messages']:,} messages, {res['failed']} failed; "
            f"{1000 * cpu / max(res['changes'], 1):.2f} CPU ms per change; "
            f"{_cli.verdict(cpu <= TARGET_CPU_S)} <= {TARGET_CPU_S:.0f} CPU-s"
        )


if __name__ == "__main__":
    main()
