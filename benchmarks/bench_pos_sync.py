#!/usr/bin/env python3
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Till order sync with and without the loyalty ledger, side by side.

Target: 300 paid till orders of members, sent as pos_loyalty's browser code
sends them (``validate_coupon_programs`` when the payment is validated,
``sync_from_ui``, then ``confirm_coupon_programs``), cost at most 15% more
time than native pos_loyalty, and at most 10 more SQL queries per order.

Two databases are compared, built from the same template: one with the
dependencies only (native), one with ``loyalty_crm_addon`` too. Each
measurement runs in its own subprocess (its own registry) with the same
worker, in one transaction rolled back at the end, so the script can be
rerun. Each of the three calls is its own request (cache emptied between
them). Every member starts with 200 points; every third order spends 100 of
them on a reward (10.00 off). Per order, the ORM cache is flushed and emptied
before the timer starts, like a new request; 20 orders are a warm-up.
Each request ends as a real one does, with ``cr.flush()`` (the ORM's flush
and the pre-commit hooks). In the addon database the worker times the KPI
order-fact refreshes (kpi/order_facts.py: one set-based statement before
the transaction commits) of the counted orders: the share of the addon's
time that keeping the order facts costs.

Usage::

    ./dev bench bench_pos_sync
    python benchmarks/bench_pos_sync.py --native-db A --addon-db B --orders 300
"""

import argparse
import inspect
import json
import os
import statistics
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _cli  # noqa: E402
from bench_ledger import (  # noqa: E402
    ADDON,
    DEFAULT_ODOO,
    QUERY_TARGET,
    REPO,
    TIME_TARGET,
    _cpu_ns,
    _start_query_log,
    addons_path,
    ensure_db,
    snapshot_addon,
)


def _setup(env, total):
    """A till with an open session, a membership program, members with 200
    points each."""
    Config = env["pos.config"]
    journal, pm_ids = Config._create_journal_and_payment_methods()
    config = Config.create(
        {
            "name": "Bench Till",
            "journal_id": journal.id,
            "payment_method_ids": [(6, 0, pm_ids)],
        }
    )
    config.open_ui()
    cash = config.payment_method_ids.filtered("is_cash_count")[:1]
    products = env["product.product"].create(
        [
            {
                "name": f"Bench till product {i}",
                "list_price": 10.0 * (i + 1),
                "available_in_pos": True,
                "taxes_id": [(5, 0, 0)],
            }
            for i in range(3)
        ]
    )
    program = env["loyalty.program"].create(
        {
            "name": "Bench Till Membership",
            "program_type": "loyalty",
            "trigger": "auto",
            "applies_on": "both",
            "pos_ok": True,
            "pos_config_ids": [(4, config.id)],
            "rule_ids": [
                (5, 0, 0),
                (
                    0,
                    0,
                    {
                        "reward_point_mode": "money",
                        "reward_point_amount": 1,
                        "minimum_amount": 0,
                    },
                ),
            ],
            "reward_ids": [
                (5, 0, 0),
                (
                    0,
                    0,
                    {
                        "reward_type": "discount",
                        "discount_mode": "per_order",
                        "discount": 10,
                        "discount_applicability": "order",
                        "required_points": 100,
                    },
                ),
            ],
        }
    )
    if "loyalty_membership_program_id" in env.company._fields:
        env.company.loyalty_membership_program_id = program
    partners = env["res.partner"].create(
        [{"name": f"Bench Till Member {i}"} for i in range(total)]
    )
    if hasattr(env["res.partner"], "loyalty_adjust_points"):
        for partner in partners:
            partner.action_loyalty_enroll()
            partner.loyalty_adjust_points(200, "Bench")
    else:
        env["loyalty.card"].create(
            [
                {"program_id": program.id, "partner_id": p.id, "points": 200}
                for p in partners
            ]
        )
    cards = {
        card.partner_id: card
        for card in env["loyalty.card"].search([("program_id", "=", program.id)])
    }
    return config, cash, products, program, partners, cards


def _till_calls(config, cash, products, program, partner, card, spend):
    """What the till sends for one order: (validate args, validate kwargs,
    order data, confirm args)."""
    reward = program.reward_ids
    order_uuid = str(uuid.uuid4())
    lines = [
        (
            0,
            0,
            {
                "product_id": product.id,
                "qty": qty,
                "price_unit": product.list_price,
                "price_subtotal": product.list_price * qty,
                "price_subtotal_incl": product.list_price * qty,
                "tax_ids": [(6, 0, [])],
            },
        )
        for qty, product in enumerate(products, start=1)
    ]
    total = sum(line[2]["price_subtotal_incl"] for line in lines)
    won = total
    code = False
    if spend:
        code = uuid.uuid4().hex[:8]
        lines.append(
            (
                0,
                0,
                {
                    "product_id": reward.discount_line_product_id.id,
                    "qty": 1,
                    "price_unit": -10.0,
                    "price_subtotal": -10.0,
                    "price_subtotal_incl": -10.0,
                    "tax_ids": [(6, 0, [])],
                    "is_reward_line": True,
                    "reward_id": reward.id,
                    "coupon_id": card.id,
                    "points_cost": reward.required_points,
                    "reward_identifier_code": code,
                },
            )
        )
        total -= 10.0
    cost = reward.required_points if spend else 0.0
    order = {
        "amount_paid": total,
        "amount_return": 0,
        "amount_tax": 0,
        "amount_total": total,
        "date_order": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "fiscal_position_id": False,
        "pricelist_id": config.pricelist_id.id,
        "name": f"Order {order_uuid}",
        "last_order_preparation_change": "{}",
        "lines": lines,
        "partner_id": partner.id,
        "session_id": config.current_session_id.id,
        "sequence_number": 2,
        "payment_ids": [(0, 0, {"amount": total, "payment_method_id": cash.id})],
        "uuid": order_uuid,
        "user_id": config.env.uid,
        "to_invoice": False,
        "state": "paid",
    }
    validate = ({str(card.id): won - cost}, [])
    hold = {"uuid": order_uuid, "config_id": config.id, "spends": {}}
    if spend:
        hold["spends"][str(card.id)] = cost
    confirm = {
        str(card.id): {
            "points": won - cost,
            "program_id": program.id,
            "coupon_id": card.id,
            "barcode": False,
            "partner_id": partner.id,
            "line_codes": [code] if code else [],
        }
    }
    return validate, {"loyalty_hold": hold}, order, confirm


def worker(
    db, odoo_root, n_orders, n_warmup, addons_dir, dump_queries=False, lockstep=False
):
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
        addon = ADDON in env.registry._init_modules
        result["addon"] = addon
        env = env(user=env.ref("base.user_admin").id)
        t_setup = time.perf_counter()
        total = n_orders + n_warmup
        config, cash, products, program, partners, cards = _setup(env, total)
        calls = [
            _till_calls(
                config, cash, products, program, p, cards[p], spend=(i % 3 == 0)
            )
            for i, p in enumerate(partners)
        ]
        env.flush_all()
        result["setup_s"] = round(time.perf_counter() - t_setup, 2)
        cr.execute("SELECT pg_backend_pid()")
        backend = cr.fetchone()[0]
        times, queries, cpu = [], [], []
        PosOrder = env["pos.order"]
        # The addon's till sends its reservation with the payment validation.
        sends_hold = (
            "loyalty_hold"
            in inspect.signature(type(PosOrder).validate_coupon_programs).parameters
        )
        dump = None
        _cli.track_order_facts(cr)
        facts0 = _cli.order_facts_time(cr)
        turns = _cli.Lockstep(lockstep)
        turns.ready()
        for i, (validate, hold, order_data, confirm) in enumerate(calls):
            env.flush_all()
            env.invalidate_all()
            turns.wait()
            if dump_queries and i == n_warmup:
                dump = _start_query_log(cr)
            q0 = odoo.sql_db.sql_counter
            c0, b0 = _cpu_ns("self"), _cpu_ns(backend)
            t0 = time.perf_counter()
            res = PosOrder.validate_coupon_programs(
                *validate, **(hold if sends_hold else {})
            )
            assert res["successful"], res
            # Each call is its own request (it ends with the ORM's flush and
            # the pre-commit hooks).
            cr.flush()
            env.invalidate_all()
            synced = PosOrder.sync_from_ui([order_data])
            cr.flush()
            env.invalidate_all()
            order = PosOrder.browse(synced["pos.order"][0]["id"])
            order.confirm_coupon_programs(confirm)
            cr.flush()
            dt = time.perf_counter() - t0
            c1, b1 = _cpu_ns("self"), _cpu_ns(backend)
            if dump is not None and "execute" in vars(cr):
                del cr.execute
            if i >= n_warmup:
                times.append(dt)
                queries.append(odoo.sql_db.sql_counter - q0)
                cpu.append((c1 - c0 + b1 - b0) / 1e9)
            turns.done()
        env.invalidate_all()
        orders = PosOrder.search([("session_id", "=", config.current_session_id.id)])
        assert len(orders.filtered(lambda o: o.state == "paid")) == total
        facts1 = _cli.order_facts_time(cr)
        if facts1[1]:
            # Per counted order: the warm-up orders refreshed too.
            share = len(times) / len(calls)
            result["facts_ms"] = (facts1[0] - facts0[0]) * share
            result["facts_calls"] = (facts1[1] - facts0[1]) * share
        result.update(
            n=len(times),
            total_s=sum(times),
            ms_per_order=1000 * sum(times) / len(times),
            median_ms=1000 * statistics.median(times),
            queries_per_order=sum(queries) / len(queries),
            queries_min=min(queries),
            queries_max=max(queries),
            cpu_s=sum(cpu),
            card_points=sum(card.points for card in cards.values()),
        )
        if "loyalty.ledger.line" in env:
            result["ledger_lines"] = env["loyalty.ledger.line"].search_count(
                [("pos_order_id", "in", orders.ids)]
            )
        if dump:
            path = f"/tmp/bench_pos_sync_{db}_queries.sql"
            with open(path, "w") as fh:
                fh.write(";\n\n".join(dump) + ";\n")
            result["queries_dump"] = path
    finally:
        cr.rollback()
        cr.close()
    print("RESULT " + json.dumps(result), flush=True)


def worker_cmd(args, db, lockstep=False):
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--worker",
        "--db",
        db,
        "--orders",
        str(args.orders),
        "--warmup",
        str(args.warmup),
        "--odoo-root",
        args.odoo_root,
        "--addons-dir",
        args.addons_dir,
    ]
    if args.dump_queries:
        cmd.append("--dump-queries")
    if lockstep:
        cmd.append("--lockstep")
    return cmd


def main():
    parser = _cli.parser(__doc__)
    parser.add_argument("--native-db", default="lca_bench_pos_native")
    parser.add_argument("--addon-db", default="lca_bench_pos_addon")
    parser.add_argument("--odoo-root", default=DEFAULT_ODOO)
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="lockstep rounds (native and addon confirm orders in turns); "
        "the verdict is on the median of the rounds' ratios",
    )
    parser.add_argument("--no-update", action="store_true")
    parser.add_argument("--no-snapshot", action="store_true")
    parser.add_argument(
        "--dump-queries",
        action="store_true",
        help="write the SQL of the first counted order to /tmp",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--addons-dir", default=REPO, help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--lockstep", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        worker(
            args.db,
            args.odoo_root,
            args.orders,
            args.warmup,
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
        f"# {args.orders} till orders of members (3 products, a reward every "
        f"third order), warm-up {args.warmup}, rounds {args.rounds}",
        flush=True,
    )
    best = {}
    ratios = []
    for rnd in range(args.rounds):
        dbs = (("native", args.native_db), ("addon", args.addon_db))
        if rnd % 2:
            dbs = dbs[::-1]
        pair = _cli.lockstep_pair(
            {label: worker_cmd(args, db, lockstep=True) for label, db in dbs},
            args.orders + args.warmup,
        )
        ratios.append(pair["addon"]["cpu_s"] / pair["native"]["cpu_s"])
        for label, db in dbs:
            res = pair[label]
            print(
                f"  [round {rnd + 1}] {label:6} {db}: {res['total_s']:.2f} s, "
                f"{res['ms_per_order']:.1f} ms/order (median {res['median_ms']:.1f}), "
                f"CPU {res['cpu_s']:.2f} s, {res['queries_per_order']:.1f} "
                f"queries/order [{res['queries_min']}-{res['queries_max']}], "
                f"setup {res['setup_s']} s, card points {res['card_points']:.0f}"
                + (
                    f", ledger lines {res['ledger_lines']}"
                    if "ledger_lines" in res
                    else ""
                ),
                flush=True,
            )
            if res.get("queries_dump"):
                print(f"     -> {res['queries_dump']}", flush=True)
            mine = best.setdefault(label, {"res": res})
            for key in ("total_s", "cpu_s"):
                mine[key] = min(mine.get(key, res[key]), res[key])
    nat, add = best["native"], best["addon"]
    n = nat["res"]["n"]
    overhead = (add["total_s"] - nat["total_s"]) / nat["total_s"]
    # The verdict: the median of the lockstep rounds' ratios.
    cpu_overhead = statistics.median(ratios) - 1
    extra_q = add["res"]["queries_per_order"] - nat["res"]["queries_per_order"]
    print(
        f"== {n} paid till orders of members, best of {args.rounds} lockstep "
        f"round(s); CPU per round "
        + ", ".join(f"{100 * (r - 1):+.1f}%" for r in ratios)
        + "; the CPU verdict is their median"
    )
    print(f"   {'':22} {'native':>10} {'addon':>10} {'addon-native':>14}  target")
    print(
        f"   {'queries/order':22} {nat['res']['queries_per_order']:10.1f} "
        f"{add['res']['queries_per_order']:10.1f} {extra_q:+14.1f}  "
        f"<= +{QUERY_TARGET} {_cli.verdict(extra_q <= QUERY_TARGET)}"
    )
    print(
        f"   {'CPU s (worker + pg)':22} {nat['cpu_s']:10.2f} {add['cpu_s']:10.2f} "
        f"{100 * cpu_overhead:+13.1f}%  <= +{100 * TIME_TARGET:.0f}% "
        f"{_cli.verdict(cpu_overhead <= TIME_TARGET)}"
    )
    print(
        f"   {'CPU ms/order':22} {1000 * nat['cpu_s'] / n:10.1f} "
        f"{1000 * add['cpu_s'] / n:10.1f}"
    )
    print(
        f"   {'wall s':22} {nat['total_s']:10.2f} {add['total_s']:10.2f} "
        f"{100 * overhead:+13.1f}%  <= +{100 * TIME_TARGET:.0f}% "
        f"{_cli.verdict(overhead <= TIME_TARGET)} (a quiet machine's figure)"
    )
    print(
        f"   {'wall ms/order':22} {1000 * nat['total_s'] / n:10.1f} "
        f"{1000 * add['total_s'] / n:10.1f}",
        flush=True,
    )
    facts = _cli.facts_line(add["res"], add["total_s"], n)
    if facts:
        print(facts, flush=True)


if __name__ == "__main__":
    main()
