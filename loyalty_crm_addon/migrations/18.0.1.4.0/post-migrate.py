# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""After the KPI tables became models (see pre-migrate.py): the order facts
of contacts deleted since the facts were built again as anonymous orders,
and fresh planner statistics for the adopted tables."""

from odoo import SUPERUSER_ID, api

TABLES = (
    "loyalty_kpi_order",
    "loyalty_kpi_customer",
    "loyalty_kpi_points_daily",
    "loyalty_kpi_member_activity",
    "loyalty_member_score",
)


def migrate(cr, version):
    cr.execute("SELECT to_regclass('pg_temp.loyalty_kpi_migrate_keys')")
    if cr.fetchone()[0]:
        cr.execute("SELECT order_key FROM loyalty_kpi_migrate_keys")
        keys = [key for (key,) in cr.fetchall()]
        if keys:
            api.Environment(cr, SUPERUSER_ID, {})["loyalty.kpi.order"]._refresh_facts(
                keys=keys
            )
        cr.execute("DROP TABLE loyalty_kpi_migrate_keys")
    for table in TABLES:
        cr.execute(f"ANALYZE {table}")
