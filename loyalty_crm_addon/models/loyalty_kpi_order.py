# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

from ..kpi import order_facts

INDEXES = (
    # The KPIs of a period, the Member Revenue report.
    """CREATE INDEX IF NOT EXISTS loyalty_kpi_order_day_idx
       ON loyalty_kpi_order (company_id, day)""",
    # A customer's orders (the refresh, the churn score's batches).
    """CREATE INDEX IF NOT EXISTS loyalty_kpi_order_partner_cover_idx
       ON loyalty_kpi_order (partner_id) INCLUDE (company_id, day, amount)""",
)


class LoyaltyKpiOrder(models.Model):
    """One narrow row per order the loyalty KPIs count, with the customer's
    previous orders and membership day (kpi/order_facts.py). Written only
    by the KPI engine, in set-based SQL, before each transaction that
    changed orders or cards commits; read by the KPIs, the churn score and
    the Member Revenue report. The id is the order key: 2 × the sales
    order's id, 2 × the POS order's id + 1."""

    _name = "loyalty.kpi.order"
    _description = "Loyalty KPI Order Facts"
    _log_access = False
    _order = "day desc, id desc"

    order_key = fields.Integer(required=True, readonly=True)
    partner_id = fields.Many2one(
        "res.partner", string="Customer", ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one(
        "res.company", required=True, ondelete="cascade", readonly=True
    )
    channel = fields.Selection(
        [("sale", "Sales"), ("pos", "Point of Sale")], required=True, readonly=True
    )
    day = fields.Date(required=True, readonly=True)
    amount = fields.Float(
        string="Untaxed Amount", digits=(16, 2), required=True, readonly=True
    )
    member_day = fields.Date(
        readonly=True,
        help="The day the customer joined the company's membership program.",
    )
    prev_day = fields.Date(string="Previous Order Day", readonly=True)
    prev2_day = fields.Date(string="Order Day Before", readonly=True)
    prev_day_ch = fields.Date(string="Previous Order Day (Channel)", readonly=True)
    prev2_day_ch = fields.Date(string="Order Day Before (Channel)", readonly=True)

    def init(self):
        for statement in INDEXES:
            self.env.cr.execute(statement)
        # Installation: the facts of the orders already there (a minute at
        # two million orders).
        self.env.cr.execute("SELECT 1 FROM loyalty_kpi_order LIMIT 1")
        if not self.env.cr.fetchone():
            order_facts.rebuild_all(self.env.cr)

    @api.model
    def _search(self, domain, offset=0, limit=None, order=None):
        # Orders this transaction changed: their facts first.
        order_facts.flush(self.env)
        return super()._search(domain, offset=offset, limit=limit, order=order)
