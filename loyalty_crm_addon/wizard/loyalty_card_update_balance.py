# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models

from ..models.loyalty_ledger_line import LedgerOrigin


class LoyaltyCardUpdateBalance(models.TransientModel):
    _inherit = "loyalty.card.update.balance"

    def action_update_card_point(self):
        """The ledger line says why, with the reason typed in the wizard."""
        return super(
            LoyaltyCardUpdateBalance,
            self.with_context(
                loyalty_ledger_origin=LedgerOrigin(
                    source="manual", description=self.description
                )
            ),
        ).action_update_card_point()
