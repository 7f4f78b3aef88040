# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

INDEXES = (
    # The fold adds each day's sums onto its row (a company of none as 0).
    """CREATE UNIQUE INDEX IF NOT EXISTS loyalty_kpi_points_daily_key_idx
       ON loyalty_kpi_points_daily
          (day, program_id, (COALESCE(company_id, 0)), source, entry_type)""",
    """CREATE INDEX IF NOT EXISTS loyalty_kpi_points_daily_program_day_idx
       ON loyalty_kpi_points_daily (program_id, day)""",
)


class LoyaltyKpiPointsDaily(models.Model):
    """Points issued, redeemed, expired and net per day × program × company
    × source × entry type, folded from the ledger lines up to the watermark
    (kpi/aggregate.py) by the hourly KPI fold, in set-based SQL; read by the
    KPIs and the points report with the lines posted since."""

    _name = "loyalty.kpi.points.daily"
    _description = "Loyalty KPI Daily Points"
    _log_access = False
    _order = "day desc, id desc"

    day = fields.Date(required=True, readonly=True)
    program_id = fields.Many2one(
        "loyalty.program", required=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one("res.company", ondelete="cascade", readonly=True)
    # '' for none (the unique key).
    source = fields.Char(required=True, readonly=True)
    entry_type = fields.Selection(
        selection=lambda self: (
            self.env["loyalty.ledger.line"]
            ._fields["entry_type"]
            ._description_selection(self.env)
        ),
        string="Type",
        required=True,
        readonly=True,
    )
    points_issued = fields.Float(digits=(16, 2), required=True, readonly=True)
    points_redeemed = fields.Float(digits=(16, 2), required=True, readonly=True)
    points_expired = fields.Float(digits=(16, 2), required=True, readonly=True)
    points_net = fields.Float(digits=(16, 2), required=True, readonly=True)
    line_count = fields.Integer(string="Ledger Lines", required=True, readonly=True)

    def init(self):
        for statement in INDEXES:
            self.env.cr.execute(statement)
