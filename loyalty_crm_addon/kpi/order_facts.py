# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Counted orders with what the KPIs need to know about them, kept up to date.

``loyalty_kpi_order`` has one narrow row per counted order (``ORDERS_SQL``:
confirmed sales orders, paid POS orders): day, company, channel, customer,
untaxed amount, the day the customer joined the company's membership program
(``member_day``: the first card's creation day; a buyer is a member at
``date_to`` when ``member_day <= date_to``) and the days of the customer's
previous two orders, in the same company, in any channel (``prev_day``,
``prev2_day``) and in the same channel (``prev_day_ch``, ``prev2_day_ch``).

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
Statement-level triggers on ``sale_order``, ``pos_order`` and
``loyalty_card`` (with transition tables: set-based for a batch of a
thousand orders as for one, and only for rows whose counted columns
changed; they see SQL writes as well as the ORM's) rebuild the facts of the
customers touched, in the writing transaction (``loyalty_kpi_order_rebuild``:
a few index probes per customer). Two transactions touching the same
customer meet on the customer's row in ``loyalty_kpi_customer``: the second
waits and is retried rather than writing facts from a snapshot without the
first one's order. A change of a company's membership program rebuilds
everything (``loyalty_kpi_order_rebuild_all``, in that transaction).
Loading orders with triggers off (``session_replication_role = replica``)
must be followed by ``rebuild_all``.
"""

from odoo.tools import SQL

from .sql import ORDERS_SQL

TABLE_SQL = """
    CREATE TABLE IF NOT EXISTS loyalty_kpi_order (
        order_key int PRIMARY KEY,
        partner_id int,
        company_id int NOT NULL,
        channel varchar NOT NULL,
        day date NOT NULL,
        amount numeric NOT NULL,
        member_day date,
        prev_day date,
        prev2_day date,
        prev_day_ch date,
        prev2_day_ch date
    );
    CREATE INDEX IF NOT EXISTS loyalty_kpi_order_day_idx
        ON loyalty_kpi_order (company_id, day);
    CREATE INDEX IF NOT EXISTS loyalty_kpi_order_partner_cover_idx
        ON loyalty_kpi_order (partner_id) INCLUDE (company_id, day, amount);
    -- One row per customer whose facts were rebuilt: two transactions
    -- rebuilding the same customer update the same row, so the second one
    -- waits and fails to serialise (and is retried) instead of writing facts
    -- from a snapshot without the first one's order.
    CREATE TABLE IF NOT EXISTS loyalty_kpi_customer (
        partner_id int PRIMARY KEY,
        version int NOT NULL DEFAULT 0
    );
"""

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


def _facts(scope="TRUE", card_scope="TRUE"):
    """Fact rows of the counted orders ``o`` meeting ``scope`` (whole
    customers), with the cards ``c`` meeting ``card_scope``."""
    return SQL(
        FACTS_SQL, orders=SQL(ORDERS_SQL), scope=SQL(scope), card_scope=SQL(card_scope)
    )


# Rebuild the facts of the customers in ``partners`` and of the anonymous
# orders in ``keys`` (arrays), set-based: what the triggers run.
REBUILD_FUNCTION = SQL(
    """
    CREATE OR REPLACE FUNCTION loyalty_kpi_order_rebuild(partners int[], keys int[])
    RETURNS void LANGUAGE plpgsql AS $fn$
    BEGIN
        partners := ARRAY(SELECT DISTINCT p FROM unnest(partners) p
                           WHERE p IS NOT NULL ORDER BY p);
        IF cardinality(partners) > 0 THEN
            INSERT INTO loyalty_kpi_customer (partner_id)
            SELECT unnest(partners)
            ON CONFLICT (partner_id) DO UPDATE
               SET version = loyalty_kpi_customer.version + 1;
            DELETE FROM loyalty_kpi_order WHERE partner_id = ANY(partners);
        END IF;
        IF cardinality(keys) > 0 THEN
            DELETE FROM loyalty_kpi_order WHERE order_key = ANY(keys);
        END IF;
        INSERT INTO loyalty_kpi_order (%(columns)s)
        %(by_partner)s;
        INSERT INTO loyalty_kpi_order (%(columns)s)
        %(anonymous)s
        ON CONFLICT (order_key) DO NOTHING;
    END $fn$;
    """,
    columns=SQL(COLUMNS),
    by_partner=_facts("o.partner_id = ANY(partners)", "c.partner_id = ANY(partners)"),
    anonymous=_facts("o.id = ANY(keys) AND o.partner_id IS NULL", "FALSE"),
)

TRIGGERS_SQL = """
    CREATE OR REPLACE FUNCTION loyalty_kpi_order_on_orders() RETURNS trigger
    LANGUAGE plpgsql AS $fn$
    DECLARE
        factor int := CASE WHEN TG_TABLE_NAME = 'pos_order' THEN 1 ELSE 0 END;
        partners int[];
        keys int[];
    BEGIN
        -- Inserted or deleted: only orders that count (not quotations, not
        -- drafts at the till).
        IF TG_OP = 'INSERT' THEN
            SELECT array_agg(n.partner_id), array_agg(n.id * 2 + factor)
              INTO partners, keys FROM new_rows n
             WHERE n.state IN ('sale', 'paid', 'done', 'invoiced');
        ELSIF TG_OP = 'DELETE' THEN
            SELECT array_agg(o.partner_id), array_agg(o.id * 2 + factor)
              INTO partners, keys FROM old_rows o
             WHERE o.state IN ('sale', 'paid', 'done', 'invoiced');
        ELSIF TG_TABLE_NAME = 'sale_order' THEN
            SELECT array_agg(o.partner_id) || array_agg(n.partner_id),
                   array_agg(o.id * 2)
              INTO partners, keys
              FROM old_rows o JOIN new_rows n ON n.id = o.id
             WHERE (o.state, o.date_order, o.amount_untaxed, o.partner_id,
                    o.company_id)
                   IS DISTINCT FROM
                   (n.state, n.date_order, n.amount_untaxed, n.partner_id,
                    n.company_id)
               AND (o.state = 'sale' OR n.state = 'sale');
        ELSE
            SELECT array_agg(o.partner_id) || array_agg(n.partner_id),
                   array_agg(o.id * 2 + 1)
              INTO partners, keys
              FROM old_rows o JOIN new_rows n ON n.id = o.id
             WHERE (o.state, o.date_order, o.amount_total, o.amount_tax,
                    o.partner_id, o.company_id)
                   IS DISTINCT FROM
                   (n.state, n.date_order, n.amount_total, n.amount_tax,
                    n.partner_id, n.company_id);
        END IF;
        IF partners IS NOT NULL OR keys IS NOT NULL THEN
            PERFORM loyalty_kpi_order_rebuild(
                COALESCE(partners, '{}'), COALESCE(keys, '{}'));
        END IF;
        RETURN NULL;
    END $fn$;

    CREATE OR REPLACE FUNCTION loyalty_kpi_order_on_cards() RETURNS trigger
    LANGUAGE plpgsql AS $fn$
    DECLARE
        partners int[];
    BEGIN
        IF TG_OP = 'INSERT' THEN
            SELECT array_agg(n.partner_id) INTO partners FROM new_rows n;
        ELSIF TG_OP = 'DELETE' THEN
            SELECT array_agg(o.partner_id) INTO partners FROM old_rows o;
        ELSE
            SELECT array_agg(o.partner_id) || array_agg(n.partner_id)
              INTO partners
              FROM old_rows o JOIN new_rows n ON n.id = o.id
             WHERE (o.partner_id, o.program_id, o.create_date)
                   IS DISTINCT FROM (n.partner_id, n.program_id, n.create_date);
        END IF;
        IF partners IS NOT NULL THEN
            PERFORM loyalty_kpi_order_rebuild(partners, '{}');
        END IF;
        RETURN NULL;
    END $fn$;

    CREATE OR REPLACE FUNCTION loyalty_kpi_order_on_company() RETURNS trigger
    LANGUAGE plpgsql AS $fn$
    BEGIN
        IF EXISTS (SELECT 1 FROM old_rows o JOIN new_rows n ON n.id = o.id
                    WHERE o.loyalty_membership_program_id
                          IS DISTINCT FROM n.loyalty_membership_program_id) THEN
            PERFORM loyalty_kpi_order_rebuild_all();
        END IF;
        RETURN NULL;
    END $fn$;
"""

REBUILD_ALL_FUNCTION = SQL(
    """
    CREATE OR REPLACE FUNCTION loyalty_kpi_order_rebuild_all() RETURNS void
    LANGUAGE plpgsql AS $fn$
    BEGIN
        DELETE FROM loyalty_kpi_order;
        INSERT INTO loyalty_kpi_order (%(columns)s) %(facts)s;
    END $fn$;
    """,
    columns=SQL(COLUMNS),
    facts=_facts(),
)


def _trigger(table, op, function):
    name = f"loyalty_kpi_order_{op.lower()}"
    refs = {
        "INSERT": "NEW TABLE AS new_rows",
        "DELETE": "OLD TABLE AS old_rows",
        "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    }[op]
    return f"""
        DROP TRIGGER IF EXISTS {name} ON {table};
        CREATE TRIGGER {name} AFTER {op} ON {table}
            REFERENCING {refs} FOR EACH STATEMENT EXECUTE FUNCTION {function}();
    """


def create_tables(cr):
    """Tables, functions and triggers (idempotent); the facts are built from
    scratch when the table is empty (installation: a minute at two million
    orders)."""
    cr.execute(TABLE_SQL)
    cr.execute(REBUILD_FUNCTION)
    cr.execute(REBUILD_ALL_FUNCTION)
    cr.execute(TRIGGERS_SQL)
    for table, function in (
        ("sale_order", "loyalty_kpi_order_on_orders"),
        ("pos_order", "loyalty_kpi_order_on_orders"),
        ("loyalty_card", "loyalty_kpi_order_on_cards"),
    ):
        for op in ("INSERT", "UPDATE", "DELETE"):
            cr.execute(_trigger(table, op, function))
    cr.execute(_trigger("res_company", "UPDATE", "loyalty_kpi_order_on_company"))
    cr.execute("SELECT 1 FROM loyalty_kpi_order LIMIT 1")
    if not cr.fetchone():
        rebuild_all(cr)


def rebuild_all(cr):
    """Build the facts of every order again (after loading orders with the
    triggers off, e.g. ``session_replication_role = replica``)."""
    cr.execute("SELECT loyalty_kpi_order_rebuild_all()")
    cr.execute("ANALYZE loyalty_kpi_order")


def facts_sql():
    """The fact rows (kept by the triggers in every writing transaction)."""
    return SQL("SELECT * FROM loyalty_kpi_order")
