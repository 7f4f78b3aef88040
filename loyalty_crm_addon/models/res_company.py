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

    def write(self, vals):
        if "loyalty_membership_program_id" in vals and any(
            company.loyalty_membership_program_id.id
            != (vals["loyalty_membership_program_id"] or False)
            for company in self
        ):
            # Who is a member changes for every order of the company: the KPI
            # order facts are built again before the transaction commits.
            self.env["loyalty.kpi.order"]._touch(everything=True)
        return super().write(vals)
