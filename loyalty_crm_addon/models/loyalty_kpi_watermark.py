# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class LoyaltyKpiWatermark(models.Model):
    """How far the KPI fold went (kpi/aggregate.py): ``points`` is the
    highest ledger line id folded into the daily points and the members'
    last days. Written by the fold only."""

    _name = "loyalty.kpi.watermark"
    _description = "Loyalty KPI Fold Watermark"
    _log_access = False

    name = fields.Char(required=True, readonly=True)
    last_id = fields.Integer(required=True, readonly=True)

    _sql_constraints = [
        ("name_uniq", "unique(name)", "One watermark per name."),
    ]

    def init(self):
        self.env.cr.execute(
            """
            INSERT INTO loyalty_kpi_watermark (name, last_id)
            SELECT 'points', 0 WHERE NOT EXISTS (
                SELECT 1 FROM loyalty_kpi_watermark WHERE name = 'points')
            """
        )
