#!/usr/bin/env python3
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Build a database of synthetic loyalty data: members, cards, ledger lines
and orders (see ``benchmarks/_datagen.py`` for what is generated).

The database is made from the benchmark template (``lca_base``, the addon's
dependencies) with the addon installed, then filled set-based and committed;
the time of each step is printed. An existing database already holding a data
set of the same size is reused (``--force`` rebuilds it).

Usage::

    ./dev bench bench_datagen --members 100000 [--db lca_bench_data_100k]
        [--force] [--no-orders] [--expire-due-every 10] ...

``--members`` takes 10000, 10k, 1M ...; 1M members are 10M ledger lines.
The last line printed is ``RESULT {json}`` for scripts that call this one.
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
from bench_ledger import DEFAULT_ODOO, addons_path, db_exists, ensure_db  # noqa: E402

ODOO_SRC = os.environ.get("ODOO_SRC", DEFAULT_ODOO)


def parse_count(text):
    """10000, 10k, 1M, 1_000_000 -> int"""
    text = str(text).strip().lower().replace("_", "").replace(",", "")
    factor = 1
    if text.endswith("k"):
        factor, text = 1000, text[:-1]
    elif text.endswith("m"):
        factor, text = 1_000_000, text[:-1]
    return int(float(text) * factor)


def label(members):
    if members % 1_000_000 == 0:
        return f"{members // 1_000_000}m"
    if members % 1000 == 0:
        return f"{members // 1000}k"
    return str(members)


def default_db(members):
    return f"lca_bench_data_{label(members)}"


def run_script(cmd, echo=True):
    """Run a benchmark script; echo its output as it comes (``echo``) and
    return the JSON of its ``RESULT`` line; exit if it fails."""
    result = None
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as proc:
        for line in proc.stdout:
            if line.startswith("RESULT "):
                result = json.loads(line[len("RESULT ") :])
            elif echo:
                print(line, end="", flush=True)
    if proc.returncode or result is None:
        sys.exit(f"failed (exit code {proc.returncode}): {' '.join(cmd)}")
    return result


def _options(args):
    return {
        "expire_due_every": args.expire_due_every,
        "release_due_every": args.release_due_every,
        "stale_every": args.stale_every,
        "inactive_every": args.inactive_every,
        "orders": not args.no_orders,
    }


def _existing(db, members, options):
    """The marker of a data set of this size and shape in ``db``, or None."""
    if not db_exists(db):
        return None
    out = subprocess.run(
        [
            "psql",
            "-d",
            db,
            "-Atc",
            "SELECT value FROM ir_config_parameter"
            " WHERE key = 'loyalty_crm_addon.bench_datagen'",
        ],
        capture_output=True,
        text=True,
    ).stdout.strip()
    if not out:
        return None
    marker = json.loads(out)
    if marker.get("members") != members or marker.get("options") != options:
        return None
    return marker


def build(args):
    import _datagen

    import odoo
    from odoo import SUPERUSER_ID, api
    from odoo.tools import config

    config.parse_config(
        ["-d", args.db, f"--addons-path={addons_path(ODOO_SRC)}", "--log-level=warn"]
    )
    registry = odoo.modules.registry.Registry(args.db)
    options = _options(args)
    t0 = time.perf_counter()
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
        figures = _datagen.generate(
            env,
            args.members,
            expire_due_every=args.expire_due_every,
            release_due_every=args.release_due_every,
            stale_every=args.stale_every,
            inactive_every=args.inactive_every,
            orders=options["orders"],
        )
        figures["options"] = options
        cr.execute(
            "UPDATE ir_config_parameter SET value = %s WHERE key = %s",
            [json.dumps(figures), _datagen.MARKER_KEY],
        )
        t_commit = time.perf_counter()
        cr.commit()
        print(f"  commit: {time.perf_counter() - t_commit:.1f} s", flush=True)
    generated = time.perf_counter() - t0
    t1 = time.perf_counter()
    # set the visibility map and statistics, as autovacuum would overnight
    subprocess.run(
        ["vacuumdb", "--quiet", "--analyze"]
        + [f"--table={t}" for t in _datagen.BIG_TABLES]
        + [args.db],
        check=True,
    )
    vacuum = time.perf_counter() - t1
    print(f"  vacuum analyze: {vacuum:.1f} s", flush=True)
    figures["load_seconds"] = round(generated, 1)
    figures["vacuum_seconds"] = round(vacuum, 1)
    return figures


def main():
    parser = _cli.parser(__doc__)
    parser.add_argument("--members", type=parse_count, default=10_000)
    parser.add_argument("--db", help="default: lca_bench_data_<size>")
    parser.add_argument("--force", action="store_true", help="rebuild the db")
    parser.add_argument("--no-orders", action="store_true")
    parser.add_argument("--expire-due-every", type=int, default=10)
    parser.add_argument("--release-due-every", type=int, default=10)
    parser.add_argument("--stale-every", type=int, default=100)
    parser.add_argument("--inactive-every", type=int, default=100)
    parser.add_argument("--build", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.db = args.db or default_db(args.members)

    if args.build:  # the generation itself, in a fresh process
        print("RESULT " + json.dumps(build(args)), flush=True)
        return

    options = _options(args)
    marker = None if args.force else _existing(args.db, args.members, options)
    if marker:
        print(
            f"# {args.db} already holds {args.members:,} members "
            f"({marker['ledger_lines']:,} ledger lines): reused (--force rebuilds)"
        )
        print("RESULT " + json.dumps(marker), flush=True)
        return
    t0 = time.perf_counter()
    if db_exists(args.db):
        print(f"# dropping {args.db}", flush=True)
        subprocess.run(["dropdb", "--force", args.db], check=True)
    ensure_db(args.db, args.template, ODOO_SRC, with_addon=True)
    t_db = time.perf_counter() - t0
    print(f"# {args.db}: template + addon in {t_db:.1f} s", flush=True)
    print(f"# generating {args.members:,} members", flush=True)
    cmd = [sys.executable, os.path.abspath(__file__), "--build"] + sys.argv[1:]
    if "--db" not in sys.argv:
        cmd += ["--db", args.db]
    result = run_script(cmd)
    due = result["due"]
    ok = not (
        result["cards_not_matching_ledger"]
        or result["cards_below_zero"]
        or result["cards_not_matching_open_lots"]
    )
    print(
        f"== {args.db}: {result['members']:,} members, "
        f"{result['non_members']:,} other customers, "
        f"{result['ledger_lines']:,} ledger lines, {result['orders']:,} orders "
        f"generated in {result['load_seconds']:.1f} s "
        f"(+ vacuum {result['vacuum_seconds']:.1f} s, db {t_db:.1f} s)"
    )
    print(
        f"   due for the crons: {due['expire']:,} cards with expired lots, "
        f"{due['release']:,} pending lots due, {due['stale_tiers']:,} stale tiers, "
        f"{due['inactive']:,} inactive members"
    )
    print(
        f"   invariant (card points = posted lines = open lots, >= 0) over "
        f"{result['cards']:,} cards: {_cli.verdict(ok)}"
    )
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
