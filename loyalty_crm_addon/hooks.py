# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.exceptions import UserError

from .engine.ledger import NATIVE_DEMO_MODULES
from .engine.sales_only import sales_only_errors


def pre_init_hook(env):
    """Refuse to install where a membership program already uses a setting of
    an OCA loyalty addon that only Sales honours (see
    engine/sales_only.py): the ledger could not keep the channels
    consistent."""
    programs = (
        env["loyalty.program"]
        .with_context(active_test=False)
        .search([("program_type", "=", "loyalty")])
    )
    errors = sales_only_errors(programs)
    if errors:
        raise UserError(
            env._("Loyalty CRM cannot be installed on this database:")
            + "\n\n"
            + "\n\n".join(errors)
        )
    return True


def post_init_hook(env):
    """Open the ledger of membership cards that already hold points, so that
    every card's balance equals the sum of its posted lines from day one.
    Cards of Odoo's own demo programs are not members: no opening balance
    (Odoo's demo card of 99,900 points would dominate every report)."""
    env.cr.execute(
        """
        INSERT INTO loyalty_ledger_line (
            card_id, program_id, partner_id, company_id, date, entry_type,
            points, points_residual, state, source, description, multiplier,
            user_id, create_uid, create_date, write_uid, write_date)
        SELECT c.id, c.program_id, c.partner_id, c.company_id,
               now() at time zone 'UTC', 'adjust', c.points,
               GREATEST(c.points, 0), 'posted', 'import', 'Opening balance', 1,
               %(uid)s, %(uid)s, now() at time zone 'UTC',
               %(uid)s, now() at time zone 'UTC'
          FROM loyalty_card c
          JOIN loyalty_program p ON p.id = c.program_id
         WHERE p.program_type = 'loyalty' AND c.points <> 0
           AND p.id NOT IN (
                SELECT res_id FROM ir_model_data
                 WHERE model = 'loyalty.program' AND module = ANY(%(native)s))
           AND NOT EXISTS (
                SELECT 1 FROM loyalty_ledger_line l WHERE l.card_id = c.id)
        """,
        {"uid": env.uid, "native": NATIVE_DEMO_MODULES},
    )


def uninstall_hook(env):
    """The reports are views on the KPI models' tables (kpi/aggregate.py,
    kpi/order_facts.py): dropped first, the ORM drops the tables."""
    env.cr.execute("DROP VIEW IF EXISTS loyalty_report_order, loyalty_report_points")
