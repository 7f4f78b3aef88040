# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Synthetic loyalty data at scale, loaded set-based.

``generate(env, members)`` writes, in the transaction of ``env`` (the caller
commits):

* a membership program "Datagen Club" (points valid 365 days, 30 pending
  days, tier window 365 days, inactive after 90 days, no tier grace) with
  tiers Silver (500), Gold (1,000) and Platinum (1,500), set as the company's
  membership program unless ``set_company_program=False``;
* ``members`` partners (``res_partner``), each with a card of that program
  (``loyalty_card``) in the tier their qualifying points give;
* 10 ledger lines per member (``loyalty_ledger_line``): 6 posted ``earn``
  lots, one ``pending`` earn, one ``redeem`` and one ``expire`` that consumed
  the oldest lot, one ``reversal`` of part of a lot. ``points_residual`` of
  every lot is what is left of it, and the card's points are the sum of its
  posted lines (the ledger's invariant), checked at the end;
* one confirmed ``sale_order`` and one paid ``pos_order`` per member (the
  ledger's two latest lots came from them), and ``non_member_share`` of
  ``members`` customers without a card with two sale orders each, for the
  KPI queries.

Work left for the scheduled actions (each a share of the members, so the
work grows with them): one member in ``expire_due_every`` has a lot past its
expiry date, one in ``release_due_every`` a pending lot due for release, one
in ``stale_every`` sits in a tier above what their points give (a downgrade
for the tier review), one in ``inactive_every`` has not earned nor redeemed
for more than 90 days. ``0`` disables one.

Everything is ``INSERT ... SELECT`` over ``generate_series`` with ids
reserved from the tables' sequences up front, foreign-key triggers off
(``session_replication_role = replica``: the generator writes consistent
keys) and, for big loads, secondary indexes dropped and rebuilt after the
load in the same transaction. Program, tiers and the POS shop go through the
ORM.

The CLI is ``benchmarks/bench_datagen.py`` (``./dev bench bench_datagen``).
"""

import json
import time

MARKER_KEY = "loyalty_crm_addon.bench_datagen"
TIERS = (("Silver", 500), ("Gold", 1000), ("Platinum", 1500))
LINES_PER_MEMBER = 10
DROP_INDEXES_FROM = 50_000
BIG_TABLES = (
    "loyalty_ledger_line",
    "res_partner",
    "loyalty_card",
    "sale_order",
    "pos_order",
)


def _flag(column, every, offset):
    """SQL boolean: one member in ``every`` (``offset`` picks which one)."""
    if not every:
        return "false"
    return f"({column} %% {int(every)} = {int(offset) % int(every)})"


def _reserve_ids(cr, table, count):
    """First of ``count`` consecutive ids taken from ``table``'s sequence."""
    cr.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    seq = cr.fetchone()[0]
    cr.execute("SELECT nextval(%s)", [seq])
    first = cr.fetchone()[0]
    if count > 1:
        cr.execute("SELECT setval(%s, %s)", [seq, first + count - 1])
    return first


def _drop_indexes(cr, tables):
    """Drop the secondary indexes of ``tables`` (not those of primary keys or
    constraints); returns the statements that rebuild them."""
    cr.execute(
        """
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
          FROM pg_index i
         WHERE i.indrelid = ANY(%s::regclass[])
           AND NOT i.indisprimary
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                            WHERE c.conindid = i.indexrelid)
        """,
        [list(tables)],
    )
    rows = cr.fetchall()
    for name, _definition in rows:
        cr.execute(f"DROP INDEX {name}")
    return [definition for _name, definition in rows]


def _columns(cr, table):
    cr.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s",
        [table],
    )
    return {row[0] for row in cr.fetchall()}


def _insert(cr, table, values, source, params):
    """``INSERT INTO table (...) SELECT ... FROM source``; ``values`` maps
    columns to SQL expressions, those the table lacks are left out (the
    schema follows the addon's version)."""
    present = _columns(cr, table)
    cols = [col for col in values if col in present]
    cr.execute(
        f"INSERT INTO {table} ({', '.join(cols)}) "
        f"SELECT {', '.join(values[c] for c in cols)} FROM {source}",
        params,
    )
    return cr.rowcount


def _create_program(env, members, set_company_program):
    program = env["loyalty.program"].create(
        {
            "name": f"Datagen Club {members:,}",
            "program_type": "loyalty",
            "trigger": "auto",
            "applies_on": "both",
            "loyalty_points_validity_days": 365,
            "loyalty_pending_days": 30,
            "loyalty_tier_window_days": 365,
            "loyalty_inactivity_days": 90,
            "loyalty_tier_grace_days": 0,
            "loyalty_tier_ids": [
                (0, 0, {"name": name, "sequence": i, "threshold": threshold})
                for i, (name, threshold) in enumerate(TIERS)
            ],
        }
    )
    if set_company_program:
        env.company.loyalty_membership_program_id = program
    env.flush_all()
    return program


def _pos_session(env):
    """A closed POS session of a "Datagen Shop" for the generated POS orders:
    the shop through the ORM, the session in SQL (opening one through the
    ORM needs a cash journal and an open accounting period we do not need)."""
    cr = env.cr
    config = env["pos.config"].create({"name": "Datagen Shop"})
    env.flush_all()
    session_id = _reserve_ids(cr, "pos_session", 1)
    _insert(
        cr,
        "pos_session",
        {
            "id": "%(id)s",
            "config_id": "%(config)s",
            "user_id": "%(uid)s",
            "name": "'DATAGEN/' || %(id)s",
            "state": "'closed'",
            "start_at": "now() at time zone 'UTC'",
            "stop_at": "now() at time zone 'UTC'",
            "create_uid": "%(uid)s",
            "write_uid": "%(uid)s",
            "create_date": "now() at time zone 'UTC'",
            "write_date": "now() at time zone 'UTC'",
        },
        "(SELECT 1) one",
        {"id": session_id, "config": config.id, "uid": env.uid},
    )
    return config.id, session_id


def generate(  # noqa: C901
    env,
    members,
    *,
    expire_due_every=10,
    release_due_every=10,
    stale_every=100,
    inactive_every=100,
    orders=True,
    non_member_share=0.1,
    set_company_program=True,
    drop_indexes=None,
    log=print,
):
    """Generate the data set (see the module's docstring) in ``env``'s
    transaction; returns a dict of figures. The caller commits."""
    cr = env.cr
    n = int(members)
    if n < 1:
        raise ValueError("members must be >= 1")
    if drop_indexes is None:
        drop_indexes = n >= DROP_INDEXES_FROM
    timings = {}
    t_all = time.perf_counter()

    def step(name, t0):
        timings[name] = round(time.perf_counter() - t0, 2)
        log(f"  {name}: {timings[name]:.1f} s")

    t0 = time.perf_counter()
    program = _create_program(env, n, set_company_program)
    tiers = program.loyalty_tier_ids.sorted("threshold")
    company = env.company
    pos_config_id = session_id = None
    if orders and "pos.order" in env:
        pos_config_id, session_id = _pos_session(env)
    step("program, tiers, shop (ORM)", t0)

    non_members = int(round(n * non_member_share)) if orders else 0
    params = {
        "n": n,
        "nm": non_members,
        "uid": env.uid,
        "company": company.id,
        "currency": company.currency_id.id,
        "program": program.id,
        "session": session_id,
        "pos_config": pos_config_id,
        "silver": tiers[0].id,
        "gold": tiers[1].id,
        "platinum": tiers[2].id,
        "t_silver": tiers[0].threshold,
        "t_gold": tiers[1].threshold,
        "t_platinum": tiers[2].threshold,
        "token": program.id,
    }
    params["p0"] = _reserve_ids(cr, "res_partner", n + non_members)
    params["c0"] = _reserve_ids(cr, "loyalty_card", n)
    params["l0"] = _reserve_ids(cr, "loyalty_ledger_line", LINES_PER_MEMBER * n)
    if orders:
        params["s0"] = _reserve_ids(cr, "sale_order", n + 2 * non_members)
        params["o0"] = _reserve_ids(cr, "pos_order", n) if session_id else None

    cr.execute("SET LOCAL session_replication_role = replica")
    cr.execute("SET LOCAL work_mem = '256MB'")
    cr.execute("SET LOCAL maintenance_work_mem = '512MB'")
    cr.execute("SET LOCAL synchronous_commit = off")
    rebuild = []
    if drop_indexes:
        t0 = time.perf_counter()
        rebuild = _drop_indexes(cr, BIG_TABLES)
        step(f"drop {len(rebuild)} secondary indexes", t0)

    # One row per member: everything the lines, cards and orders derive from.
    # pts(k) is 20..400; ages are in days before today.
    t0 = time.perf_counter()
    expdue = _flag("g", expire_due_every, 0)
    reldue = _flag("g", release_due_every, 1)
    stale = _flag("g", stale_every, 3)
    inact = _flag("g", inactive_every, 7)
    cr.execute(
        f"""
        CREATE TEMP TABLE datagen_member ON COMMIT DROP AS
        SELECT g AS n, %(p0)s + g - 1 AS partner_id, %(c0)s + g - 1 AS card_id,
               v.*, {stale} AS stale,
               -- lot 0 (400+ days ago) was spent: 60 pct redeemed, the rest expired
               round(v.a * 0.6) AS r0,
               round(v.b2 / 4.0) AS rv,
               CASE WHEN v.expdue THEN 366 + g %% 5 ELSE 270 + g %% 30 END AS age_a,
               CASE WHEN v.inact THEN 95 + g %% 20 ELSE 5 + g %% 40 END AS age_e,
               CASE WHEN v.inact THEN 100 + g %% 10
                    WHEN v.reldue THEN 31 + g %% 5 ELSE g %% 25 END AS age_p
          FROM generate_series(1, %(n)s) g
         CROSS JOIN LATERAL (
               SELECT 20 + (g::bigint * 7919) %% 381 AS a,
                      20 + (g::bigint * 7919 + 104729) %% 381 AS b1,
                      20 + (g::bigint * 7919 + 2 * 104729) %% 381 AS b2,
                      20 + (g::bigint * 7919 + 3 * 104729) %% 381 AS b3,
                      20 + (g::bigint * 7919 + 4 * 104729) %% 381 AS b4,
                      20 + (g::bigint * 7919 + 5 * 104729) %% 381 AS b5,
                      20 + (g::bigint * 7919 + 6 * 104729) %% 381 AS bp,
                      {expdue} AS expdue, {reldue} AS reldue, {inact} AS inact
         ) v;
        ALTER TABLE datagen_member ADD COLUMN qual numeric, ADD COLUMN tier int;
        -- points earned in the tier window, as the tier review counts them
        UPDATE datagen_member
           SET qual = CASE WHEN expdue THEN 0 ELSE b1 END
                      + b2 - rv + b3 + b4 + b5 + bp;
        UPDATE datagen_member
           SET tier = CASE WHEN stale AND qual < %(t_platinum)s THEN %(platinum)s
                           WHEN qual >= %(t_platinum)s THEN %(platinum)s
                           WHEN qual >= %(t_gold)s THEN %(gold)s
                           WHEN qual >= %(t_silver)s THEN %(silver)s END;
        """,
        params,
    )
    step("member plan (temp table)", t0)

    now = "now() at time zone 'UTC'"
    audit = {
        "create_uid": "%(uid)s",
        "write_uid": "%(uid)s",
        "create_date": now,
        "write_date": now,
    }
    t0 = time.perf_counter()
    _insert(
        cr,
        "res_partner",
        {
            "id": "partner_id",
            "name": "'Datagen Member ' || n",
            "complete_name": "'Datagen Member ' || n",
            "email": "'member' || n || '.' || %(token)s || '@datagen.example'",
            "email_normalized": "'member' || n || '.' || %(token)s "
            "|| '@datagen.example'",
            "commercial_partner_id": "partner_id",
            "active": "true",
            "type": "'contact'",
            "is_company": "false",
            "lang": "'en_US'",
            "autopost_bills": "'ask'",
            "customer_rank": "1",
            "supplier_rank": "0",
            "loyalty_last_activity_date": "CURRENT_DATE - LEAST(age_e, age_p)",
            **audit,
        },
        "datagen_member",
        params,
    )
    if non_members:
        _insert(
            cr,
            "res_partner",
            {
                "id": "%(p0)s + %(n)s + g - 1",
                "name": "'Datagen Customer ' || g",
                "complete_name": "'Datagen Customer ' || g",
                "commercial_partner_id": "%(p0)s + %(n)s + g - 1",
                "active": "true",
                "type": "'contact'",
                "is_company": "false",
                "lang": "'en_US'",
                "autopost_bills": "'ask'",
                "customer_rank": "1",
                "supplier_rank": "0",
                **audit,
            },
            "generate_series(1, %(nm)s) g",
            params,
        )
    step(f"res_partner: {n + non_members:,} rows", t0)

    t0 = time.perf_counter()
    _insert(
        cr,
        "loyalty_card",
        {
            "id": "card_id",
            "program_id": "%(program)s",
            "company_id": "%(company)s",
            "partner_id": "partner_id",
            "code": "'DG' || %(token)s || '-' || n",
            "points": "b1 + b2 - rv + b3 + b4 + b5",
            "active": "true",
            "loyalty_tier_id": "tier",
            "loyalty_tier_since": "CASE WHEN tier IS NOT NULL "
            "THEN CURRENT_DATE - 30 END",
            **audit,
        },
        "datagen_member",
        params,
    )
    step(f"loyalty_card: {n:,} rows", t0)

    n_orders = 0
    if orders:
        t0 = time.perf_counter()
        sale = {
            "company_id": "%(company)s",
            "state": "'sale'",
            "picking_policy": "'direct'",
            "amount_tax": "0",
            "currency_id": "%(currency)s",
            "currency_rate": "1",
            "invoice_status": "'no'",
            "require_signature": "false",
            "require_payment": "false",
            "locked": "false",
            **audit,
        }
        n_orders += _insert(
            cr,
            "sale_order",
            {
                "id": "%(s0)s + n - 1",
                "name": "'DG' || %(token)s || '/S' || n",
                "partner_id": "partner_id",
                "partner_invoice_id": "partner_id",
                "partner_shipping_id": "partner_id",
                "date_order": "(CURRENT_DATE - age_e) + time '10:00'",
                "amount_untaxed": "b5",
                "amount_total": "b5",
                **sale,
            },
            "datagen_member",
            params,
        )
        if non_members:
            n_orders += _insert(
                cr,
                "sale_order",
                {
                    "id": "%(s0)s + %(n)s + 2 * (g - 1) + k",
                    "name": "'DG' || %(token)s || '/C' || g || '-' || k",
                    "partner_id": "%(p0)s + %(n)s + g - 1",
                    "partner_invoice_id": "%(p0)s + %(n)s + g - 1",
                    "partner_shipping_id": "%(p0)s + %(n)s + g - 1",
                    "date_order": "(CURRENT_DATE - (g %% 300) - 40 * k) + time '11:00'",
                    "amount_untaxed": "20 + (g * 31 + k) %% 300",
                    "amount_total": "20 + (g * 31 + k) %% 300",
                    **sale,
                },
                "generate_series(1, %(nm)s) g CROSS JOIN generate_series(0, 1) k",
                params,
            )
        if session_id:
            n_orders += _insert(
                cr,
                "pos_order",
                {
                    "id": "%(o0)s + n - 1",
                    "name": "'DG' || %(token)s || '/P' || n",
                    "pos_reference": "'Order DG' || %(token)s || '-' || n",
                    "session_id": "%(session)s",
                    "config_id": "%(pos_config)s",
                    "company_id": "%(company)s",
                    "partner_id": "partner_id",
                    "user_id": "%(uid)s",
                    "date_order": "(CURRENT_DATE - (120 + n %% 20)) + time '15:00'",
                    "state": "'paid'",
                    "amount_tax": "0",
                    "amount_total": "b4",
                    "amount_paid": "b4",
                    "amount_return": "0",
                    "currency_rate": "1",
                    "sequence_number": "n",
                    **audit,
                },
                "datagen_member",
                params,
            )
        step(f"orders: {n_orders:,} rows", t0)

    # Ledger lines, slot by slot (a card's lines spread over the id range, in
    # date order across cards, as they accumulate in real life).
    t0 = time.perf_counter()
    day = "(CURRENT_DATE - {age}) + time '10:00'"
    base = {
        "card_id": "card_id",
        "program_id": "%(program)s",
        "partner_id": "partner_id",
        "company_id": "%(company)s",
        "state": "'posted'",
        "multiplier": "1",
        "user_id": "%(uid)s",
        **audit,
    }

    def lot(age, pts, residual, **extra):
        return {
            "entry_type": "'earn'",
            "date": day.format(age=age),
            "points": pts,
            "points_residual": residual,
            "expiry_date": f"CURRENT_DATE - {age} + 365",
            "tier_qualifying": "true",
            "source": "'sale'",
            "description": "'Datagen purchase'",
            **extra,
        }

    def line_id(slot):
        return f"%(l0)s + {slot} * %(n)s + n - 1"

    slots = [
        lot("(400 + n %% 20)", "a", "0"),
        {
            "entry_type": "'redeem'",
            "date": day.format(age=380),
            "points": "-r0",
            "tier_qualifying": "false",
            "source": "'api'",
            "description": "'Datagen redemption'",
        },
        lot("age_a", "b1", "b1"),
        lot("(250 + n %% 20)", "b2", "b2 - rv"),
        {
            "entry_type": "'reversal'",
            "date": day.format(age=240),
            "points": "-rv",
            "reversed_line_id": line_id(3),
            "tier_qualifying": "true",
            "source": "'sale'",
            "description": "'Reversal: Datagen purchase'",
        },
        {
            "entry_type": "'expire'",
            "date": day.format(age="(35 + n %% 20)"),
            "points": "r0 - a",
            "tier_qualifying": "false",
            "source": "'system'",
            "description": "'Points expired'",
        },
        lot("(180 + n %% 20)", "b3", "b3"),
        lot(
            "(120 + n %% 20)",
            "b4",
            "b4",
            source="'pos'",
            pos_order_id="%(o0)s + n - 1" if orders and session_id else "NULL",
        ),
        lot(
            "age_e",
            "b5",
            "b5",
            sale_order_id="%(s0)s + n - 1" if orders else "NULL",
        ),
        lot(
            "age_p",
            "bp",
            "bp",
            state="'pending'",
            release_date="CURRENT_DATE - age_p + 30",
        ),
    ]
    assert len(slots) == LINES_PER_MEMBER
    n_lines = 0
    for slot, values in enumerate(slots):
        n_lines += _insert(
            cr,
            "loyalty_ledger_line",
            {"id": line_id(slot), **base, **values},
            "datagen_member",
            params,
        )
    step(f"loyalty_ledger_line: {n_lines:,} rows", t0)

    if rebuild:
        t0 = time.perf_counter()
        for statement in rebuild:
            cr.execute(statement)
        step(f"rebuild {len(rebuild)} indexes", t0)

    t0 = time.perf_counter()
    cr.execute("SET LOCAL session_replication_role = origin")
    for table in BIG_TABLES:
        cr.execute(f"ANALYZE {table}")
    step("analyze", t0)
    if orders:
        # Orders and cards written in SQL: the KPI order facts are built
        # again before the caller commits (kpi/order_facts.py).
        env["loyalty.kpi.order"]._touch(everything=True)

    figures = check(env, program.id)
    figures.update(
        members=n,
        non_members=non_members,
        program_id=program.id,
        ledger_lines=n_lines,
        orders=n_orders,
        due={
            "expire": _count(cr, expdue, n),
            "release": _count(cr, f"({reldue} OR {inact})", n),
            "stale_tiers": _stale_count(cr),
            "inactive": _count(cr, inact, n),
        },
        seconds=round(time.perf_counter() - t_all, 1),
        timings=timings,
    )
    cr.execute(
        """
        INSERT INTO ir_config_parameter (key, value, create_uid, write_uid,
                                         create_date, write_date)
        VALUES (%s, %s, %s, %s, now() at time zone 'UTC', now() at time zone 'UTC')
        ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value
        """,
        [MARKER_KEY, json.dumps(figures), env.uid, env.uid],
    )
    env.invalidate_all()
    return figures


def _count(cr, flag, n):
    cr.execute(
        f"SELECT COUNT(*) FROM generate_series(1, %(n)s) g WHERE {flag}", {"n": n}
    )
    return cr.fetchone()[0]


def _stale_count(cr):
    cr.execute(
        "SELECT COUNT(*) FROM datagen_member WHERE stale AND qual < %s",
        [TIERS[-1][1]],
    )
    return cr.fetchone()[0]


def check(env, program_id):
    """The ledger's invariant over the program's cards: points = sum of posted
    lines, never below 0, open lots = card points."""
    cr = env.cr
    cr.execute(
        """
        WITH l AS (
            SELECT card_id,
                   SUM(points) FILTER (WHERE state = 'posted') AS posted,
                   SUM(points_residual) FILTER (WHERE state = 'posted'
                                                AND points_residual > 0) AS open
              FROM loyalty_ledger_line WHERE program_id = %(p)s GROUP BY card_id
        )
        SELECT COUNT(*),
               COUNT(*) FILTER (WHERE ABS(c.points - COALESCE(l.posted, 0)) > 0.005),
               COUNT(*) FILTER (WHERE c.points < 0),
               COUNT(*) FILTER (WHERE ABS(c.points - COALESCE(l.open, 0)) > 0.005),
               COALESCE(SUM(c.points), 0)
          FROM loyalty_card c LEFT JOIN l ON l.card_id = c.id
         WHERE c.program_id = %(p)s
        """,
        {"p": program_id},
    )
    cards, mismatched, negative, lots_mismatch, points = cr.fetchone()
    return {
        "cards": cards,
        "cards_not_matching_ledger": mismatched,
        "cards_below_zero": negative,
        "cards_not_matching_open_lots": lots_mismatch,
        "card_points": float(points),
    }


def read_marker(cr):
    """The figures of the data set generated in this database, or None."""
    cr.execute("SELECT value FROM ir_config_parameter WHERE key = %s", [MARKER_KEY])
    row = cr.fetchone()
    return json.loads(row[0]) if row else None
