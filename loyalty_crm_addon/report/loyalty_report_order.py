# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models, tools
from odoo.tools import SQL

from ..kpi.order_facts import facts_sql

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
    # Members active in a period (inactive rate): an index-only range.
    """CREATE INDEX IF NOT EXISTS loyalty_ledger_line_activity_idx
       ON loyalty_ledger_line (program_id, date) INCLUDE (partner_id)
       WHERE entry_type IN ('earn', 'redeem')""",
    # Points released after a date (points liability at a past date).
    """CREATE INDEX IF NOT EXISTS loyalty_ledger_line_released_idx
       ON loyalty_ledger_line (release_date)
       WHERE state = 'posted' AND release_date IS NOT NULL""",
    # Redeemers, for the points habit of the segment cron.
    """CREATE INDEX IF NOT EXISTS loyalty_ledger_line_redeem_card_idx
       ON loyalty_ledger_line (card_id) WHERE entry_type = 'redeem'""",
)


class LoyaltyReportOrder(models.Model):
    """Orders of members and non-members, for revenue and AOV analysis.

    Membership and tier are today's: the card of the company's membership
    program held by the order's customer. Read from the order facts
    (``loyalty.kpi.order``, kpi/order_facts.py): one narrow row per counted
    order, joined to its order for the name and salesperson; the date is
    the order's day.

    Each user reads the rows of the orders they may read: their companies,
    the sales orders of "All Documents" or their own, the POS orders of a
    POS user (record rules mirroring the orders')."""

    _name = "loyalty.report.order"
    _description = "Loyalty Order Analysis"
    _auto = False
    _order = "date desc"
    _rec_name = "name"

    name = fields.Char(string="Order", readonly=True)
    channel = fields.Selection(
        [("sale", "Sales"), ("pos", "Point of Sale")], readonly=True
    )
    date = fields.Datetime(string="Order Date", readonly=True)  # the day
    company_id = fields.Many2one("res.company", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    # The order's salesperson (sales) or responsible (POS): the record rules
    # show a salesperson limited to their own documents only their orders,
    # as on the orders themselves (security/loyalty_crm_security.xml).
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
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
                SELECT f.order_key AS id, f.channel,
                       COALESCE(so.name, po.name) AS name,
                       COALESCE(so.user_id, po.user_id) AS user_id,
                       f.day::timestamp AS date, f.company_id, f.partner_id,
                       f.amount, 1 AS order_count,
                       f.member_day IS NOT NULL AS is_member,
                       CASE WHEN f.member_day IS NOT NULL THEN 'member'
                            ELSE 'non_member' END AS customer_type,
                       (SELECT c.loyalty_tier_id FROM loyalty_card c
                          JOIN res_company rc
                            ON rc.loyalty_membership_program_id = c.program_id
                         WHERE rc.id = f.company_id AND c.partner_id = f.partner_id
                         ORDER BY c.id LIMIT 1) AS tier_id
                  FROM (%(facts)s) f
                  LEFT JOIN sale_order so
                    ON f.channel = 'sale' AND so.id = f.order_key / 2
                  LEFT JOIN pos_order po
                    ON f.channel = 'pos' AND po.id = f.order_key / 2
            )
            """,
                table=SQL.identifier(self._table),
                facts=facts_sql(),
            )
        )

    @api.model
    def _search(self, domain, offset=0, limit=None, order=None):
        # Orders this transaction changed: their facts first.
        self.env["loyalty.kpi.order"]._flush_facts()
        return super()._search(domain, offset=offset, limit=limit, order=order)
