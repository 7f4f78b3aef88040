# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models, tools
from odoo.tools import SQL

from ..kpi.aggregate import POINTS_DAILY_SQL


class LoyaltyReportPoints(models.Model):
    """Points issued, redeemed and expired, net of reversals, per day.

    Issued points are earn, bonus and referral lines and their reversals
    (the lines that count for tiers); redeemed points are redeem lines and
    their reversals (the points given back). Read from the daily aggregate
    (``loyalty.kpi.points.daily``, kpi/aggregate.py) plus the lines posted
    since its last fold: thousands of rows, however long the ledger."""

    _name = "loyalty.report.points"
    _description = "Loyalty Points Analysis"
    _auto = False
    _order = "date desc"

    date = fields.Datetime(readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    program_id = fields.Many2one("loyalty.program", readonly=True)
    channel = fields.Selection(
        [("sale", "Sales"), ("pos", "Point of Sale"), ("other", "Other")],
        readonly=True,
    )
    entry_type = fields.Selection(
        selection=lambda self: (
            self.env["loyalty.ledger.line"]
            ._fields["entry_type"]
            ._description_selection(self.env)
        ),
        string="Type",
        readonly=True,
    )
    points_issued = fields.Float(readonly=True, digits=(16, 2))
    points_redeemed = fields.Float(readonly=True, digits=(16, 2))
    points_expired = fields.Float(readonly=True, digits=(16, 2))
    points_net = fields.Float(string="Net Points", readonly=True, digits=(16, 2))
    line_count = fields.Integer(string="Ledger Lines", readonly=True)

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """
            CREATE OR REPLACE VIEW %(table)s AS (
                SELECT p.id, p.day::timestamp AS date,
                       p.company_id, p.program_id,
                       p.entry_type,
                       CASE WHEN p.source IN ('sale', 'pos') THEN p.source
                            ELSE 'other' END AS channel,
                       p.points_issued, p.points_redeemed, p.points_expired,
                       p.points_net, p.line_count
                  FROM (%(points)s) p
            )
            """,
                table=SQL.identifier(self._table),
                points=SQL(POINTS_DAILY_SQL),
            )
        )

    @api.model
    def _cron_fold_kpi(self, batch_size=2000000):
        """Fold the ledger lines posted since the last run into the daily
        points aggregate (kpi/aggregate.py), in a cursor of its own whose
        transaction starts with the fold's lock (its snapshot must not be
        older than the lock), committed after each step: it locks the
        ledger against new posts for the few milliseconds a fold of new
        lines takes. The caller's pending writes are flushed first (where
        the registry's cursors share the caller's transaction, as in Odoo's
        test mode, the fold reads them). Returns the span of ledger ids
        folded."""
        cron = self.env["ir.cron"]
        self.env.flush_all()
        with self.env.registry.cursor() as cr:

            def on_batch(done):
                cr.commit()  # pylint: disable=invalid-commit
                cron._notify_progress(done=done, remaining=0)

            Daily = self.env(cr=cr)["loyalty.kpi.points.daily"]
            folded = Daily._fold_points(batch_size=batch_size, on_batch=on_batch)
        self.env.invalidate_all()
        return folded
