# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import UserError


class LoyaltyEraseWizard(models.TransientModel):
    """Erasing a member's loyalty data cannot be undone: the manager types
    the member's name to confirm it (a stray click on OK no longer erases)."""

    _name = "loyalty.erase.wizard"
    _description = "Erase a Member's Loyalty Data"

    partner_id = fields.Many2one("res.partner", required=True, readonly=True)
    member_name = fields.Char(related="partner_id.commercial_partner_id.name")
    confirm_name = fields.Char(string="Type the member's name")

    @api.model
    def _same_name(self, typed, name):
        return (
            " ".join((typed or "").split()).casefold()
            == " ".join((name or "").split()).casefold()
        )

    def action_erase(self):
        """Erase the member if their name was typed; returns the action
        closing the dialog and reloading the contact."""
        self.ensure_one()
        member = self.partner_id.sudo().commercial_partner_id
        if not self._same_name(self.confirm_name, member.name):
            raise UserError(
                self.env._(
                    "Type the member's name, %s, to confirm: nothing was erased.",
                    member.name,
                )
            )
        self.partner_id.action_loyalty_erase()
        return {"type": "ir.actions.client", "tag": "soft_reload"}
