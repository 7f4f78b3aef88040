# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models

# Lines that move what achievements count: orders (earned, taken back) and
# referrals converted.
ACHIEVEMENT_TYPES = ("earn", "reversal", "referral")


class LoyaltyLedgerLine(models.Model):
    _inherit = "loyalty.ledger.line"  # pylint: disable=consider-merging-classes-inherited

    def _loyalty_after_post(self, **kwargs):
        """Members whose orders or referrals moved get their achievements'
        progress computed after the business transaction (nothing here can
        block a sale): their cards are only marked."""
        res = super()._loyalty_after_post(**kwargs)
        counted = self.filtered(lambda ln: ln.entry_type in ACHIEVEMENT_TYPES)
        if counted:
            self.env["loyalty.achievement"]._loyalty_mark_due(counted.card_id)
        return res
