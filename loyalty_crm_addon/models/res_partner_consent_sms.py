# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A member's consent to loyalty SMS, separate from the consent to loyalty
emails and mailings (``loyalty_consent``).

SMS is opt-in: a member receives loyalty SMS only after saying yes
(``loyalty_consent_sms = 'in'``), and only on a valid mobile number; not
asked yet (empty) means no SMS. Emails stay opt-out (empty = allowed)."""

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from ..engine.ledger import ENGINE
from .res_partner import CONSENT_CHANNELS, CONSENT_VALUES

SMS_CONSENT_FIELDS = [
    "loyalty_consent_sms",
    "loyalty_consent_sms_date",
    "loyalty_consent_sms_channel",
]


class ResPartner(models.Model):
    # res.partner is extended per capability, each in its own file.
    _inherit = "res.partner"  # pylint: disable=consider-merging-classes-inherited

    loyalty_consent_sms = fields.Selection(
        CONSENT_VALUES,
        string="Loyalty SMS",
        readonly=True,
        copy=False,
        tracking=True,
        index="btree_not_null",
        help="The member's choice about loyalty text messages (SMS). SMS are "
        "opt-in: only members who opted in receive them, on their mobile. "
        "Empty: not asked yet (no SMS).",
    )
    loyalty_consent_sms_date = fields.Datetime(
        string="SMS Consent Date", readonly=True, copy=False
    )
    loyalty_consent_sms_channel = fields.Selection(
        CONSENT_CHANNELS,
        string="SMS Consent Channel",
        readonly=True,
        copy=False,
        tracking=True,
    )

    def _loyalty_check_engine_fields(self, fnames):
        """The SMS consent is recorded through its methods only (with its
        date and channel): nobody writes it by hand, over RPC neither; the
        engine (a contacts merge copying it) and superuser code may."""
        touched = set(SMS_CONSENT_FIELDS).intersection(fnames)
        if (
            touched
            and not self.env.su
            and self.env.context.get("loyalty_ledger_origin") is not ENGINE
        ):
            raise UserError(
                self.env._(
                    "%(fields)s: recorded with the member's choice (Opt In / "
                    "Opt Out), nobody changes them by hand.",
                    fields=", ".join(sorted(self._fields[f].string for f in touched)),
                )
            )
        return super()._loyalty_check_engine_fields(fnames)

    # ------------------------------------------------------------------
    # Consent
    # ------------------------------------------------------------------
    def _loyalty_can_sms(self):
        """The partners that may receive loyalty SMS: they opted in, their
        company did not opt out, and their mobile number is valid."""
        return self.filtered(
            lambda p: (
                p.loyalty_consent_sms == "in"
                and p.commercial_partner_id.loyalty_consent_sms != "out"
                and p.mobile
                and p._phone_format(fname="mobile")
            )
        )

    def _loyalty_set_consent_sms(self, consent, channel):
        """Record the choice about SMS (engine side: rights are the caller's
        job)."""
        if consent not in ("in", "out"):
            raise UserError(self.env._("Consent is 'in' or 'out'."))
        if channel not in dict(CONSENT_CHANNELS):
            raise UserError(self.env._("Unknown consent channel: %s", channel))
        self.sudo().filtered(lambda p: p.loyalty_consent_sms != consent).write(
            {
                "loyalty_consent_sms": consent,
                "loyalty_consent_sms_date": fields.Datetime.now(),
                "loyalty_consent_sms_channel": channel,
            }
        )
        return True

    def loyalty_set_consent_sms(self, consent, channel="backend"):
        """Record the member's consent to loyalty SMS (``in`` or ``out``)
        and where it was given; returns True."""
        self._loyalty_check_group("loyalty_crm_addon.group_loyalty_user")
        if not self or not isinstance(consent, str) or not isinstance(channel, str):
            raise UserError(self.env._("Consent is 'in' or 'out', for contacts."))
        return self._loyalty_set_consent_sms(consent, channel)

    def action_loyalty_consent_sms_in(self):
        return self.loyalty_set_consent_sms("in")

    def action_loyalty_consent_sms_out(self):
        return self.loyalty_set_consent_sms("out")

    # ------------------------------------------------------------------
    # At the till
    # ------------------------------------------------------------------
    @api.model
    def _load_pos_data_fields(self, config_id):
        # The member panel shows the customer's choice as the till loads it.
        return super()._load_pos_data_fields(config_id) + SMS_CONSENT_FIELDS

    def loyalty_pos_set_consent_sms(self, consent, config_id):
        """The customer's choice about SMS told to the cashier: recorded
        with the channel ``pos`` and the date. Returns the partner's SMS
        consent fields as the till loads them."""
        config = self._loyalty_pos_config(config_id)
        if not self.env.su and not self.env.user.has_group(
            "point_of_sale.group_pos_user"
        ):
            raise AccessError(
                self.env._("Only point of sale users record consent at the till.")
            )
        if len(self) != 1 or consent not in ("in", "out"):
            raise UserError(self.env._("Consent is 'in' or 'out', for one customer."))
        self.check_access("read")
        config.check_access("read")
        self._loyalty_set_consent_sms(consent, "pos")
        self.invalidate_recordset(SMS_CONSENT_FIELDS)
        return self.read(SMS_CONSENT_FIELDS)[0]

    # ------------------------------------------------------------------
    # Privacy: export and erasure
    # ------------------------------------------------------------------
    def _loyalty_export_data(self):
        data = super()._loyalty_export_data()
        data["profile"].update(
            {
                name: self._loyalty_export_value(self[name])
                for name in SMS_CONSENT_FIELDS
            }
        )
        return data

    def _loyalty_erase_one(self):
        """An erased member gets no more SMS: their choice becomes
        ``out``."""
        res = super()._loyalty_erase_one()
        people = self | self.child_ids.with_context(active_test=False)
        people.with_context(tracking_disable=True).write(
            {
                "loyalty_consent_sms": "out",
                "loyalty_consent_sms_date": fields.Datetime.now(),
                "loyalty_consent_sms_channel": "backend",
            }
        )
        return res
