# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models, tools
from odoo.tools import SQL

from ..kpi.sql import ORDERS_SQL

INDEXES = (
    """CREATE INDEX IF NOT EXISTS sale_order_loyalty_kpi_date_idx
       ON sale_order (date_order) INCLUDE (partner_id, company_id, amount_untaxed)
       WHERE state = 'sale'""",
    """CREATE INDEX IF NOT EXISTS sale_order_loyalty_kpi_partner_idx
       ON sale_order (partner_id, date_order) INCLUDE (company_id, amount_untaxed)
       WHERE state = 'sale'""",
    """CREATE INDEX IF NOT EXISTS pos_order_loyalty_kpi_date_idx
       ON pos_order (date_order)
       INCLUDE (partner_id, company_id, amount_total, amount_tax)
       WHERE state IN ('paid', 'done', 'invoiced')""",
    """CREATE INDEX IF NOT EXISTS pos_order_loyalty_kpi_partner_idx
       ON pos_order (partner_id, date_order)
       INCLUDE (company_id, amount_total, amount_tax)
       WHERE state IN ('paid', 'done', 'invoiced')""",
    # Redeemers, for the points habit of the segment cron.
    """CREATE INDEX IF NOT EXISTS loyalty_ledger_line_redeem_card_idx
       ON loyalty_ledger_line (card_id) WHERE entry_type = 'redeem'""",
)


class LoyaltyReportOrder(models.Model):
    """Orders of members and non-members, for revenue and AOV analysis.

    Membership and tier are today's: the card of the company's membership
    program held by the order's customer."""

    _name = "loyalty.report.order"
    _description = "Loyalty Order Analysis"
    _auto = False
    _order = "date desc"
    _rec_name = "name"

    name = fields.Char(string="Order", readonly=True)
    channel = fields.Selection(
        [("sale", "Sales"), ("pos", "Point of Sale")], readonly=True
    )
    date = fields.Datetime(string="Order Date", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    is_member = fields.Boolean(string="Member", readonly=True)
    customer_type = fields.Selection(
        [("member", "Members"), ("non_member", "Non-members")], readonly=True
    )
    tier_id = fields.Many2one("loyalty.tier", readonly=True)
    amount = fields.Float(string="Untaxed Amount", readonly=True)
    order_count = fields.Integer(string="Orders", readonly=True)

    def init(self):
        # The KPIs read orders by date (a period) and by customer (the
        # churn score): covering indexes keep both to index-only scans of
        # the counted orders, however wide the order tables are.
        for statement in INDEXES:
            self.env.cr.execute(statement)
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """
            CREATE OR REPLACE VIEW %(table)s AS (
                SELECT o.id, o.channel, o.name, o.date, o.company_id,
                       o.partner_id, o.amount, 1 AS order_count,
                       c.id IS NOT NULL AS is_member,
                       CASE WHEN c.id IS NOT NULL THEN 'member'
                            ELSE 'non_member' END AS customer_type,
                       c.loyalty_tier_id AS tier_id
                  FROM (%(orders)s) o
                  LEFT JOIN res_company rc ON rc.id = o.company_id
                  LEFT JOIN loyalty_card c
                    ON c.partner_id = o.partner_id
                   AND c.program_id = rc.loyalty_membership_program_id
            )
            """,
                table=SQL.identifier(self._table),
                orders=SQL(ORDERS_SQL),
            )
        )
