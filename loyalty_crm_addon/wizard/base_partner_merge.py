# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models

from ..models.loyalty_ledger_line import ENGINE


class MergePartnerAutomatic(models.TransientModel):
    _inherit = "base.partner.merge.automatic.wizard"

    def _update_values(self, src_partners, dst_partner):
        """The merged contact keeps the merged ones' last loyalty activity,
        a figure only the engine writes."""
        return super(
            MergePartnerAutomatic, self.with_context(loyalty_ledger_origin=ENGINE)
        )._update_values(src_partners, dst_partner)
