# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.tools import SQL

from ..kpi.aggregate import FOLD_ACTIVITY_SQL, FOLD_SQL

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

    @api.model
    def _fold_points(self, batch_size=2000000, on_batch=None):
        """Fold the ledger lines posted since the watermark into the daily
        aggregate, ``batch_size`` ids per transaction step; returns the span
        of ids folded. The environment's cursor must be at the start of its
        transaction (the lock comes before the snapshot); ``on_batch(done)``
        may commit, the next step locks again."""
        cr = self.env.cr
        folded = 0
        # Members' last days are folded once for every line up to the top (a
        # last day only moves forward, so folding a line again is harmless:
        # a run stopped between steps folds them again). Per step, each step
        # would touch nearly every member again.
        activity_upto = 0
        while True:
            cr.execute("LOCK TABLE loyalty_ledger_line IN SHARE MODE")
            cr.execute(
                """
                SELECT w.last_id, (SELECT MAX(id) FROM loyalty_ledger_line)
                  FROM loyalty_kpi_watermark w WHERE w.name = 'points' FOR UPDATE
                """
            )
            after, top = cr.fetchone()
            if not top or top <= after:
                return folded
            upto = min(top, after + batch_size)
            cr.execute(SQL(FOLD_SQL, after=after, upto=upto))
            if activity_upto < upto:
                cr.execute(SQL(FOLD_ACTIVITY_SQL, after=after, upto=top))
                activity_upto = top
            cr.execute(
                "UPDATE loyalty_kpi_watermark SET last_id = %s WHERE name = 'points'",
                [upto],
            )
            folded += upto - after
            if on_batch:
                on_batch(folded)
            if upto == top:
                return folded
