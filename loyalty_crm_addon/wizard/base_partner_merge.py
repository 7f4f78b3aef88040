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

    def _update_foreign_keys(self, src_partners, dst_partner):
        """The merged contacts' ledger lines become the kept contact's: so
        does their last day of activity in the KPI table (kpi/aggregate.py,
        no foreign key: the merge would leave it on the removed contacts).
        Scores (``loyalty_member_score``) follow their foreign key; the
        next segment run scores the kept contact again."""
        res = super()._update_foreign_keys(src_partners, dst_partner)
        self.env.cr.execute(
            """
            INSERT INTO loyalty_kpi_member_activity AS a
                   (program_id, partner_id, last_day)
            SELECT program_id, %(dst)s, MAX(last_day)
              FROM loyalty_kpi_member_activity
             WHERE partner_id = ANY(%(src)s)
             GROUP BY program_id
            ON CONFLICT (program_id, partner_id) DO UPDATE
               SET last_day = GREATEST(a.last_day, EXCLUDED.last_day);
            DELETE FROM loyalty_kpi_member_activity WHERE partner_id = ANY(%(src)s);
            """,
            {"dst": dst_partner.id, "src": src_partners.ids},
        )
        return res
