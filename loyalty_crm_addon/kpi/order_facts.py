# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Counted orders with what the KPIs need to know about them, kept exact.

``loyalty.kpi.order`` (table ``loyalty_kpi_order``) has one narrow row per
counted order (``ORDERS_SQL``: confirmed sales orders, paid POS orders): day,
company, channel, customer, untaxed amount, the day the customer joined the
company's membership program (``member_day``: the first card's creation day;
a buyer is a member at ``date_to`` when ``member_day <= date_to``) and the
days of the customer's previous two orders, in the same company, in any
channel (``prev_day``, ``prev2_day``) and in the same channel
(``prev_day_ch``, ``prev2_day_ch``). Its id is the order key (2 × the sales
order's id, 2 × the POS order's id + 1), also kept as ``order_key``.

With these, the order KPIs of a period are one pass over the period's rows,
without grouping by customer nor joining cards:

* a customer's first order in the period is the one whose previous order is
  before the period: buyers = rows with ``prev_day < date_from`` (or none);
* a customer has two orders in the period when their second order in it
  exists: rows with ``prev_day >= date_from`` and ``prev2_day < date_from``;
* a member's second order ever is the row with a ``prev_day`` and no
  ``prev2_day``: the time to the second purchase is ``day - prev_day``.

Keeping it exact. Orders change (confirmation, cancellation, edits, refunds)
and cards are created, and a change of one order moves the previous-order
days of the customer's later orders: the unit of refresh is the customer.
The ORM tells: every write of a counted column of an order
(``loyalty.kpi.order.source.mixin``: ``_write_multi`` sees the ORM's writes
and its recomputations alike), a counted order created or deleted, a card
of a membership program created, moved or deleted, a contact merged or
deleted, a company's membership program changed. Those note the orders and
customers touched (``loyalty.kpi.order._touch``) in the transaction's
pre-commit data; before the transaction commits (``cr.flush()``: the end of
every request, cron job and till sync) they join a queue
(``loyalty.kpi.order.queue``, ``_queue_facts``: one plain insert, so a sale
or a till pays almost nothing for the KPIs and two tills never wait on each
other there). The refresh cron (``ir_cron_loyalty_refresh_order_facts``,
every minute) takes the queue by batches and rebuilds the facts of those
customers with one set-based statement (``REFRESH_SQL``), writing only the
rows that changed. Every reader of the facts on the primary database (the
KPIs, the dashboard, the Member Revenue report, the churn score) first
rebuilds what its own transaction touched and what is queued
(``_flush_facts``): the figures are exact when read. On a read replica
(read-only cursor) a reader cannot write: it reads the facts as the cron
left them, at most a minute behind. These are methods of
``loyalty.kpi.order`` (models/loyalty_kpi_order.py), which another module
extends with ``_inherit``; this file holds the SQL.

Two refreshes of the same customer (the cron and a reader, each taking
queued rows with ``SKIP LOCKED``) meet on the customer's row in
``loyalty.kpi.customer``, which the refresh updates first: the second waits
and fails to serialise (and is retried) rather than writing facts from a
snapshot without the first one's order. A change of a company's membership
program rebuilds every row (``_rebuild_all_facts``, before that transaction
commits: not queued). Orders written in SQL, past the ORM, are not seen:
such a writer calls ``env["loyalty.kpi.order"]._touch()`` (with the
orders, the customers, or ``everything=True``).
"""

from odoo.tools import SQL

from .sql import ORDERS_SQL

# The order states the KPIs count, and the columns the facts are made of.
COUNTED_STATES = {"sale": ("sale",), "pos": ("paid", "done", "invoiced")}
COUNTED_FIELDS = {
    "sale": frozenset(
        {"state", "date_order", "amount_untaxed", "partner_id", "company_id"}
    ),
    "pos": frozenset(
        {
            "state",
            "date_order",
            "amount_total",
            "amount_tax",
            "partner_id",
            "company_id",
        }
    ),
}
# A card's creation day makes a member.
CARD_FIELDS = frozenset({"partner_id", "program_id", "create_date"})
CHANNEL_FACTOR = {"sale": 0, "pos": 1}

# What a transaction touched, in its pre-commit data.
PENDING_KEY = "loyalty_crm_addon.kpi_order"

# The fact rows of the orders selected by ``%(scope)s`` (a condition on the
# raw orders ``o``: customers, order keys, or everything; always whole
# customers, whose previous orders are read). Anonymous orders have none.
FACTS_SQL = """
    SELECT o.id AS order_key, o.partner_id, o.company_id, o.channel,
           o.date::date AS day, o.amount, m.member_day,
           CASE WHEN o.partner_id IS NOT NULL
                THEN lag(o.date::date, 1) OVER w_all END AS prev_day,
           CASE WHEN o.partner_id IS NOT NULL
                THEN lag(o.date::date, 2) OVER w_all END AS prev2_day,
           CASE WHEN o.partner_id IS NOT NULL
                THEN lag(o.date::date, 1) OVER w_ch END AS prev_day_ch,
           CASE WHEN o.partner_id IS NOT NULL
                THEN lag(o.date::date, 2) OVER w_ch END AS prev2_day_ch
      FROM (%(orders)s) o
      LEFT JOIN (
          SELECT c.partner_id, rc.id AS company_id,
                 MIN(c.create_date)::date AS member_day
            FROM loyalty_card c
            JOIN res_company rc ON rc.loyalty_membership_program_id = c.program_id
           WHERE c.partner_id IS NOT NULL AND %(card_scope)s
           GROUP BY 1, 2
      ) m ON m.partner_id = o.partner_id AND m.company_id = o.company_id
     WHERE %(scope)s
    WINDOW w_all AS (PARTITION BY o.partner_id, o.company_id ORDER BY o.date, o.id),
           w_ch AS (PARTITION BY o.partner_id, o.company_id, o.channel
                    ORDER BY o.date, o.id)
"""

COLUMNS = (
    "order_key, partner_id, company_id, channel, day, amount, member_day, "
    "prev_day, prev2_day, prev_day_ch, prev2_day_ch"
)
# The columns a refresh may change (all but the key).
VALUE_COLUMNS = [c.strip() for c in COLUMNS.split(",")][1:]


def _facts(scope="TRUE", card_scope="TRUE"):
    """Fact rows of the counted orders ``o`` meeting ``scope`` (whole
    customers), with the cards ``c`` meeting ``card_scope``."""
    return SQL(
        FACTS_SQL, orders=SQL(ORDERS_SQL), scope=SQL(scope), card_scope=SQL(card_scope)
    )


# Write the rows of ``fresh`` (a CTE of fact rows) that differ, and delete
# those of ``%(stale)s`` (a condition on the stored rows ``f``) that are no
# longer in it: a new order usually adds one row and leaves the customer's
# others as they were.
UPSERT_SQL = """
    gone AS (
        DELETE FROM loyalty_kpi_order f
         WHERE %(stale)s
           AND NOT EXISTS (SELECT 1 FROM fresh n WHERE n.order_key = f.id)
    )
    INSERT INTO loyalty_kpi_order AS f (id, %(columns)s)
    SELECT n.order_key, n.* FROM fresh n
    ON CONFLICT (id) DO UPDATE SET %(assign)s
     WHERE (%(old)s) IS DISTINCT FROM (%(new)s)
"""


def _upsert(stale):
    """UPSERT_SQL for the stored rows meeting ``stale`` (text)."""
    return UPSERT_SQL % {
        "stale": stale,
        "columns": COLUMNS,
        "assign": ", ".join(f"{c} = EXCLUDED.{c}" for c in VALUE_COLUMNS),
        "old": ", ".join(f"f.{c}" for c in VALUE_COLUMNS),
        "new": ", ".join(f"EXCLUDED.{c}" for c in VALUE_COLUMNS),
    }


def _states(channel):
    return ", ".join(f"'{state}'" for state in COUNTED_STATES[channel])


CUSTOMERS = "(SELECT ids FROM customers)::int[]"

# Rebuild the facts of the customers touched, in one statement: the
# customers given, the old customers of the given orders (their stored
# facts) and their current ones. Their rows in ``loyalty_kpi_customer`` are
# updated first, in order (a concurrent transaction that rebuilt one of
# them makes this one fail to serialise). Anonymous POS orders given are
# rebuilt by key (a sales order always has a customer). Composed once: the
# statement's text does not change, only its arrays.
REFRESH_SQL = """
    WITH touched AS (
        INSERT INTO loyalty_kpi_customer AS c (id, partner_id, version)
        SELECT DISTINCT t.p, t.p, 0
          FROM (SELECT unnest(%%(partners)s::int[]) AS p
                UNION ALL
                SELECT f.partner_id FROM loyalty_kpi_order f
                 WHERE f.id = ANY(%%(keys)s::int[])
                UNION ALL
                SELECT so.partner_id FROM sale_order so
                 WHERE so.id = ANY(%%(sale_ids)s::int[]) AND so.state IN (%(sale)s)
                UNION ALL
                SELECT po.partner_id FROM pos_order po
                 WHERE po.id = ANY(%%(pos_ids)s::int[]) AND po.state IN (%(pos)s)) t
          JOIN res_partner rp ON rp.id = t.p
         ORDER BY 1
        ON CONFLICT (id) DO UPDATE SET version = c.version + 1
        RETURNING c.id
    ),
    customers AS (SELECT COALESCE(array_agg(id), '{}') AS ids FROM touched),
    fresh AS MATERIALIZED (%(fresh)s),
    %(upsert)s
"""
ANONYMOUS_SQL = """
    SELECT o.id, NULL::int, o.company_id, o.channel, o.date::date, o.amount,
           NULL::date, NULL::date, NULL::date, NULL::date, NULL::date
      FROM (%(orders)s) o
     WHERE o.partner_id IS NULL AND o.channel = 'pos'
       AND o.src_id = ANY(%%(pos_ids)s::int[])
"""


def _refresh_sql(anonymous):
    """The refresh statement's text (with anonymous POS orders or not)."""
    facts = FACTS_SQL % {
        "orders": ORDERS_SQL,
        "scope": f"o.partner_id = ANY({CUSTOMERS})",
        "card_scope": f"c.partner_id = ANY({CUSTOMERS})",
    }
    if anonymous:
        facts += " UNION ALL " + ANONYMOUS_SQL % {"orders": ORDERS_SQL}
    return REFRESH_SQL % {
        "sale": _states("sale"),
        "pos": _states("pos"),
        "fresh": facts,
        "upsert": _upsert(
            f"(f.partner_id = ANY({CUSTOMERS}) OR f.id = ANY(%(keys)s::int[]))"
        ),
    }


REFRESH = {anonymous: _refresh_sql(anonymous) for anonymous in (False, True)}

REBUILD_ALL_SQL = """
    WITH fresh AS MATERIALIZED (%(facts)s),
    %(upsert)s
"""


def facts_sql():
    """The fact rows (rebuilt before every writing transaction commits)."""
    return SQL("SELECT * FROM loyalty_kpi_order")
