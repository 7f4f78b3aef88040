# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models


class PrivacyLookupWizard(models.TransientModel):
    """Odoo's privacy lookup finds the loyalty records of a person (they
    link to the contact); ledger lines cannot be deleted, so the lookup
    offers the loyalty erasure instead: personal data out, amounts kept."""

    _inherit = "privacy.lookup.wizard"

    def action_loyalty_erase(self):
        self.ensure_one()
        lines = self.line_ids.filtered(
            lambda ln: ln.res_model == "res.partner" and not ln.is_unlinked
        )
        partners = self.env["res.partner"].browse(lines.mapped("res_id")).exists()
        partners.action_loyalty_erase()
        for line in lines:
            line.execution_details = self.env._(
                "Loyalty data erased for %(model)s #%(id)s",
                model=line.res_model_id.name,
                id=line.res_id,
            )
        return self.action_open_lines()
