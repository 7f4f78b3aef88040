#!/usr/bin/env python3
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Sale confirmation with and without the loyalty ledger, side by side.

Target: confirming 500 sales orders of 5 lines for members costs at most 10%
more CPU than native sale_loyalty, and at most 10 more SQL queries per
confirmation.

Measured in lockstep pairs (three rounds by default): in each round the
native and the addon workers run at once, each sets up its data, then they
confirm their orders in turns, one order each, who goes first alternating
(``_cli.lockstep_pair``). Both meet the same machine at the same minute: on
this shared 2-core virtual machine the CPU time of the same work drifts by
up to a third from one minute to the next (identical native runs a minute
apart measured 89.9 and 119.5 ms per order), so two runs taken one after the
other, or the best of each side taken apart, compared the machine's
moments rather than the addon (single sequential pairs of the same code
gave -2.6% to +47%). The verdict is on the median of the rounds'
addon/native ratios; each round's ratio is printed.

Two scenarios are measured in each database:

* ``raw``: draft orders are confirmed as created. Native
  ``action_confirm`` calls ``_update_programs_and_rewards()`` itself, so the
  timed section includes the program computation.
* ``pre-updated``: ``_update_programs_and_rewards()`` is called on each draft
  order beforehand (not timed), as happens when a user opens the order /
  clicks "Promotions" before confirming; confirm still calls it again (cheaper,
  the point entries already exist).

Per order, the ORM cache is flushed and emptied and the order is browsed
alone (fresh prefetch set) before the timer starts, like a new request; the
timer covers ``action_confirm()`` plus the final ``cr.flush()`` (the ORM's
flush and the pre-commit hooks, as the end of a request runs them: mail
tracking, the addon's KPI order facts). 20 orders are confirmed first as a
warm-up and not counted.

Usage (from anywhere)::

    python benchmarks/bench_ledger.py                      # creates dbs from lca_base
    python benchmarks/bench_ledger.py --native-db A --addon-db B --orders 500

The exit code is 0 whatever the verdict: the figures are printed.
"""

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _cli  # noqa: E402
from _cli import (  # noqa: E402,F401 -- re-exported for the other scripts
    ADDON,
    HERE,
    REPO,
    addons_path,
    db_exists,
    ensure_db,
    module_state,
    odoo_bin,
    snapshot_addon,
)
from _cli import ODOO_SRC as DEFAULT_ODOO  # noqa: E402

TIME_TARGET = 0.10
QUERY_TARGET = 10


# ----------------------------------------------------------------------------
# Worker (subprocess: one registry, one transaction, rolled back)
# ----------------------------------------------------------------------------
def _cpu_ns(pid):
    """CPU time a process has run, in ns (/proc/PID/schedstat, first field)."""
    try:
        with open(f"/proc/{pid}/schedstat") as fh:
            return int(fh.read().split()[0])
    except OSError:
        return 0


def _start_query_log(cr):
    """Record the SQL ``cr`` runs, mogrified, until ``del cr.execute``."""
    dump = []
    orig = cr.execute

    def logged(query, params=None, log_exceptions=True):
        code, args = (
            (query.code, query.params) if hasattr(query, "code") else (query, params)
        )
        try:
            dump.append(cr._obj.mogrify(code, args).decode())
        except Exception:  # noqa: BLE001
            dump.append(f"{code} -- {args!r}")
        return orig(query, params, log_exceptions)

    cr.execute = logged
    return dump


def _enroll(env, program, partners):
    """Make the partners members, through the addon's API when it is there;
    returns how."""
    if hasattr(env["res.partner"], "action_loyalty_enroll"):
        for partner in partners:
            partner.action_loyalty_enroll()
        return "action_loyalty_enroll"
    env["loyalty.card"].create(
        [{"program_id": program.id, "partner_id": p.id, "points": 0} for p in partners]
    )
    return "loyalty.card.create"


def worker(
    db,
    odoo_root,
    n_orders,
    n_warmup,
    mode,
    product_type,
    profile,
    addons_dir,
    dump_queries=False,
    lockstep=False,
):
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
    result = {"db": db, "mode": mode}
    try:
        env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": False})
        result["addon"] = ADDON in env.registry._init_modules
        t_setup = time.perf_counter()
        product_vals = {"consu": {"type": "consu"}, "service": {"type": "service"}}
        products = env["product.product"].create(
            [
                {
                    "name": f"Bench product {i}",
                    "list_price": 10.0 * (i + 1),
                    "sale_ok": True,
                    **product_vals[product_type],
                }
                for i in range(5)
            ]
        )
        program = env["loyalty.program"].create(
            {
                "name": "Bench Membership",
                "program_type": "loyalty",
                "trigger": "auto",
                "applies_on": "both",
                "rule_ids": [
                    (
                        0,
                        0,
                        {
                            "mode": "auto",
                            "reward_point_mode": "money",
                            "reward_point_amount": 1,
                            "minimum_amount": 0,
                            "minimum_qty": 0,
                        },
                    )
                ],
                "reward_ids": [
                    (
                        0,
                        0,
                        {
                            "reward_type": "discount",
                            "discount": 10,
                            "discount_mode": "percent",
                            "discount_applicability": "order",
                            "required_points": 1000,
                        },
                    )
                ],
            }
        )
        assert len(program.rule_ids) == 1 and len(program.reward_ids) == 1, (
            "program defaults"
        )
        assert program.rule_ids.reward_point_mode == "money"
        if "loyalty_membership_program_id" in env.company._fields:
            env.company.loyalty_membership_program_id = program
        total = n_orders + n_warmup
        partners = env["res.partner"].create(
            [
                {"name": f"Bench Member {i}", "email": f"member{i}@bench.example"}
                for i in range(total)
            ]
        )
        result["enroll"] = _enroll(env, program, partners)
        cards = env["loyalty.card"].search([("program_id", "=", program.id)])
        assert len(cards) == total, (len(cards), total)
        orders = env["sale.order"].create(
            [
                {
                    "partner_id": partner.id,
                    "order_line": [
                        (0, 0, {"product_id": product.id, "product_uom_qty": q + 1})
                        for q, product in enumerate(products)
                    ],
                }
                for partner in partners
            ]
        )
        env.flush_all()
        if mode == "pre-updated":
            for order_id in orders.ids:
                env.invalidate_all()
                env["sale.order"].browse(order_id)._update_programs_and_rewards()
                env.flush_all()
        result["setup_s"] = round(time.perf_counter() - t_setup, 2)

        order_ids = orders.ids
        gc_time = _cli.GcTimer()
        _cli.track_order_facts(cr)
        facts0 = _cli.order_facts_time(cr)
        cr.execute("SELECT pg_backend_pid()")
        backend = cr.fetchone()[0]
        times, queries, cpu_py, cpu_pg = [], [], [], []
        dump = None
        prof = None
        if profile:
            import cProfile

            prof = cProfile.Profile()
        turns = _cli.Lockstep(lockstep)
        turns.ready()
        for i, order_id in enumerate(order_ids):
            env.flush_all()
            env.invalidate_all()
            order = env["sale.order"].browse(order_id)
            turns.wait()
            counted = i >= n_warmup
            if counted and prof:
                prof.enable()
            if dump_queries and i == n_warmup:
                dump = _start_query_log(cr)
            q0 = odoo.sql_db.sql_counter
            c0, b0 = _cpu_ns("self"), _cpu_ns(backend)
            t0 = time.perf_counter()
            gc_time.start(counted)
            order.action_confirm()
            # The end of the request: ORM flush and pre-commit hooks.
            cr.flush()
            gc_time.stop()
            dt = time.perf_counter() - t0
            c1, b1 = _cpu_ns("self"), _cpu_ns(backend)
            dq = odoo.sql_db.sql_counter - q0
            if dump is not None and "execute" in vars(cr):
                del cr.execute
            if counted and prof:
                prof.disable()
            if counted:
                times.append(dt)
                queries.append(dq)
                cpu_py.append((c1 - c0) / 1e9)
                cpu_pg.append((b1 - b0) / 1e9)
            turns.done()
        facts1 = _cli.order_facts_time(cr)
        if result["addon"]:
            # Per counted order: the warm-up orders refreshed too.
            share = len(times) / len(order_ids)
            result["facts_ms"] = (facts1[0] - facts0[0]) * share
            result["facts_calls"] = (facts1[1] - facts0[1]) * share
        # sanity: every order confirmed, points given
        env.invalidate_all()
        confirmed = (
            env["sale.order"].browse(order_ids).filtered(lambda o: o.state == "sale")
        )
        assert len(confirmed) == total, "not all orders confirmed"
        points = sum(cards.mapped("points"))
        result.update(
            n=len(times),
            total_s=sum(times),
            ms_per_order=1000 * sum(times) / len(times),
            median_ms=1000 * statistics.median(times),
            p95_ms=1000 * sorted(times)[int(0.95 * (len(times) - 1))],
            queries_per_order=sum(queries) / len(queries),
            queries_min=min(queries),
            queries_max=max(queries),
            cpu_s=sum(cpu_py) + sum(cpu_pg),
            cpu_py_s=sum(cpu_py),
            cpu_pg_s=sum(cpu_pg),
            gc_s=gc_time.seconds,
            gc_runs=gc_time.runs,
            first100_ms=1000 * statistics.mean(times[:100]),
            last100_ms=1000 * statistics.mean(times[-100:]),
            card_points=points,
        )
        if "loyalty.ledger.line" in env:
            lines = env["loyalty.ledger.line"].search_count(
                [("sale_order_id", "in", order_ids)]
            )
            result["ledger_lines"] = lines
        if dump:
            path = f"/tmp/bench_ledger_{db}_{mode}_queries.sql"
            with open(path, "w") as fh:
                fh.write(";\n\n".join(dump) + ";\n")
            result["queries_dump"] = path
        if prof:
            path = f"/tmp/bench_ledger_{db}_{mode}.prof"
            prof.dump_stats(path)
            result["profile"] = path
    finally:
        cr.rollback()
        cr.close()
    print("RESULT " + json.dumps(result), flush=True)


def worker_cmd(args, db, mode, lockstep=False):
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--worker",
        "--db",
        db,
        "--mode",
        mode,
        "--orders",
        str(args.orders),
        "--warmup",
        str(args.warmup),
        "--product-type",
        args.product_type,
        "--odoo-root",
        args.odoo_root,
        "--addons-dir",
        args.addons_dir,
    ]
    if args.profile:
        cmd.append("--profile")
    if args.dump_queries:
        cmd.append("--dump-queries")
    if lockstep:
        cmd.append("--lockstep")
    return cmd


def main():
    parser = _cli.parser(__doc__)
    parser.add_argument("--native-db", default="lca_bench_native")
    parser.add_argument("--addon-db", default="lca_bench_addon")
    parser.add_argument("--odoo-root", default=DEFAULT_ODOO)
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="paired native/addon rounds (who goes first alternates); the "
        "verdict is on the median of the rounds' ratios",
    )
    parser.add_argument("--modes", default="raw,pre-updated")
    parser.add_argument(
        "--product-type",
        choices=["consu", "service"],
        default="consu",
        help="consu: goods, sale_stock makes a delivery per order",
    )
    parser.add_argument(
        "--no-update",
        action="store_true",
        help="do not run -u on an existing addon db first",
    )
    parser.add_argument(
        "--dump-queries",
        action="store_true",
        help="write the SQL of the first counted confirmation to /tmp",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile the counted confirmations (/tmp/bench_ledger_*.prof)",
    )
    # worker-only
    parser.add_argument(
        "--no-snapshot",
        action="store_true",
        help="use the addon in place instead of a scratch copy",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--addons-dir", default=REPO, help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    parser.add_argument("--lockstep", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        worker(
            args.db,
            args.odoo_root,
            args.orders,
            args.warmup,
            args.mode,
            args.product_type,
            args.profile,
            args.addons_dir,
            args.dump_queries,
            args.lockstep,
        )
        return

    if not args.no_snapshot:
        args.addons_dir, digest = snapshot_addon()
        print(f"# addon code snapshot {digest} in {args.addons_dir}", flush=True)
    ensure_db(args.native_db, args.template, args.odoo_root, with_addon=False)
    ensure_db(
        args.addon_db,
        args.template,
        args.odoo_root,
        with_addon=True,
        update=not args.no_update,
        addons_dir=args.addons_dir,
    )
    print(
        f"# {args.orders} orders x 5 lines ({args.product_type}), "
        f"warm-up {args.warmup}, "
        f"{os.cpu_count()} CPUs, rounds {args.rounds}",
        flush=True,
    )
    for mode in args.modes.split(","):
        best, ratios = {}, []
        for rnd in range(args.rounds):
            # Who goes first alternates: a machine that is busier during one
            # half of a round (autovacuum after the addon's update, a
            # neighbour's job) weighs on both sides alike over the rounds.
            order = (("native", args.native_db), ("addon", args.addon_db))
            if rnd % 2:
                order = order[::-1]
            pair = _cli.lockstep_pair(
                {
                    label: worker_cmd(args, db, mode, lockstep=True)
                    for label, db in order
                },
                args.orders + args.warmup,
            )
            for label, db in order:
                res = pair[label]
                print(
                    f"  [{mode} round {rnd + 1}] {label:6} {db}: "
                    f"{res['total_s']:.2f} s wall, {res['ms_per_order']:.1f} ms/order "
                    f"(median {res['median_ms']:.1f}, p95 {res['p95_ms']:.1f}, "
                    f"first/last 100: {res['first100_ms']:.0f}/"
                    f"{res['last100_ms']:.0f}), "
                    f"CPU {res['cpu_s']:.2f} s (python {res['cpu_py_s']:.2f} + "
                    f"postgres {res['cpu_pg_s']:.2f}), "
                    f"garbage collection {res['gc_s']:.2f} s "
                    f"({res['gc_runs']} runs), "
                    f"{res['queries_per_order']:.1f} queries/order "
                    f"[{res['queries_min']}-{res['queries_max']}], "
                    f"setup {res['setup_s']} s"
                    + (
                        f", ledger lines {res['ledger_lines']}"
                        if "ledger_lines" in res
                        else ""
                    ),
                    flush=True,
                )
                for extra in (res.get("queries_dump"), res.get("profile")):
                    if extra:
                        print(f"     -> {extra}", flush=True)
                mine = best.setdefault(label, {"res": res})
                for key in ("total_s", "cpu_s"):
                    mine[key] = min(mine.get(key, res[key]), res[key])
            ratio = {
                key: pair["addon"][key] / pair["native"][key]
                for key in ("total_s", "cpu_s")
            }
            ratios.append(ratio)
            print(
                f"  [{mode} round {rnd + 1}] addon/native: wall "
                f"{100 * (ratio['total_s'] - 1):+.1f}%, CPU "
                f"{100 * (ratio['cpu_s'] - 1):+.1f}%",
                flush=True,
            )
        nat, add = best["native"], best["addon"]
        n = nat["res"]["n"]
        overhead = statistics.median(r["total_s"] for r in ratios) - 1
        cpu_overhead = statistics.median(r["cpu_s"] for r in ratios) - 1
        spread = [100 * (r["cpu_s"] - 1) for r in ratios]
        extra_q = add["res"]["queries_per_order"] - nat["res"]["queries_per_order"]
        for label, fig in (("native", nat), ("addon", add)):
            print(
                f"== {mode} {label:6} (best of {args.rounds}): "
                f"{fig['total_s']:.2f} s wall, "
                f"{1000 * fig['total_s'] / n:.1f} ms/order, CPU {fig['cpu_s']:.2f} s, "
                f"{fig['res']['queries_per_order']:.1f} queries/order"
            )
        print(
            f"   overhead (median of {len(ratios)} paired rounds) wall "
            f"{100 * overhead:+.1f}%: {_cli.verdict(overhead <= TIME_TARGET)}, "
            f"CPU {100 * cpu_overhead:+.1f}%: "
            f"{_cli.verdict(cpu_overhead <= TIME_TARGET)} "
            f"(target <= {100 * TIME_TARGET:.0f}%; CPU per round "
            f"{', '.join(f'{x:+.1f}%' for x in spread)})"
        )
        print(
            f"   extra queries/order {extra_q:+.1f} (target <= {QUERY_TARGET}): "
            f"{_cli.verdict(extra_q <= QUERY_TARGET)}",
            flush=True,
        )
        facts = _cli.facts_line(add["res"], add["res"]["total_s"], n)
        if facts:
            print(facts, flush=True)


if __name__ == "__main__":
    main()
