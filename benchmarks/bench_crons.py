#!/usr/bin/env python3
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Each scheduled action of the addon at two sizes: time, peak memory and
the ratio between the sizes (linear growth: the ratio of the sizes, 10x for
100k -> 1M).

For each size a database of generated data is built (or reused) with
``bench_datagen.py``: 10 ledger lines and 2 orders per member, and work for
every cron proportional to the members (1 in 10 has a lot past expiry and 1
in 10 a pending lot due, 1 in 100 a stale tier, 1 in 100 is inactive).

Each cron runs in its own subprocess (its own registry and memory) exactly
as the cron worker runs it: the cron record is read by XML id and its server
action run (``ir.actions.server.run()``, which evaluates the cron's ``code``
field, e.g. ``model._cron_expire_points()``), followed by ``flush_all()``.
The transaction is rolled back at the end, so every cron starts from the same
data and the script can be rerun. Without a cron progress record in the
context the crons do not commit between batches: the whole run is one
transaction, the worst case for memory.

Measured: wall time, CPU time of the worker and of its PostgreSQL backend
(``/proc/PID/schedstat``, less sensitive to other load on the machine), SQL
queries, and the worker's peak resident memory during the run (``VmHWM``
after resetting it through ``/proc/self/clear_refs``), as an absolute figure
and as growth over the resident memory before the run.

Usage::

    ./dev bench bench_crons [--members 100k,1M] [--db-prefix lca_bench_data]
        [--crons release_pending,expire_points,review_tiers,inactivity]

Exit code 0 whatever the figures; read the ratio lines.
"""

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import _cli  # noqa: E402
from bench_datagen import ODOO_SRC, label, parse_count  # noqa: E402
from bench_datagen import run_script as _run  # noqa: E402
from bench_ledger import _cpu_ns, addons_path  # noqa: E402

CRONS = {
    "release_pending": "loyalty_crm_addon.ir_cron_loyalty_release_pending",
    "expire_points": "loyalty_crm_addon.ir_cron_loyalty_expire_points",
    "review_tiers": "loyalty_crm_addon.ir_cron_loyalty_review_tiers",
    "inactivity": "loyalty_crm_addon.ir_cron_loyalty_inactivity",
    # built by the automation engine (contract v2); measured when present
    "process_events": "loyalty_crm_addon.ir_cron_loyalty_process_events",
}
DEFAULT_CRONS = "release_pending,expire_points,review_tiers,inactivity,process_events"


def _status_kb(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak():
    """Reset VmHWM to the current RSS (Linux >= 4.0); False if refused."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _counts(cr):
    cr.execute(
        """
        SELECT (SELECT COUNT(*) FROM loyalty_ledger_line),
               (SELECT COUNT(*) FROM loyalty_ledger_line WHERE state = 'pending'),
               (SELECT COUNT(*) FROM mail_activity),
               (SELECT json_object_agg(event_type, n) FROM (
                    SELECT event_type, COUNT(*) AS n FROM loyalty_member_event
                     GROUP BY event_type) e)
        """
    )
    lines, pending, activities, events = cr.fetchone()
    return {
        "lines": lines,
        "pending": pending,
        "activities": activities,
        "events": events or {},
    }


def _work(before, after):
    """What the run changed, in words."""
    parts = []
    if after["lines"] != before["lines"]:
        parts.append(f"+{after['lines'] - before['lines']:,} ledger lines")
    if after["pending"] != before["pending"]:
        parts.append(f"{before['pending'] - after['pending']:,} released")
    for kind, n in sorted(after["events"].items()):
        delta = n - before["events"].get(kind, 0)
        if delta:
            parts.append(f"+{delta:,} {kind} events")
    if after["activities"] != before["activities"]:
        parts.append(f"+{after['activities'] - before['activities']:,} activities")
    return ", ".join(parts) or "no change"


def worker(db, xmlid, no_milestones=False):
    import odoo
    from odoo import SUPERUSER_ID, api
    from odoo.tools import config

    config.parse_config(
        ["-d", db, f"--addons-path={addons_path(ODOO_SRC)}", "--log-level=warn"]
    )
    registry = odoo.modules.registry.Registry(db)
    result = {"db": db, "cron": xmlid}
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        cron = env.ref(xmlid, raise_if_not_found=False)
        if not cron:
            result["missing"] = True
            print("RESULT " + json.dumps(result), flush=True)
            return
        # as ir.cron._callback: the cron's user runs its server action
        action = cron.ir_actions_server_id.with_user(cron.user_id)
        result["code"] = cron.code.strip()
        if no_milestones:
            # rolled back with the rest: milestone events are what the rules
            # email members about, one rendered email each
            cr.execute("UPDATE loyalty_program SET loyalty_points_milestone = 0")
            result["code"] += " (milestones off)"
        before = _counts(cr)
        cr.execute("SELECT pg_backend_pid()")
        backend = cr.fetchone()[0]
        env.invalidate_all()
        reset = _reset_peak()
        rss0 = _status_kb("VmRSS")
        q0 = odoo.sql_db.sql_counter
        c0, b0 = _cpu_ns("self"), _cpu_ns(backend)
        t0 = time.perf_counter()
        action.run()
        env.flush_all()
        wall = time.perf_counter() - t0
        c1, b1 = _cpu_ns("self"), _cpu_ns(backend)
        queries = odoo.sql_db.sql_counter - q0
        peak = _status_kb("VmHWM")
        after = _counts(cr)
        cr.rollback()
    result.update(
        seconds=round(wall, 2),
        cpu_py=round((c1 - c0) / 1e9, 2),
        cpu_pg=round((b1 - b0) / 1e9, 2),
        queries=queries,
        rss_before_mb=round(rss0 / 1024, 1),
        peak_mb=round(peak / 1024, 1),
        growth_mb=round((peak - rss0) / 1024, 1) if reset else None,
        work=_work(before, after),
    )
    print("RESULT " + json.dumps(result), flush=True)


def _ratio(big, small):
    return f"{big / small:.1f}x" if small else "n/a"


def main():
    parser = _cli.parser(__doc__)
    parser.add_argument(
        "--members",
        default="100k,1M",
        help="comma-separated sizes (10k, 100k, 1M ...); ratios against the first",
    )
    parser.add_argument("--db-prefix", default="lca_bench_data")
    parser.add_argument("--crons", default=DEFAULT_CRONS)
    parser.add_argument(
        "--no-milestones",
        action="store_true",
        help="set the programs' points milestone to 0 for the run (no milestone "
        "events and emails; the release cron's own cost)",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--cron", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.db, args.cron, args.no_milestones)
        return

    sizes = [parse_count(s) for s in args.members.split(",")]
    crons = [c.strip() for c in args.crons.split(",") if c.strip()]
    unknown = set(crons) - set(CRONS)
    if unknown:
        sys.exit(f"unknown crons {sorted(unknown)}; known: {sorted(CRONS)}")
    print(
        f"# {os.cpu_count()} CPUs; crons {', '.join(crons)}; "
        f"sizes {', '.join(f'{s:,}' for s in sizes)}",
        flush=True,
    )
    results = {}
    for size in sizes:
        db = f"{args.db_prefix}_{label(size)}"
        data = _run(
            [
                sys.executable,
                os.path.join(HERE, "bench_datagen.py"),
                "--members",
                str(size),
                "--db",
                db,
                "--template",
                args.template,
            ]
        )
        print(
            f"# {db}: {data['members']:,} members, {data['ledger_lines']:,} "
            f"ledger lines (generated in {data['seconds']:.1f} s)",
            flush=True,
        )
        for name in crons:
            res = _run(
                [
                    sys.executable,
                    os.path.abspath(__file__),
                    "--worker",
                    "--db",
                    db,
                    "--cron",
                    CRONS[name],
                ]
                + (["--no-milestones"] if args.no_milestones else [])
            )
            results[size, name] = res
            if res.get("missing"):
                print(f"  {name:16} {size:>9,}: no such cron in {db}", flush=True)
                continue
            print(
                f"  {name:16} {size:>9,}: {res['seconds']:7.2f} s wall, "
                f"CPU {res['cpu_py']:.2f} s python + {res['cpu_pg']:.2f} s "
                f"postgres, {res['queries']:,} queries, peak RSS "
                f"{res['peak_mb']:.0f} MB (+{res['growth_mb']} MB over "
                f"{res['rss_before_mb']:.0f} MB); {res['work']}  "
                f"[{res['code']}]",
                flush=True,
            )
    if len(sizes) < 2:
        return
    small, big = sizes[0], sizes[-1]
    print(
        f"== {big:,} vs {small:,} members (linear = {big / small:.0f}x); "
        "time, CPU, memory growth"
    )
    for name in crons:
        a, b = results[small, name], results[big, name]
        if a.get("missing") or b.get("missing"):
            continue
        cpu_a, cpu_b = a["cpu_py"] + a["cpu_pg"], b["cpu_py"] + b["cpu_pg"]
        print(
            f"   {name:16} time {a['seconds']:.2f} s -> {b['seconds']:.2f} s "
            f"({_ratio(b['seconds'], a['seconds'])}), CPU {cpu_a:.2f} s -> "
            f"{cpu_b:.2f} s ({_ratio(cpu_b, cpu_a)}), peak RSS "
            f"{a['peak_mb']:.0f} -> {b['peak_mb']:.0f} MB, growth "
            f"{a['growth_mb']} -> {b['growth_mb']} MB "
            f"({_ratio(b['growth_mb'] or 0, a['growth_mb'] or 0)})",
            flush=True,
        )


if __name__ == "__main__":
    main()
