# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class PosConfig(models.Model):
    _inherit = "pos.config"

    loyalty_ask_before_spending = fields.Boolean(
        string="Ask Before a Reward Spends Points",
        default=True,
        help="The till asks the cashier, naming the reward and its points "
        "cost, before a reward of the membership program spends a member's "
        "points (a free product scanned included). Off: Odoo's own behaviour "
        "(a scanned free product is given at once).",
    )
    # The till tells the membership program's rewards from the others'.
    loyalty_membership_program_id = fields.Many2one(
        related="company_id.loyalty_membership_program_id"
    )
