#!/usr/bin/env python3
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Till start and member search with 100,000 members, side by side.

Targets: the till's start (``pos.session.load_data``, what the point of sale
calls when it opens) with 100,000 members takes at most 10% more time and
sends at most 10% more bytes (JSON) than with the same customers and no
member (an empty shop is printed too: Odoo itself loads up to 100
customers, ``point_of_sale.limited_customer_count``); the till's member
search (``res.partner.loyalty_pos_search``) answers in 300 ms or less
(median and 95th percentile over the searches, by name, phone, email, card
code and referral code).

One database with ``loyalty_crm_addon``, built from the template. One
subprocess, one transaction rolled back at the end: a till with a
membership program is set up, the start is measured (best of ``--loads``),
then customers are inserted set-based (INSERT ... SELECT generate_series)
and the start measured, then each gets a membership card (INSERT ... SELECT)
and the start and the searches are measured.

Usage::

    ./dev bench bench_pos_load
    python benchmarks/bench_pos_load.py --db NAME --members 100000
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _cli  # noqa: E402
from bench_ledger import (  # noqa: E402
    DEFAULT_ODOO,
    REPO,
    addons_path,
    ensure_db,
    snapshot_addon,
)

LOAD_TARGET = 0.10
SEARCH_TARGET_MS = 300


def _setup(env):
    Config = env["pos.config"]
    journal, pm_ids = Config._create_journal_and_payment_methods()
    config = Config.create(
        {
            "name": "Bench Load Till",
            "journal_id": journal.id,
            "payment_method_ids": [(6, 0, pm_ids)],
        }
    )
    config.open_ui()
    program = env["loyalty.program"].create(
        {
            "name": "Bench Load Membership",
            "program_type": "loyalty",
            "trigger": "auto",
            "applies_on": "both",
            "pos_ok": True,
            "pos_config_ids": [(4, config.id)],
        }
    )
    env.company.loyalty_membership_program_id = program
    return config, program


def _insert_partners(env, count):
    """``count`` customers, set-based."""
    cr = env.cr
    env.flush_all()
    cr.execute(
        """
        INSERT INTO res_partner (name, complete_name, email, phone,
                                 active, type, is_company, autopost_bills,
                                 create_date, write_date)
        SELECT 'Bench Member ' || g, 'Bench Member ' || g,
               'bench.member.' || g || '@example.com',
               '+32 4' || lpad(g::text, 8, '0'),
               true, 'contact', false, 'ask', now(), now()
          FROM generate_series(1, %s) g
        RETURNING id
        """,
        [count],
    )
    ids = [row[0] for row in cr.fetchall()]
    cr.execute(
        "UPDATE res_partner SET commercial_partner_id = id WHERE id = ANY(%s)", [ids]
    )
    has_referral = "loyalty_referral_code" in env["res.partner"]._fields
    if has_referral:
        cr.execute(
            "UPDATE res_partner SET loyalty_referral_code = 'BREF' || id "
            "WHERE id = ANY(%s)",
            [ids],
        )
    cr.execute("ANALYZE res_partner")
    env.invalidate_all()
    return ids, has_referral


def _insert_cards(env, program, ids):
    """A membership card for each of the partners ``ids``, set-based."""
    cr = env.cr
    cr.execute(
        """
        INSERT INTO loyalty_card (program_id, company_id, partner_id, code, points,
                                  active, create_date, write_date)
        SELECT %s, %s, p, 'BCARD' || p, (p %% 1000)::float, true, now(), now()
          FROM unnest(%s::int[]) p
        """,
        [program.id, program.company_id.id or None, ids],
    )
    cr.execute("ANALYZE loyalty_card")
    env.invalidate_all()


def _measure_load(env, session, loads):
    """(best seconds, bytes of the JSON answer, cards loaded)."""
    times, size, cards = [], 0, 0
    for _ in range(loads):
        env.flush_all()
        env.invalidate_all()
        t0 = time.perf_counter()
        data = session.load_data([])
        payload = json.dumps(data, default=str)
        times.append(time.perf_counter() - t0)
        size = len(payload.encode())
        cards = len(data.get("loyalty.card", {}).get("data", []))
    return min(times), size, cards, len(data.get("res.partner", {}).get("data", []))


def worker(db, odoo_root, members, loads, searches, addons_dir):
    sys.path.insert(0, odoo_root)
    import odoo
    from odoo import SUPERUSER_ID, api
    from odoo.tools import config as odoo_config

    odoo_config.parse_config(
        [
            "-d",
            db,
            f"--addons-path={addons_path(odoo_root, addons_dir)}",
            "--log-level=warn",
        ]
    )
    registry = odoo.modules.registry.Registry(db)
    cr = registry.cursor()
    result = {"db": db}
    try:
        env = api.Environment(cr, SUPERUSER_ID, {})
        env = env(user=env.ref("base.user_admin").id)
        config, program = _setup(env)
        session = config.current_session_id
        result["empty"] = _measure_load(env, session, loads)
        t0 = time.perf_counter()
        ids, has_referral = _insert_partners(env, members)
        result["before"] = _measure_load(env, session, loads)
        _insert_cards(env, program, ids)
        result["insert_s"] = round(time.perf_counter() - t0, 2)
        result["after"] = _measure_load(env, session, loads)
        # What pos_loyalty alone would preload: every card of the program.
        result["native_cards"] = env["loyalty.card"].search_count(
            [("program_id", "=", program.id)]
        )
        Partner = env["res.partner"]
        queries = []
        step = max(1, len(ids) // searches)
        for n, pid in enumerate(ids[::step][:searches]):
            g = pid - ids[0] + 1
            kind = n % (5 if has_referral else 4)
            queries.append(
                [
                    f"Bench Member {g}",
                    f"+32 4{g:08d}",
                    f"bench.member.{g}@",
                    f"BCARD{pid}",
                    f"BREF{pid}",
                ][kind]
            )
        times, missed = [], 0
        for query in queries:
            env.invalidate_all()
            t0 = time.perf_counter()
            found = Partner.loyalty_pos_search(query, config.id)
            info = Partner.browse(found[:30]).loyalty_pos_member_info(config.id)
            times.append(time.perf_counter() - t0)
            missed += not found or not info
        times.sort()
        result["search"] = {
            "n": len(times),
            "p50_ms": 1000 * statistics.median(times),
            "p95_ms": 1000 * times[int(0.95 * (len(times) - 1))],
            "max_ms": 1000 * times[-1],
            "missed": missed,
            "referral": has_referral,
        }
    finally:
        cr.rollback()
        cr.close()
    print("RESULT " + json.dumps(result), flush=True)


def main():
    parser = _cli.parser(__doc__)
    parser.add_argument("--db", default="lca_bench_pos_load")
    parser.add_argument("--odoo-root", default=DEFAULT_ODOO)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--loads", type=int, default=3)
    parser.add_argument("--searches", type=int, default=50)
    parser.add_argument("--no-update", action="store_true")
    parser.add_argument("--no-snapshot", action="store_true")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--addons-dir", default=REPO, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(
            args.db,
            args.odoo_root,
            args.members,
            args.loads,
            args.searches,
            args.addons_dir,
        )
        return
    if not args.no_snapshot:
        args.addons_dir, digest = snapshot_addon()
        print(f"# addon code snapshot {digest} in {args.addons_dir}", flush=True)
    ensure_db(
        args.db,
        args.template,
        args.odoo_root,
        with_addon=True,
        update=not args.no_update,
        addons_dir=args.addons_dir,
    )
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--worker",
        "--db",
        args.db,
        "--members",
        str(args.members),
        "--loads",
        str(args.loads),
        "--searches",
        str(args.searches),
        "--odoo-root",
        args.odoo_root,
        "--addons-dir",
        args.addons_dir,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    res = None
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            res = json.loads(line[len("RESULT ") :])
    if res is None:
        sys.stderr.write(proc.stdout[-5000:] + proc.stderr[-5000:])
        raise SystemExit("worker failed")
    (te, be, ce, pe) = res["empty"]
    (t0, b0, c0, p0), (t1, b1, c1, p1) = res["before"], res["after"]
    print(
        f"# till start, best of {args.loads}; {args.members} customers made "
        f"members in {res['insert_s']} s"
    )
    print(
        f"  empty shop       : {1000 * te:8.1f} ms, {be:10d} bytes, "
        f"{ce} cards, {pe} customers loaded"
    )
    print(
        f"  no member        : {1000 * t0:8.1f} ms, {b0:10d} bytes, "
        f"{c0} cards, {p0} customers loaded ({args.members} customers)"
    )
    print(
        f"  {args.members:>7} members  : {1000 * t1:8.1f} ms, {b1:10d} bytes, "
        f"{c1} cards, {p1} customers loaded "
        f"(pos_loyalty alone would preload {res['native_cards']} cards)"
    )
    dt, db_ = (t1 - t0) / t0, (b1 - b0) / b0
    print(
        f"  members vs none: time {100 * dt:+.1f}% "
        f"{_cli.verdict(dt <= LOAD_TARGET)}, "
        f"bytes {100 * db_:+.1f}% {_cli.verdict(db_ <= LOAD_TARGET)} "
        f"(target <= {100 * LOAD_TARGET:.0f}%)"
    )
    s = res["search"]
    ok = s["p95_ms"] <= SEARCH_TARGET_MS and not s["missed"]
    print(
        f"# member search + standing at {args.members} members, {s['n']} searches "
        f"(name, phone, email, card code"
        f"{', referral code' if s['referral'] else ''}): "
        f"p50 {s['p50_ms']:.1f} ms, p95 {s['p95_ms']:.1f} ms, "
        f"max {s['max_ms']:.1f} ms, "
        f"missed {s['missed']} {_cli.verdict(ok)} "
        f"(target <= {SEARCH_TARGET_MS} ms)",
        flush=True,
    )


if __name__ == "__main__":
    main()
