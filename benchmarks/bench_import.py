#!/usr/bin/env python3
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Import of members with balances (``loyalty.balance.import``).

Target: 100,000 rows in minutes on a 2-core machine.

The benchmark builds its own database (from the dependency template
``lca_base`` that ``./dev bench`` makes, with the addon installed; updated to
the current code when it exists), writes a CSV of ``--rows`` members (a tenth
of them match existing contacts by email, the rest are created; every row has
an opening balance with its earn and expiry dates, a third lifetime points
for tier placement) and times, in one transaction rolled back at the end:

* the dry run (report line by line, nothing else written);
* the import itself (contacts, cards, ledger lines, report);
* a second import of the same file (idempotence: nothing changes).

It prints the time of each step (wall and CPU seconds, the Odoo process's
and its PostgreSQL backend's apart), the rows per second, the Odoo
process's peak memory (max RSS) and checks that the cards follow their
ledger.

Usage::

    ./dev bench bench_import [--db lca_bench_import] [--rows 100000]
"""

import argparse
import base64
import json
import os
import resource
import subprocess
import sys
import time
from datetime import date, timedelta

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import _cli  # noqa: E402
from bench_ledger import (  # noqa: E402
    DEFAULT_ODOO,
    REPO,
    addons_path,
    ensure_db,
    snapshot_addon,
)


def _cpu(cr):
    """(CPU seconds of this Odoo process, of its PostgreSQL backend): on a
    busy machine they say more than wall time."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cr.execute("SELECT pg_backend_pid()")
    pid = cr.fetchone()[0]
    try:
        with open(f"/proc/{pid}/schedstat") as fh:
            backend = int(fh.read().split()[0]) / 1e9
    except OSError:
        backend = 0.0
    return usage.ru_utime + usage.ru_stime, backend


def _cpu_s(cr):
    return sum(_cpu(cr))


def _rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_csv(n_rows, existing):
    today = date.today()
    lines = ["email,name,phone,ref,points,lifetime_points,earned_on,expires_on"]
    for i in range(n_rows):
        email = existing[i] if i < len(existing) else f"bench{i}@example.com"
        earned = (today - timedelta(days=i % 300)).isoformat()
        expires = (today + timedelta(days=30 + i % 400)).isoformat()
        lifetime = (i % 7) * 300 if i % 3 == 0 else ""
        lines.append(
            f"{email},Bench Member {i},,B{i},{(i % 500) + 1},{lifetime},"
            f"{earned},{expires}"
        )
    return "\n".join(lines).encode()


def worker(db, odoo_root, n_rows, batch_size, addons_dir):
    sys.path.insert(0, odoo_root)
    import odoo
    from odoo import SUPERUSER_ID, api
    from odoo.tools import config

    config.parse_config(
        [
            "-d",
            db,
            f"--addons-path={addons_path(odoo_root, addons_dir)}",
            "--log-level=warn",
        ]
    )
    registry = odoo.modules.registry.Registry(db)
    cr = registry.cursor()
    result = {"rows": n_rows}
    try:
        env = api.Environment(cr, SUPERUSER_ID, {})
        program = env["loyalty.program"].create(
            {
                "name": "Bench Club",
                "program_type": "loyalty",
                "loyalty_tier_ids": [
                    (0, 0, {"name": "Silver", "threshold": 0}),
                    (0, 0, {"name": "Gold", "threshold": 1000}),
                ],
            }
        )
        env.company.loyalty_membership_program_id = program
        n_existing = n_rows // 10
        partners = (
            env["res.partner"]
            .with_context(tracking_disable=True)
            .create(
                [
                    {"name": f"Existing {i}", "email": f"existing{i}@example.com"}
                    for i in range(n_existing)
                ]
            )
        )
        data = base64.b64encode(make_csv(n_rows, partners.mapped("email")))
        env.flush_all()
        Import = env["loyalty.balance.import"]
        job_vals = {
            "data_file": data,
            "filename": "bench.csv",
            "program_id": program.id,
            "batch_size": batch_size,
        }
        rss0 = _rss_mb()

        job = Import.create(job_vals)
        t0, c0 = time.perf_counter(), _cpu_s(cr)
        job.action_dry_run()
        env.flush_all()
        result["dry_run_s"] = round(time.perf_counter() - t0, 1)
        result["dry_run_cpu_s"] = round(_cpu_s(cr) - c0, 1)
        result["dry_run_counts"] = [
            job.count_create,
            job.count_match,
            job.count_skip,
            job.count_reject,
        ]
        result["rss_after_dry_run_mb"] = round(_rss_mb())

        t0, (py0, pg0) = time.perf_counter(), _cpu(cr)
        if os.environ.get("BENCH_PROFILE"):
            import cProfile

            cProfile.runctx(
                "job._run_import()", globals(), locals(), os.environ["BENCH_PROFILE"]
            )
        else:
            job._run_import()
        env.flush_all()
        result["import_s"] = round(time.perf_counter() - t0, 1)
        py1, pg1 = _cpu(cr)
        result["import_cpu_s"] = round(py1 - py0 + pg1 - pg0, 1)
        result["import_odoo_cpu_s"] = round(py1 - py0, 1)
        result["import_pg_cpu_s"] = round(pg1 - pg0, 1)
        result["import_counts"] = [
            job.count_create,
            job.count_match,
            job.count_skip,
            job.count_reject,
        ]
        result["rss_after_import_mb"] = round(_rss_mb())

        cr.execute(
            "SELECT COUNT(*), SUM(points) FROM loyalty_ledger_line"
            " WHERE program_id = %s",
            [program.id],
        )
        result["ledger_lines"], total = cr.fetchone()
        again = Import.create(job_vals)
        t0 = time.perf_counter()
        again._run_import()
        env.flush_all()
        result["second_import_s"] = round(time.perf_counter() - t0, 1)
        cr.execute(
            "SELECT COUNT(*), SUM(points) FROM loyalty_ledger_line"
            " WHERE program_id = %s",
            [program.id],
        )
        result["second_import_changes_nothing"] = cr.fetchone() == (
            result["ledger_lines"],
            total,
        )
        result["second_import_skipped"] = again.count_skip
        result["inconsistent_cards"] = len(
            env["loyalty.ledger.line"]._get_inconsistent_cards()
        )
        result["rss_baseline_mb"] = round(rss0)
        result["peak_rss_mb"] = round(_rss_mb())
    finally:
        cr.rollback()
        cr.close()
    print("RESULT " + json.dumps(result), flush=True)


def main():
    parser = _cli.parser(__doc__)
    parser.add_argument("--db", default="lca_bench_import")
    parser.add_argument("--odoo-root", default=DEFAULT_ODOO)
    parser.add_argument("--rows", type=int, default=100000)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--addons-dir", default=REPO, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.db, args.odoo_root, args.rows, args.batch_size, args.addons_dir)
        return
    addons_dir, digest = snapshot_addon()
    print(f"# addon code snapshot {digest}", flush=True)
    ensure_db(
        args.db, args.template, args.odoo_root, with_addon=True, addons_dir=addons_dir
    )
    print(
        f"# {args.rows} rows, batches of {args.batch_size}, {os.cpu_count()} CPUs",
        flush=True,
    )
    proc = subprocess.run(
        [
            sys.executable,
            os.path.abspath(__file__),
            "--worker",
            "--db",
            args.db,
            "--rows",
            str(args.rows),
            "--batch-size",
            str(args.batch_size),
            "--odoo-root",
            args.odoo_root,
            "--addons-dir",
            addons_dir,
        ],
        capture_output=True,
        text=True,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            res = json.loads(line[len("RESULT ") :])
            for key, value in res.items():
                print(f"{key:32} {value}")
            rate = res["rows"] / max(res["import_s"], 0.1)
            print(f"{'import_rows_per_s':32} {rate:.0f}")
            rate = res["rows"] / max(res["import_cpu_s"], 0.1)
            print(f"{'import_rows_per_cpu_s':32} {rate:.0f}")
            print(
                f"{'target':32} 100,000 rows in minutes (here: "
                f"{100000 / rate / 60:.1f} CPU-minutes per 100,000 rows)"
            )
            return
    sys.stderr.write(proc.stdout[-5000:] + proc.stderr[-5000:])
    raise SystemExit("worker failed")


if __name__ == "__main__":
    main()
