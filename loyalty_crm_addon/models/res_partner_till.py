# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The contact at the till: find a member, show their standing, enrol
them, record their consent (engine/member_pos.py)."""

from odoo import api, models
from odoo.exceptions import AccessError, UserError

from ..engine import member_pos
from .res_partner import (
    CONSENT_FIELDS,
)


class ResPartner(models.Model):
    # res.partner is extended per capability, each in its own file.
    _inherit = "res.partner"  # pylint: disable=consider-merging-classes-inherited

    # ------------------------------------------------------------------
    # The till: find a member, show their standing, enroll them
    # (engine/member_pos.py)
    # ------------------------------------------------------------------
    @api.model
    def _loyalty_pos_config(self, config_id):
        if isinstance(config_id, bool) or not isinstance(config_id, int):
            raise UserError(self.env._("Unknown point of sale."))
        config = self.env["pos.config"].search_fetch(
            [("id", "=", config_id)], ["company_id"], limit=1
        )
        if not config:
            raise UserError(self.env._("Unknown point of sale."))
        return config

    def init(self):
        res = super().init()
        member_pos.create_indexes(self.env.cr, self.env.registry.has_trigram)
        return res

    @api.model
    def loyalty_pos_search(
        self, query, config_id, offset=0, limit=member_pos.POS_SEARCH_LIMIT
    ):
        """Ids of the partners a till's customer search finds for ``query``:
        a member's whole card code or referral code, or a whole barcode,
        first; then the start of a name (or of its second or third word),
        phone, mobile or email; a word further in the name when nothing
        else matched. Searched here, by index, so that a shop with many
        members never loads them all."""
        return self._loyalty_pos_search(
            query, self._loyalty_pos_config(config_id), offset, limit
        )

    @api.model
    def _loyalty_pos_search(self, query, config, offset, limit):
        if not isinstance(query, str) or len(query) > member_pos.MAX_POS_QUERY:
            raise UserError(self.env._("Invalid search."))
        if (
            isinstance(offset, bool)
            or not isinstance(offset, int)
            or isinstance(limit, bool)
            or not isinstance(limit, int)
        ):
            raise UserError(self.env._("Invalid search."))
        query = query.strip()
        if not query:
            return []
        offset, limit = max(0, offset), max(1, min(limit, 100))
        return member_pos.pos_search(self, query, config, offset, limit)

    @api.model
    def loyalty_pos_find(
        self, query, config_id, offset=0, limit=member_pos.POS_SEARCH_LIMIT
    ):
        """The till's customer search in one call: ``ids`` found
        (``loyalty_pos_search``), the ``partners`` as the till loads them
        and their standing (``members``, as ``loyalty_pos_member_info``)."""
        config = self._loyalty_pos_config(config_id)
        ids = self._loyalty_pos_search(query, config, offset, limit)
        partners = self.browse(ids)
        return {
            "ids": ids,
            "partners": partners.read(
                partners._load_pos_data_fields(config.id), load=False
            ),
            "members": partners._loyalty_pos_member_info(config),
        }

    def loyalty_pos_member_info(self, config_id):
        """Standing of the partners at the till, as plain values keyed by
        partner id (str): membership card, available and pending points,
        tier, progress to the next tier, points expiring soon."""
        return self._loyalty_pos_member_info(self._loyalty_pos_config(config_id))

    def _loyalty_pos_member_info(self, config):
        # The partners the user may read.
        partners = (
            self.with_company(config.company_id)
            .with_context(active_test=False)
            .search_fetch([("id", "in", self.ids)], ["commercial_partner_id"])
        )
        return member_pos.member_info(partners, config)

    def loyalty_pos_enroll(self, config_id):
        """Enroll the customer at the till; returns their standing (with
        the new card's id)."""
        self.ensure_one()
        config = self._loyalty_pos_config(config_id)
        self.with_company(config.company_id).action_loyalty_enroll()
        return self._loyalty_pos_member_info(config)[str(self.id)]

    # ------------------------------------------------------------------
    # Consent at the till
    # ------------------------------------------------------------------
    @api.model
    def _load_pos_data_fields(self, config_id):
        # The member panel shows the customer's choice as the till loads it.
        return super()._load_pos_data_fields(config_id) + CONSENT_FIELDS

    def loyalty_pos_set_consent(self, consent, config_id):
        """The customer's choice told to the cashier: recorded on the server
        with the channel ``pos`` and the date. Returns the partner's consent
        fields as the till loads them, so the panel shows them at once."""
        config = self._loyalty_pos_config(config_id)
        if not self.env.su and not self.env.user.has_group(
            "point_of_sale.group_pos_user"
        ):
            raise AccessError(
                self.env._("Only point of sale users record consent at the till.")
            )
        if len(self) != 1 or consent not in ("in", "out"):
            raise UserError(self.env._("Consent is 'in' or 'out', for one customer."))
        # The cashier sees the customer; the choice is the customer's own.
        self.check_access("read")
        config.check_access("read")
        self._loyalty_set_consent(consent, "pos")
        self.invalidate_recordset(CONSENT_FIELDS)
        return self.read(CONSENT_FIELDS)[0]

    def _loyalty_opt_out_lists(self):
        """Their subscriptions to loyalty mailing lists are opted out, the way
        mass mailing's own unsubscribe does it."""
        subscriptions = self._loyalty_list_subscriptions().filtered(
            lambda s: not s.opt_out
        )
        subscriptions.write({"opt_out": True})

    def _loyalty_list_subscriptions(self):
        """Subscriptions of the partners' emails to loyalty mailing lists."""
        emails = [e for e in self.mapped("email_normalized") if e]
        if not emails:
            return self.env["mailing.subscription"]
        return (
            self.env["mailing.subscription"]
            .sudo()
            .search(
                [
                    ("contact_id.email_normalized", "in", emails),
                    ("list_id.loyalty_consent_required", "=", True),
                ]
            )
        )
