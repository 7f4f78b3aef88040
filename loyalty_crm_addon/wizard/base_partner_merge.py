# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models

from ..engine.ledger import ENGINE, LedgerOrigin


class MergePartnerAutomatic(models.TransientModel):
    _inherit = "base.partner.merge.automatic.wizard"

    def _merge_loyalty_cards(self, src_partners, dst_partner):
        """Native merge moves the merged contacts' points onto one card: on
        membership cards, as ledger lines that say so."""
        return super(
            MergePartnerAutomatic,
            self.with_context(
                loyalty_ledger_origin=LedgerOrigin(
                    entry_type="adjust",
                    source="import",
                    description=self.env._(
                        "Contacts merged into %s", dst_partner.display_name
                    ),
                )
            ),
        )._merge_loyalty_cards(src_partners, dst_partner)

    def _update_values(self, src_partners, dst_partner):
        """The merged contact keeps the merged ones' last loyalty activity,
        a figure only the engine writes."""
        return super(
            MergePartnerAutomatic, self.with_context(loyalty_ledger_origin=ENGINE)
        )._update_values(src_partners, dst_partner)
