# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models, tools
from odoo.tools import SQL

from ..kpi.sql import ISSUED_SQL, REDEEMED_SQL


class LoyaltyReportPoints(models.Model):
    """Points issued, redeemed and expired, net of reversals.

    Issued points are earn, bonus and referral lines and their reversals
    (the lines that count for tiers); redeemed points are redeem lines and
    their reversals (the points given back)."""

    _name = "loyalty.report.points"
    _description = "Loyalty Points Analysis"
    _auto = False
    _order = "date desc"

    date = fields.Datetime(readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    program_id = fields.Many2one("loyalty.program", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Member", readonly=True)
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
    state = fields.Selection(
        [("pending", "Pending"), ("posted", "Posted")], readonly=True
    )
    points_issued = fields.Float(readonly=True, digits=(16, 2))
    points_redeemed = fields.Float(readonly=True, digits=(16, 2))
    points_expired = fields.Float(readonly=True, digits=(16, 2))
    points_net = fields.Float(string="Net Points", readonly=True, digits=(16, 2))

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """
            CREATE OR REPLACE VIEW %(table)s AS (
                SELECT l.id, l.date, l.company_id, l.program_id, l.partner_id,
                       l.entry_type, l.state,
                       CASE WHEN l.source IN ('sale', 'pos') THEN l.source
                            ELSE 'other' END AS channel,
                       %(issued)s AS points_issued,
                       %(redeemed)s AS points_redeemed,
                       CASE WHEN l.entry_type = 'expire' THEN -l.points
                            ELSE 0 END AS points_expired,
                       l.points AS points_net
                  FROM loyalty_ledger_line l
            )
            """,
                table=SQL.identifier(self._table),
                issued=SQL(ISSUED_SQL),
                redeemed=SQL(REDEEMED_SQL),
            )
        )
