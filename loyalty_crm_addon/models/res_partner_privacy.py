# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A member's privacy: consent to loyalty emails, export of their data,
erasure (engine/member_privacy.py)."""

from odoo import fields, models
from odoo.exceptions import AccessError, UserError

from ..engine import member_privacy
from .res_partner import (
    CONSENT_CHANNELS,
    CONSENT_VALUES,
)


class ResPartner(models.Model):
    # res.partner is extended per capability, each in its own file.
    _inherit = "res.partner"  # pylint: disable=consider-merging-classes-inherited

    # ------------------------------------------------------------------
    # Privacy: consent, export, erasure (engine/member_privacy.py)
    # ------------------------------------------------------------------
    loyalty_consent = fields.Selection(
        CONSENT_VALUES,
        string="Loyalty Communications",
        readonly=True,
        copy=False,
        tracking=True,
        index="btree_not_null",
        help="The member's choice about loyalty emails and mailings; members "
        "who opted out receive none. Empty: not asked yet.",
    )
    loyalty_consent_date = fields.Datetime(
        string="Consent Date", readonly=True, copy=False
    )
    loyalty_consent_channel = fields.Selection(
        CONSENT_CHANNELS,
        string="Consent Channel",
        readonly=True,
        copy=False,
        tracking=True,
    )

    # ------------------------------------------------------------------
    # Consent
    # ------------------------------------------------------------------
    def _loyalty_can_contact(self):
        """The partners that may receive loyalty emails and mailings: neither
        they nor their company opted out."""
        return self.filtered(
            lambda p: (
                p.loyalty_consent != "out"
                and p.commercial_partner_id.loyalty_consent != "out"
            )
        )

    def _loyalty_set_consent(self, consent, channel):
        """Record the choice (engine side: rights are the caller's job)."""
        if consent not in ("in", "out"):
            raise UserError(self.env._("Consent is 'in' or 'out'."))
        if channel not in dict(CONSENT_CHANNELS):
            raise UserError(self.env._("Unknown consent channel: %s", channel))
        changed = self.sudo().filtered(lambda p: p.loyalty_consent != consent)
        changed.write(
            {
                "loyalty_consent": consent,
                "loyalty_consent_date": fields.Datetime.now(),
                "loyalty_consent_channel": channel,
            }
        )
        if consent == "out" and changed:
            changed._loyalty_opt_out_lists()
        return True

    def loyalty_set_consent(self, consent, channel="backend"):
        """Record the member's consent to loyalty communications (``in`` or
        ``out``) and where it was given; returns True."""
        self._loyalty_check_group("loyalty_crm_addon.group_loyalty_user")
        if not self or not isinstance(consent, str) or not isinstance(channel, str):
            raise UserError(self.env._("Consent is 'in' or 'out', for contacts."))
        return self._loyalty_set_consent(consent, channel)

    def action_loyalty_consent_in(self):
        return self.loyalty_set_consent("in")

    def action_loyalty_consent_out(self):
        return self.loyalty_set_consent("out")

    # ------------------------------------------------------------------
    # Export
    # ------------------------------------------------------------------
    def _loyalty_check_privacy_access(self):
        """Loyalty staff, or the member themselves (portal)."""
        self.ensure_one()
        user = self.env.user
        if self.env.su or user.has_group("loyalty_crm_addon.group_loyalty_user"):
            return
        if user.partner_id.commercial_partner_id != self.sudo().commercial_partner_id:
            raise AccessError(self.env._("You can only see your own loyalty data."))

    def loyalty_export_data(self):
        """The member's loyalty data as a JSON-serialisable dict: profile,
        cards, ledger, tiers history, events, referrals, claims, activities."""
        self.ensure_one()
        self._loyalty_check_privacy_access()
        return member_privacy.export_data(self.sudo().commercial_partner_id)

    def action_loyalty_export(self):
        """Download the member's loyalty data as a JSON file."""
        self.ensure_one()
        self._loyalty_check_privacy_access()
        return {
            "type": "ir.actions.act_url",
            "url": f"/loyalty/privacy/export/{self.commercial_partner_id.id}",
            "target": "download",
        }

    # ------------------------------------------------------------------
    # Erasure
    # ------------------------------------------------------------------
    def action_loyalty_erase(self):
        """Anonymise the members' personal data in loyalty records (and on the
        contact), keeping every ledger amount; managers only; refused while
        a member has open orders. Returns True."""
        self._loyalty_check_group("loyalty_crm_addon.group_loyalty_manager")
        if not self:
            raise UserError(self.env._("Choose the members to erase."))
        members = self.sudo().commercial_partner_id
        for member in members:
            open_orders = member_privacy.open_orders(member)
            if open_orders:
                raise UserError(
                    self.env._(
                        "%(member)s has open orders (%(orders)s): finish or "
                        "cancel them before erasing the member's data.",
                        member=member.display_name,
                        orders=", ".join(open_orders),
                    )
                )
        for member in members:
            member_privacy.erase_one(member)
        return True
