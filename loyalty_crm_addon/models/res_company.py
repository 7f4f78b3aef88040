# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    loyalty_membership_program_id = fields.Many2one(
        "loyalty.program",
        string="Membership Program",
        domain="[('program_type', '=', 'loyalty'), ('company_id', 'in', [id, False])]",
        help="The loyalty program whose cards make a customer a member.",
    )
