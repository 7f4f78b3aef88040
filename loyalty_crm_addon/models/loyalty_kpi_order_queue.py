# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class LoyaltyKpiOrderQueue(models.Model):
    """Orders and customers whose KPI order facts are to be rebuilt
    (kpi/order_facts.py). A transaction that changed counted orders or
    membership cards adds its rows before it commits (plain inserts: two
    tills never wait on each other here); the refresh cron, and any reader
    of the facts on the primary database, take them and rebuild the facts
    of those customers in one statement."""

    _name = "loyalty.kpi.order.queue"
    _description = "Loyalty KPI Order Facts to Rebuild"
    _log_access = False
    _order = "id"

    order_key = fields.Integer(readonly=True)
    partner_id = fields.Integer(string="Customer", readonly=True)
