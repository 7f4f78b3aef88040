#!/usr/bin/env python3
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""KPIs, reports, dashboard and the segment/churn cron at scale.

Targets (1,000,000 members): every report and dashboard query and
``get_loyalty_kpis`` in at most 2 s, the segment/churn cron
(``ir_cron_loyalty_segments``) over 1,000,000 members in at most 60 s.

The script builds its own database (``--db``, default ``lca_bench_kpi``)
from ``--template`` (a db with the addon's dependencies, default
``lca_base``, which ``./dev bench`` builds), installs or updates the addon
in it, then fills it set-based
(``INSERT ... SELECT generate_series``) and commits the fixture, so a
second run reuses it (``--rebuild`` to start again):

* ``--members`` partners with a membership card (default 100,000; the
  targets are stated at ``--members 1000000``, built in minutes) in a
  program with three tiers, enrolled over the last 1,000 days, and a fifth
  as many customers who are not members;
* ``--lines`` ledger lines per member (default 10: earn, redeem, reversal
  and expire lines over two years), card balances equal to their lines;
* ``--orders`` orders (default 2,000,000: 80 % confirmed sales orders, 20 %
  paid POS orders) over two years, each member buying at a rhythm of their
  own, some of them lapsed;
* 24 monthly snapshots of the members per tier and segment.

Measurements (each rolled back): ``get_loyalty_kpis`` over the last year
and the last month, the dashboard data, the three reports' grouped reads as
their graph and pivot views ask them, then the segment cron (first run, an
idempotent second run, and a run dated the next day).

Usage::

    ./dev bench bench_kpi                       # 100,000 members
    ./dev bench bench_kpi --members 1000000 --db lca_bench_kpi_1m
    ./dev bench bench_kpi --db COPY_OF_A_DATAGEN_DB --existing --no-update

Each figure is printed with its wall time, the CPU seconds of this process
(the Odoo server side) and of the PostgreSQL backend, the rows read and the
target.
"""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _cli  # noqa: E402

ODOO_SRC = _cli.ODOO_SRC
sys.path.insert(0, ODOO_SRC)
TARGET_REPORT_S = 2.0
TARGET_CRON_S = 60.0
VACUUMED = (
    "loyalty_ledger_line",
    "loyalty_card",
    "res_partner",
    "sale_order",
    "pos_order",
)

FIXTURE_SQL = """
CREATE TEMP TABLE bench_ids (id int, n int);
WITH p AS (
    INSERT INTO res_partner (name, complete_name, active, autopost_bills, type,
                             is_company, create_date, write_date)
    SELECT 'Bench customer ' || g, 'Bench customer ' || g, true, 'ask',
           'contact', false, now(), now()
      FROM generate_series(1, %(customers)s) g
    RETURNING id
)
INSERT INTO bench_ids SELECT id, row_number() OVER (ORDER BY id) FROM p;
UPDATE res_partner p SET commercial_partner_id = p.id
  FROM bench_ids b WHERE b.id = p.id;
CREATE TEMP TABLE bench_members AS
SELECT b.n, b.id AS partner_id,
       (hashtext('age' || b.n) & 2147483647) %% 1000 AS age,
       3 + (hashtext('gap' || b.n) & 2147483647) %% 120 AS gap,
       (hashtext('lapse' || b.n) & 2147483647) %% 4 = 0 AS lapsed
  FROM bench_ids b WHERE b.n <= %(members)s;
WITH c AS (
    INSERT INTO loyalty_card (program_id, company_id, partner_id, code, points,
                              active, loyalty_tier_id, create_date, write_date)
    SELECT %(program)s, %(company)s, partner_id, 'bench-kpi-' || n, 0, true,
           (%(tiers)s::int[])[1 + (hashtext('tier' || n) & 2147483647) %% 4],
           now() - make_interval(days => age), now()
      FROM bench_members ORDER BY n
    RETURNING id, partner_id
)
SELECT 1;
CREATE TEMP TABLE bench_cards AS
SELECT c.id AS card_id, m.* FROM loyalty_card c
  JOIN bench_members m ON m.partner_id = c.partner_id
 WHERE c.program_id = %(program)s;
INSERT INTO loyalty_ledger_line (card_id, program_id, partner_id, company_id, date,
       entry_type, points, points_residual, state, source, tier_qualifying,
       multiplier, create_date, write_date)
SELECT card_id, %(program)s, partner_id, %(company)s,
       now() - make_interval(
           days => (hashtext(card_id || '-' || k) & 2147483647) %% 730,
                             secs => k),
       t.entry_type, t.points, GREATEST(t.points, 0), 'posted',
       CASE WHEN k %% 3 = 0 THEN 'pos' ELSE 'sale' END,
       t.entry_type = 'earn' OR (t.entry_type = 'reversal' AND t.points < 0),
       1, now(), now()
  FROM bench_cards CROSS JOIN generate_series(1, %(lines)s) k
 CROSS JOIN LATERAL (
       SELECT CASE k %% 10 WHEN 3 THEN 'redeem' WHEN 7 THEN 'redeem'
                           WHEN 9 THEN 'reversal' WHEN 0 THEN 'expire'
                           ELSE 'earn' END AS entry_type,
              CASE k %% 10 WHEN 3 THEN -20 WHEN 7 THEN -20 WHEN 9 THEN -10
                           WHEN 0 THEN -5 ELSE 30 + k END AS points
 ) t;
UPDATE loyalty_card c SET points = s.points
  FROM (SELECT card_id, SUM(points) AS points FROM loyalty_ledger_line
         WHERE program_id = %(program)s GROUP BY card_id) s
 WHERE s.card_id = c.id;
UPDATE res_partner p SET loyalty_last_activity_date = s.last
  FROM (SELECT partner_id, MAX(date)::date AS last FROM loyalty_ledger_line
         WHERE program_id = %(program)s AND entry_type IN ('earn', 'redeem')
         GROUP BY partner_id) s
 WHERE s.partner_id = p.id;
-- Orders of random customers (members and not) over two years; lapsed
-- members stopped buying 1-3 of their rhythms ago.
CREATE TEMP TABLE bench_orders AS
SELECT g AS n, b.id AS partner_id,
       now() - make_interval(
           days => LEAST(729, COALESCE(CASE WHEN m.lapsed THEN m.gap * (1 + g %% 3)
                                       END, 0)
                         + (hashtext('d' || g) & 2147483647) %% 730),
           secs => g %% 86400) AS date,
       10 + (hashtext('amount' || g) & 2147483647) %% 300 AS amount
  FROM generate_series(0, %(orders)s - 1) g
  JOIN bench_ids b ON b.n = 1 + (hashtext('c' || g) & 2147483647) %% %(customers)s
  LEFT JOIN bench_members m ON m.n = b.n;
INSERT INTO sale_order (name, partner_id, partner_invoice_id, partner_shipping_id,
       company_id, date_order, state, picking_policy, amount_untaxed, amount_tax,
       amount_total, create_date, write_date)
SELECT 'BENCH/' || n, partner_id, partner_id, partner_id, %(company)s, date,
       'sale', 'direct', amount, 0, amount, now(), now()
  FROM bench_orders WHERE n %% 5 <> 0;
INSERT INTO pos_order (name, partner_id, company_id, session_id, date_order, state,
       amount_tax, amount_total, amount_paid, amount_return, create_date, write_date)
SELECT 'BENCH-POS/' || n, partner_id, %(company)s, %(session)s, date, 'paid',
       0, amount, amount, 0, now(), now()
  FROM bench_orders WHERE n %% 5 = 0;
INSERT INTO loyalty_report_tier_snapshot (month, program_id, company_id, tier_id,
       segment, member_count, create_date, write_date)
SELECT (date_trunc('month', now()) - make_interval(months => m))::date,
       %(program)s, %(company)s, t, s, 1000 + m * 10 + length(s), now(), now()
  FROM generate_series(1, 24) m, unnest(%(tiers)s::int[]) t,
       unnest(ARRAY['new', 'active', 'at_risk', 'inactive']) s;
"""


def ensure_db(args):
    exists = subprocess.run(
        ["psql", "-lqt"], capture_output=True, text=True, check=True
    ).stdout
    names = {line.split("|")[0].strip() for line in exists.splitlines()}
    if args.rebuild and args.db in names:
        subprocess.run(["dropdb", args.db], check=True)
        names.discard(args.db)
    option = "-u"
    if args.db not in names:
        print(f"creating {args.db} from {args.template}", flush=True)
        subprocess.run(["createdb", "-T", args.template, args.db], check=True)
        option = "-i"
    if option == "-i" or not args.no_update:
        print("installing the addon" if option == "-i" else "updating the addon")
        subprocess.run(
            [
                sys.executable,
                os.path.join(ODOO_SRC, "odoo-bin"),
                "-d",
                args.db,
                f"--addons-path={args.addons}",
                option,
                "loyalty_crm_addon",
                "--stop-after-init",
                "--no-http",
                "--max-cron-threads=0",
                "--log-level=warn",
            ],
            check=True,
        )


def build_fixture(env, args):
    ICP = env["ir.config_parameter"]
    key = f"{args.members}/{args.lines}/{args.orders}"
    if ICP.get_param("bench_kpi.fixture") == key:
        program = env["loyalty.program"].browse(int(ICP.get_param("bench_kpi.program")))
        print(f"fixture {key} found, reused", flush=True)
        return program
    t0 = time.perf_counter()
    program = env["loyalty.program"].create(
        {
            "name": "Bench KPI",
            "program_type": "loyalty",
            "loyalty_point_value": 0.01,
            "company_id": env.company.id,
        }
    )
    tiers = env["loyalty.tier"].create(
        [
            {"name": n, "program_id": program.id, "sequence": i, "threshold": t}
            for i, (n, t) in enumerate(
                (("Silver", 100), ("Gold", 300), ("Platinum", 900))
            )
        ]
    )
    env.company.loyalty_membership_program_id = program
    env.flush_all()
    cr = env.cr
    cr.execute("SELECT id FROM stock_picking_type ORDER BY id LIMIT 1")
    picking_type = cr.fetchone()[0]
    cr.execute(
        """
        INSERT INTO pos_config (name, company_id, picking_type_id, iface_tax_included,
                                picking_policy, active)
        VALUES ('Bench', %s, %s, 'subtotal', 'direct', true) RETURNING id
        """,
        [env.company.id, picking_type],
    )
    config = cr.fetchone()[0]
    cr.execute(
        """
        INSERT INTO pos_session (config_id, user_id, name, state)
        VALUES (%s, %s, 'BENCH', 'closed') RETURNING id
        """,
        [config, env.uid],
    )
    session = cr.fetchone()[0]
    cr.execute(
        FIXTURE_SQL,
        {
            "customers": args.members + args.members // 5,
            "members": args.members,
            "program": program.id,
            "company": env.company.id,
            "tiers": [None] + tiers.ids,
            "lines": args.lines,
            "orders": args.orders,
            "session": session,
        },
    )
    # Orders and cards written in SQL: the KPI order facts are built again
    # before the fixture commits (kpi/order_facts.py).
    env["loyalty.kpi.order"]._touch(everything=True)
    ICP.set_param("bench_kpi.fixture", key)
    ICP.set_param("bench_kpi.program", str(program.id))
    t1 = time.perf_counter()
    env.cr.commit()
    print(f"  KPI order facts built in {time.perf_counter() - t1:.0f}s", flush=True)
    print(f"fixture {key} built in {time.perf_counter() - t0:.0f}s", flush=True)
    return program


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CURSOR = {}


def _pg_cpu():
    """CPU seconds of the database backend serving the benchmark's cursor
    (None when PostgreSQL runs on another host)."""
    pid = CURSOR.get("pid")
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _rows_read():
    """Rows the transaction read so far: sequential scan rows plus index
    fetches of heap rows (index-only scans are not counted)."""
    cr = CURSOR["cr"]
    cr.execute(
        "SELECT COALESCE(SUM(seq_tup_read + COALESCE(idx_tup_fetch, 0)), 0)"
        " FROM pg_stat_xact_user_tables"
    )
    return int(cr.fetchone()[0])


def timed(label, fn, target=TARGET_REPORT_S):
    """Run ``fn`` and print its wall time against the target, with the CPU
    seconds of the server (this process) and of PostgreSQL, and the rows
    read: on a loaded machine, the CPU figures are the honest ones."""
    rows0 = _rows_read() if "cr" in CURSOR else 0
    pg0 = _pg_cpu()
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    pg1 = _pg_cpu()
    pg = f"{pg1 - pg0:6.2f}" if pg0 is not None and pg1 is not None else "   n/a"
    rows = _rows_read() - rows0 if "cr" in CURSOR else 0
    verdict = _cli.verdict(elapsed <= target)
    print(
        f"{label:<52} wall {elapsed:7.2f}s  cpu py {cpu:6.2f}s pg {pg}s "
        f"rows {rows:>10,}  {verdict} target <= {target:.0f}s",
        flush=True,
    )
    return result


def measure(env, program, args):
    from odoo import fields

    today = fields.Date.context_today(program)
    year_ago = fields.Date.subtract(today, days=364)
    month_ago = fields.Date.subtract(today, days=29)
    Program = env["loyalty.program"]
    for label, start in (("last year", year_ago), ("last month", month_ago)):
        kpis = timed(
            f"get_loyalty_kpis, {label}",
            lambda s=start: program.get_loyalty_kpis(str(s), str(today)),
        )
        scope = program._loyalty_kpi_scope(start, today)
        engine = env["loyalty.kpi.engine"]
        for part in ("members", "orders", "second_purchase", "points"):
            method = getattr(engine, f"_{part}_kpis")
            timed(f"  of which {part}", lambda m=method, s=scope: m(s))
        print(f"  {kpis}", flush=True)
        for channel in ("sale", "pos"):
            timed(
                f"dashboard data, {label}, channel {channel}",
                lambda s=start, c=channel: Program.get_loyalty_dashboard_data(
                    program.id, str(s), str(today), channel=c
                ),
            )
        timed(
            f"dashboard data, {label}, both channels",
            lambda s=start: Program.get_loyalty_dashboard_data(
                program.id, str(s), str(today)
            ),
        )
    since = fields.Datetime.to_datetime(year_ago)
    Order = env["loyalty.report.order"]
    timed(
        "report Member Revenue: graph month x member, 1 year",
        lambda: Order.read_group(
            [("date", ">=", since)],
            ["amount:sum"],
            ["date:month", "is_member"],
            lazy=False,
        ),
    )
    timed(
        "report Member Revenue: pivot month x channel, 1 year",
        lambda: Order.read_group(
            [("date", ">=", since)],
            ["amount:sum", "order_count:sum"],
            ["date:month", "channel"],
            lazy=False,
        ),
    )
    Points = env["loyalty.report.points"]
    timed(
        "report Points: graph by month, 1 year",
        lambda: Points.read_group(
            [("date", ">=", since)],
            ["points_issued:sum", "points_redeemed:sum"],
            ["date:month"],
        ),
    )
    Snapshot = env["loyalty.report.tier.snapshot"]
    timed(
        "report Members per Tier: graph month x tier",
        lambda: Snapshot.read_group(
            [], ["member_count:sum"], ["month:month", "tier_id"], lazy=False
        ),
    )
    env.cr.rollback()
    Partner = env["res.partner"]
    seen, changed = timed(
        f"segment/churn cron, {args.members:,} members",
        lambda: Partner._cron_loyalty_segments(),
        TARGET_CRON_S,
    )
    print(f"  {seen:,} members scored, {changed:,} changed", flush=True)
    env.cr.execute(
        "SELECT segment, COUNT(*), ROUND(AVG(churn_score))"
        " FROM loyalty_member_score GROUP BY 1 ORDER BY 1"
    )
    print(f"  segments: {env.cr.fetchall()}", flush=True)
    _seen, again = timed(
        "segment/churn cron, second run", Partner._cron_loyalty_segments, TARGET_CRON_S
    )
    print(f"  second run changed {again} (idempotent: {again == 0})", flush=True)
    # The daily run: a day later, scores that moved with recency are written.
    tomorrow = fields.Date.add(fields.Date.context_today(Partner), days=1)
    _seen, moved = timed(
        "segment/churn cron, the next day",
        lambda: env["loyalty.member.score"]._score_members(
            tomorrow, Partner._loyalty_churn_texts()
        ),
        TARGET_CRON_S,
    )
    print(f"  the next day changed {moved:,}", flush=True)
    env.cr.rollback()


def main():
    parser = _cli.parser(__doc__)
    parser.add_argument("--db", default="lca_bench_kpi")
    parser.add_argument(
        "--members",
        type=int,
        default=100_000,
        help="default 100,000; the target is stated at 1000000 (builds in minutes)",
    )
    parser.add_argument("--lines", type=int, default=10, help="ledger lines per member")
    parser.add_argument("--orders", type=int, default=None, help="default 2 per member")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument(
        "--existing",
        action="store_true",
        help="measure --db as it is (e.g. a copy of a bench_datagen database, "
        "addon updated): no fixture, the company's membership program",
    )
    parser.add_argument("--no-update", action="store_true")
    args = parser.parse_args()
    args.orders = args.orders or 2 * args.members
    args.addons = _cli.addons_path()
    ensure_db(args)
    # A bulk-loaded table has no visibility map yet: index-only scans would
    # read the heap anyway (autovacuum does this on a live database).
    subprocess.run(
        ["vacuumdb", "--analyze", "--quiet", "-d", args.db]
        + [f"--table={t}" for t in VACUUMED],
        check=True,
    )

    from odoo import SUPERUSER_ID, api

    registry = _cli.registry(args.db)
    if not args.existing:
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            build_fixture(env, args)
            cr.commit()
    subprocess.run(
        ["vacuumdb", "--analyze", "--quiet", "-d", args.db]
        + [f"--table={t}" for t in VACUUMED],
        check=True,
    )
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        # The KPI aggregate is folded by its cron (hourly): fold what the
        # fixture posted, then once more (nothing new: the hourly cost).
        Points = env["loyalty.report.points"]
        timed(
            "fold ledger into the daily aggregate (first)",
            Points._cron_fold_kpi,
            TARGET_CRON_S,
        )
        timed("fold ledger into the daily aggregate (again)", Points._cron_fold_kpi)
        cr.commit()
        cr.execute("SELECT pg_backend_pid()")
        CURSOR.update(cr=cr, pid=cr.fetchone()[0])
        if args.existing:
            program = env.company.loyalty_membership_program_id
            cr.execute(
                "SELECT COUNT(*) FROM loyalty_card WHERE program_id = %s", [program.id]
            )
            args.members = cr.fetchone()[0]
        else:
            program = env["loyalty.program"].browse(
                int(env["ir.config_parameter"].get_param("bench_kpi.program"))
            )
        measure(env, program, args)


if __name__ == "__main__":
    main()
