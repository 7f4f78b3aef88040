# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models
from odoo.exceptions import AccessError, ValidationError
from odoo.tools import float_is_zero

from ..engine.ledger import PRECISION


class LoyaltyCardUpdateBalance(models.TransientModel):
    _inherit = "loyalty.card.update.balance"

    def action_update_card_point(self):
        """On a membership card the new balance is an adjustment in the
        ledger, by a loyalty manager, with the reason typed here; gift cards
        and eWallets keep the native update."""
        if self.card_id.program_type != "loyalty":
            return super().action_update_card_point()
        self.ensure_one()
        if not self.env.user.has_group("loyalty_crm_addon.group_loyalty_manager"):
            raise AccessError(
                self.env._(
                    "Only loyalty managers change the balance of a membership card."
                )
            )
        Partner = self.env["res.partner"]
        Partner._loyalty_check_points(self.new_balance)
        reason = Partner._loyalty_check_text(self.description, self.env._("Reason"))
        card = self.card_id.sudo()
        card._loyalty_lock()
        difference = self.new_balance - card.points
        if self.new_balance < 0 or float_is_zero(
            difference, precision_digits=PRECISION
        ):
            raise ValidationError(
                self.env._(
                    "The new balance must be zero or more and differ from the "
                    "current one."
                )
            )
        card._loyalty_adjust(difference, reason)
        return True
