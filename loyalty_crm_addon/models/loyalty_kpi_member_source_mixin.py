# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models

from ..kpi.order_facts import CARD_FIELDS


class LoyaltyKpiMemberSourceMixin(models.AbstractModel):
    """Membership cards: a card's creation day makes its holder a member in
    the KPI order facts (kpi/order_facts.py). Cards created, moved to
    another holder or program, or deleted touch their holders' facts,
    rebuilt before the transaction commits."""

    _name = "loyalty.kpi.member.source.mixin"
    _description = "Cards making members for the loyalty KPIs"

    def _loyalty_kpi_touch(self, partner_ids=()):
        self.env["loyalty.kpi.order"]._touch(
            partner_ids=[*self.partner_id.ids, *partner_ids]
        )

    @api.model_create_multi
    def create(self, vals_list):
        cards = super().create(vals_list)
        cards.filtered(lambda c: c.program_type == "loyalty")._loyalty_kpi_touch()
        return cards

    def write(self, vals):
        if CARD_FIELDS.isdisjoint(vals):
            return super().write(vals)
        new = vals.get("partner_id")
        self._loyalty_kpi_touch([new] if isinstance(new, int) else [])
        return super().write(vals)

    def unlink(self):
        self._loyalty_kpi_touch()
        return super().unlink()
