# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class LoyaltyKpiCustomer(models.Model):
    """One row per customer whose KPI order facts were rebuilt
    (kpi/order_facts.py): the refresh updates it first, so two transactions
    rebuilding the same customer meet on it and the second fails to
    serialise (and is retried) instead of writing facts from a snapshot
    without the first one's order. The id is the customer's."""

    _name = "loyalty.kpi.customer"
    _description = "Loyalty KPI Customer Refresh"
    _log_access = False

    partner_id = fields.Many2one(
        "res.partner", required=True, ondelete="cascade", readonly=True
    )
    version = fields.Integer(required=True, readonly=True)

    _sql_constraints = [
        ("partner_uniq", "unique(partner_id)", "One row per customer."),
    ]
