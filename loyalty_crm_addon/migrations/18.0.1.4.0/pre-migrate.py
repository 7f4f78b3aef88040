# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The KPI tables become models the ORM knows (``loyalty.kpi.order``,
``loyalty.kpi.customer``, ``loyalty.kpi.points.daily``,
``loyalty.kpi.member.activity``, ``loyalty.kpi.watermark``,
``loyalty.member.score``), and the order facts are no longer kept by
triggers on core tables (kpi/order_facts.py).

Before the ORM adopts the tables (same names, same columns, their rows
kept): the triggers and their functions go; each table gets the integer
``id`` primary key the ORM reads by (the order key for the order facts,
the member's id for the scores and the customers' rows, a sequence for the
others; the old key is made unique again by the models' constraints);
rows pointing to a contact, program or company that no longer exists are
removed (the ORM adds the foreign keys); a company of none in the daily
points is NULL, no longer 0. Order facts of deleted contacts are rebuilt as
anonymous orders by the post-migration script."""

TRIGGERS = [
    (table, f"loyalty_kpi_order_{op}")
    for table in ("sale_order", "pos_order", "loyalty_card")
    for op in ("insert", "update", "delete")
] + [("res_company", "loyalty_kpi_order_update")]
FUNCTIONS = (
    "loyalty_kpi_order_on_orders()",
    "loyalty_kpi_order_on_cards()",
    "loyalty_kpi_order_on_company()",
    "loyalty_kpi_order_rebuild(int[], int[])",
    "loyalty_kpi_order_rebuild_all()",
)
# table: the id of each row (None: from the table's new sequence).
IDS = {
    "loyalty_kpi_order": "order_key",
    "loyalty_member_score": "partner_id",
    "loyalty_kpi_customer": "partner_id",
    "loyalty_kpi_member_activity": None,
    "loyalty_kpi_watermark": None,
}
# Rows whose contact, program or company is gone: the ORM's foreign keys
# would refuse them.
ORPHANS = {
    "loyalty_kpi_customer": ("partner_id",),
    "loyalty_kpi_member_activity": ("partner_id", "program_id"),
    "loyalty_kpi_points_daily": ("program_id",),
    "loyalty_kpi_order": ("company_id",),
}
TARGETS = {
    "partner_id": "res_partner",
    "program_id": "loyalty_program",
    "company_id": "res_company",
}


def _exists(cr, table, column=None):
    if column is None:
        cr.execute(
            "SELECT 1 FROM pg_class WHERE relname = %s AND relkind = 'r'", [table]
        )
    else:
        cr.execute(
            "SELECT 1 FROM information_schema.columns"
            " WHERE table_name = %s AND column_name = %s",
            [table, column],
        )
    return bool(cr.fetchone())


def _give_id(cr, table, source):
    """An ``id`` primary key, from ``source`` (a column) or a sequence."""
    if not _exists(cr, table) or _exists(cr, table, "id"):
        return
    sequence = f"{table}_id_seq"
    cr.execute(
        f"""
        ALTER TABLE {table} ADD COLUMN id int;
        CREATE SEQUENCE {sequence} OWNED BY {table}.id;
        UPDATE {table} SET id = {source or f"nextval('{sequence}')"};
        SELECT setval('{sequence}', COALESCE(MAX(id), 0) + 1, false) FROM {table};
        ALTER TABLE {table} ALTER COLUMN id SET DEFAULT nextval('{sequence}'),
                            ALTER COLUMN id SET NOT NULL;
        """
    )
    cr.execute(
        "SELECT conname FROM pg_constraint"
        " WHERE conrelid = %s::regclass AND contype = 'p'",
        [table],
    )
    for (name,) in cr.fetchall():
        cr.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    cr.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY (id)")


def migrate(cr, version):
    for table, trigger in TRIGGERS:
        cr.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
    for function in FUNCTIONS:
        cr.execute(f"DROP FUNCTION IF EXISTS {function}")

    # Order facts of contacts deleted since (none, while the triggers kept
    # them): rebuilt as anonymous orders after the update.
    if _exists(cr, "loyalty_kpi_order"):
        cr.execute(
            """
            CREATE TEMP TABLE loyalty_kpi_migrate_keys AS
            SELECT f.order_key FROM loyalty_kpi_order f
             WHERE f.partner_id IS NOT NULL AND NOT EXISTS (
                   SELECT 1 FROM res_partner p WHERE p.id = f.partner_id);
            DELETE FROM loyalty_kpi_order
             WHERE order_key IN (SELECT order_key FROM loyalty_kpi_migrate_keys);
            """
        )
    for table, columns in ORPHANS.items():
        if not _exists(cr, table):
            continue
        for column in columns:
            cr.execute(
                f"""
                DELETE FROM {table} t WHERE t.{column} IS NOT NULL AND NOT EXISTS (
                    SELECT 1 FROM {TARGETS[column]} x WHERE x.id = t.{column})
                """
            )

    if _exists(cr, "loyalty_kpi_points_daily"):
        # A company of none was 0 (the unique key); NULL for the foreign key,
        # the unique key takes it as 0 (loyalty.kpi.points.daily.init).
        cr.execute(
            """
            SELECT conname FROM pg_constraint
             WHERE conrelid = 'loyalty_kpi_points_daily'::regclass AND contype = 'u'
            """
        )
        for (name,) in cr.fetchall():
            cr.execute(f'ALTER TABLE loyalty_kpi_points_daily DROP CONSTRAINT "{name}"')
        cr.execute(
            """
            ALTER TABLE loyalty_kpi_points_daily
                ALTER COLUMN company_id DROP DEFAULT,
                ALTER COLUMN company_id DROP NOT NULL;
            UPDATE loyalty_kpi_points_daily SET company_id = NULL WHERE company_id = 0;
            DELETE FROM loyalty_kpi_points_daily t
             WHERE t.company_id IS NOT NULL AND NOT EXISTS (
                   SELECT 1 FROM res_company x WHERE x.id = t.company_id);
            """
        )

    for table, source in IDS.items():
        _give_id(cr, table, source)
