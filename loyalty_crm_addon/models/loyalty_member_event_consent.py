# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models

# Only the engine holds this object (an RPC context cannot carry it): it
# silences member events while balances are migrated by an import.
QUIET = object()


class LoyaltyMemberEvent(models.Model):
    """Consent gate of the automation: members who opted out of loyalty
    communications are never put on a loyalty mailing list."""

    _inherit = "loyalty.member.event"

    def _emit(self, vals_list):
        if self.env.context.get("loyalty_event_mute") is QUIET:
            return self.browse()
        return super()._emit(vals_list)

    def _loyalty_add_to_mailing_list(
        self, xmlid="loyalty_crm_addon.mailing_list_winback"
    ):
        allowed = self.partner_id._loyalty_can_contact()
        events = self.filtered(lambda e: e.partner_id in allowed)
        mailing_list = self.env.ref(xmlid, raise_if_not_found=False)
        if mailing_list and not mailing_list.loyalty_consent_required:
            mailing_list.sudo().loyalty_consent_required = True
        if events or not self:
            return super(LoyaltyMemberEvent, events)._loyalty_add_to_mailing_list(xmlid)
