# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models

from ..engine.ledger import ENGINE, LedgerOrigin
from ..kpi import order_facts


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
        """The merged contacts' ledger lines and orders become the kept
        contact's: so do their last days of activity (KPI member activity,
        the latest per program), and the KPI order facts of the kept
        contact are rebuilt with them (kpi/order_facts.py). Scores and the
        facts' refresh rows are the merged contacts' own (their id is the
        contact's): dropped, the next segment run scores the kept contact
        again. Done before the native merge moves every row pointing to
        the merged contacts (it would move these onto the kept one, or drop
        them where the kept one has one)."""
        src, dst = src_partners.ids, dst_partner.id
        cr = self.env.cr
        self.env.flush_all()
        cr.execute(
            """
            DELETE FROM loyalty_member_score WHERE partner_id = ANY(%(src)s);
            DELETE FROM loyalty_kpi_customer WHERE partner_id = ANY(%(src)s);
            DELETE FROM loyalty_kpi_member_activity WHERE partner_id = ANY(%(src)s)
            RETURNING program_id, last_day
            """,
            {"src": src},
        )
        last_days = {}
        for program_id, last_day in cr.fetchall():
            last_days[program_id] = max(last_day, last_days.get(program_id, last_day))
        res = super()._update_foreign_keys(src_partners, dst_partner)
        if last_days:
            cr.execute(
                """
                INSERT INTO loyalty_kpi_member_activity AS a
                       (program_id, partner_id, last_day)
                SELECT p, %(dst)s, d
                  FROM unnest(%(programs)s::int[], %(days)s::date[]) AS v(p, d)
                ON CONFLICT (program_id, partner_id) DO UPDATE
                   SET last_day = GREATEST(a.last_day, EXCLUDED.last_day)
                """,
                {
                    "dst": dst,
                    "programs": list(last_days),
                    "days": list(last_days.values()),
                },
            )
        for model in (
            "loyalty.member.score",
            "loyalty.kpi.customer",
            "loyalty.kpi.member.activity",
            "loyalty.kpi.order",
        ):
            self.env[model].invalidate_model()
        order_facts.touch(self.env, partner_ids=[*src, dst])
        return res
