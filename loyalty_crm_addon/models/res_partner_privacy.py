# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A member's privacy: consent to loyalty emails, export of their data,
erasure."""

import datetime

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from ..engine.member_privacy import ERASED, PARTNER_FIELDS, PRIVACY_MODELS
from .res_partner import (
    CONSENT_CHANNELS,
    CONSENT_VALUES,
)


class ResPartner(models.Model):
    # res.partner is extended per capability, each in its own file.
    _inherit = "res.partner"  # pylint: disable=consider-merging-classes-inherited

    # ------------------------------------------------------------------
    # Privacy: consent, export, erasure
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
        return self.sudo().commercial_partner_id._loyalty_export_data()

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
    def action_open_loyalty_erase(self):
        """The dialog asking the member's name before erasing them."""
        self.ensure_one()
        self._loyalty_check_group("loyalty_crm_addon.group_loyalty_manager")
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Erase Loyalty Data"),
            "res_model": "loyalty.erase.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_partner_id": self.id},
        }

    def action_loyalty_erase(self):
        """Anonymise the members' personal data in loyalty records (and on the
        contact), keeping every ledger amount; managers only; refused while
        a member has open orders. Returns True."""
        self._loyalty_check_group("loyalty_crm_addon.group_loyalty_manager")
        if not self:
            raise UserError(self.env._("Choose the members to erase."))
        members = self.sudo().commercial_partner_id
        for member in members:
            open_orders = member._loyalty_open_orders()
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
            member._loyalty_erase_one()
        return True

    # ------------------------------------------------------------------
    # Export and erasure: the work (rights are the caller's job)
    # ------------------------------------------------------------------
    @api.model
    def _loyalty_export_value(self, value):
        """A value any JSON or XML-RPC client reads."""
        if isinstance(value, models.BaseModel):
            if len(value) == 1:
                return value.display_name
            return value.mapped("display_name")
        if isinstance(value, datetime.datetime | datetime.date):
            return value.isoformat()
        if isinstance(value, bytes):
            return False
        return value

    @api.model
    def _loyalty_export_records(self, records, field_names=None):
        """Plain dicts of records: their stored fields, relations by name."""
        skip = {"create_uid", "write_uid", "write_date", "message_main_attachment_id"}
        names = field_names or [
            name
            for name, field in records._fields.items()
            if field.store
            and name not in skip
            and field.type not in ("binary", "one2many", "many2many")
        ]
        value = self._loyalty_export_value
        return [{name: value(record[name]) for name in names} for record in records]

    def _loyalty_export_data(self):
        """The member's loyalty data as a JSON-serialisable dict: profile,
        cards, ledger, tiers history, events, referrals, claims, activities
        (``self``: the member, as superuser)."""
        self.ensure_one()
        partner, env = self, self.env
        export = self._loyalty_export_records
        people = partner | partner.child_ids
        cards = partner.loyalty_card_ids.filtered(
            lambda c: c.program_id.program_type == "loyalty"
        )
        data = {
            "exported_on": fields.Datetime.now().isoformat(),
            "profile": {
                name: self._loyalty_export_value(partner[name])
                for name in (
                    "name",
                    "email",
                    "phone",
                    "mobile",
                    "street",
                    "zip",
                    "city",
                    "country_id",
                    "lang",
                    "ref",
                    "loyalty_birthday",
                    "loyalty_balance",
                    "loyalty_pending_balance",
                    "loyalty_tier_id",
                    "loyalty_last_activity_date",
                    # Profiling the member is subject to access too.
                    "loyalty_segment",
                    "loyalty_churn_score",
                    "loyalty_churn_reason",
                    "loyalty_points_habit",
                    "loyalty_consent",
                    "loyalty_consent_date",
                    "loyalty_consent_channel",
                )
                + tuple(
                    name
                    for name in ("loyalty_referral_code", "loyalty_referred_by_id")
                    if name in partner._fields
                )
            },
            "cards": export(
                cards,
                [
                    "code",
                    "program_id",
                    "points",
                    "loyalty_tier_id",
                    "loyalty_tier_since",
                    "create_date",
                ],
            ),
            "ledger": export(
                cards.ledger_line_ids.sorted(lambda ln: (ln.date, ln.id)),
                [
                    "date",
                    "program_id",
                    "entry_type",
                    "points",
                    "state",
                    "expiry_date",
                    "reference",
                    "description",
                    "source",
                    "sale_order_id",
                    "pos_order_id",
                    "move_id",
                ],
            ),
        }
        Event = env["loyalty.member.event"].sudo()
        events = Event.search([("partner_id", "in", people.ids)], order="date, id")
        data["events"] = export(
            events, ["date", "event_type", "points", "reward_id", "description"]
        )
        data["tiers_history"] = export(
            events.filtered(
                lambda e: e.event_type in ("tier_upgrade", "tier_downgrade")
            ),
            ["date", "event_type", "previous_tier_id", "tier_id", "description"],
        )
        data["referrals"] = []
        if "loyalty.referral" in env:
            data["referrals"] = export(
                env["loyalty.referral"]
                .sudo()
                .search(
                    [
                        "|",
                        ("referrer_id", "in", people.ids),
                        ("referee_id", "in", people.ids),
                    ]
                )
            )
        data["claims"] = []
        if "loyalty.reward.claim" in env:
            data["claims"] = export(
                env["loyalty.reward.claim"]
                .sudo()
                .search([("partner_id", "in", people.ids)])
            )
        activity_type = env.ref(
            "loyalty_crm_addon.mail_activity_type_loyalty_followup",
            raise_if_not_found=False,
        )
        activities = (
            env["mail.activity"]
            .sudo()
            .search(
                [
                    ("res_model", "=", "res.partner"),
                    ("res_id", "in", people.ids),
                    ("activity_type_id", "=", activity_type.id if activity_type else 0),
                ]
            )
        )
        data["activities"] = export(activities, ["date_deadline", "summary", "state"])
        return data

    def _loyalty_open_orders(self):
        """Names of the member's open documents: quotations, unpaid POS
        orders (one member)."""
        self.ensure_one()
        member = self.commercial_partner_id
        people = member | member.child_ids
        names = (
            self.env["sale.order"]
            .sudo()
            .search(
                [("partner_id", "in", people.ids), ("state", "in", ("draft", "sent"))]
            )
            .mapped("name")
        )
        if "pos.order" in self.env:
            names += (
                self.env["pos.order"]
                .sudo()
                .search([("partner_id", "in", people.ids), ("state", "=", "draft")])
                .mapped("name")
            )
        return names

    def _loyalty_personal_tokens(self):
        """Strings of these people's personal data to look for in free
        text."""
        tokens = set()
        for partner in self:
            for value in (
                partner.name,
                partner.email,
                partner.email_normalized,
                partner.phone,
                partner.mobile,
                partner.ref,
            ):
                if value and len(value.strip()) >= 3:
                    tokens.add(value.strip())
        return sorted(tokens)

    @api.model
    def _loyalty_privacy_models(self):
        """Loyalty models holding member data, with the fields linking them
        to the member ({model: fields}); those of other features are used
        when installed."""
        return dict(PRIVACY_MODELS)

    def _loyalty_scrub(self, tokens):
        """Replace these people's personal data (``tokens``) in free text of
        loyalty records; ledger amounts stay. Returns {model: rows
        changed}."""
        env = self.env
        done = {}
        patterns = [f"%{t.replace('%', '').replace('_', '')}%" for t in tokens]
        env.flush_all()
        for model_name, links in self._loyalty_privacy_models().items():
            if model_name not in env:
                continue
            Model = env[model_name]
            columns = [
                name
                for name, field in Model._fields.items()
                if field.store
                and field.column_type
                and field.type in ("char", "text", "html")
                and not field.translate
                and name not in ("code", "state", "key")
            ]
            links = [link for link in links if link in Model._fields]
            if not columns or not links:
                continue
            where_link = " OR ".join(f'"{link}" = ANY(%(ids)s)' for link in links)
            total = 0
            for column in columns:
                env.cr.execute(
                    f'UPDATE "{Model._table}" SET "{column}" = %(erased)s'  # noqa: S608
                    f' WHERE ({where_link}) AND "{column}" ILIKE ANY(%(patterns)s)',
                    {"ids": self.ids, "erased": ERASED, "patterns": patterns},
                )
                total += env.cr.rowcount
            done[model_name] = total
            Model.invalidate_model(columns)
        # Rows of import reports that no contact was matched to.
        env.cr.execute(
            """
            UPDATE loyalty_balance_import_line
               SET email = NULL, name = %(erased)s, phone = NULL, ref = NULL
             WHERE email ILIKE ANY(%(patterns)s) OR phone ILIKE ANY(%(patterns)s)
                OR ref = ANY(%(tokens)s) OR partner_id = ANY(%(ids)s)
            """,
            {"erased": ERASED, "patterns": patterns, "tokens": tokens, "ids": self.ids},
        )
        done["loyalty.balance.import.line"] = (
            done.get("loyalty.balance.import.line", 0) + env.cr.rowcount
        )
        env["loyalty.balance.import.line"].invalidate_model()
        return done

    def _loyalty_erase_one(self):
        """Erase one member (a commercial partner, as superuser) and their
        contacts; ledger amounts stay."""
        self.ensure_one()
        member, env = self, self.env
        people = member | member.child_ids.with_context(active_test=False)
        tokens = people._loyalty_personal_tokens()
        old_name, old_email = member.name, member.email_normalized
        done = people._loyalty_scrub(tokens)
        # Mailing contacts of loyalty lists are loyalty data too.
        subscriptions = people._loyalty_list_subscriptions()
        contacts = subscriptions.contact_id
        subscriptions.unlink()
        contacts.filtered(lambda c: not c.subscription_ids).unlink()
        activity_type = env.ref(
            "loyalty_crm_addon.mail_activity_type_loyalty_followup",
            raise_if_not_found=False,
        )
        if activity_type:
            # Follow-ups of an erased member are about a person who is gone:
            # removed, not left as "[erased]" to-dos.
            env["mail.activity"].sudo().search(
                [
                    ("res_model", "=", "res.partner"),
                    ("res_id", "in", people.ids),
                    ("activity_type_id", "=", activity_type.id),
                ]
            ).unlink()
        for person in people:
            person.with_context(tracking_disable=True).write(
                {
                    **dict.fromkeys(PARTNER_FIELDS, False),
                    "name": env._("Erased member %s", person.id),
                    "loyalty_consent": "out",
                    "loyalty_consent_date": fields.Datetime.now(),
                    "loyalty_consent_channel": "backend",
                }
            )
        details = "\n".join(f"{model}: {n}" for model, n in done.items())
        if "privacy.log" in env:
            env["privacy.log"].sudo().create(
                {
                    "anonymized_name": old_name or ERASED,
                    "anonymized_email": old_email or "erased@erased.invalid",
                    "execution_details": env._(
                        "Loyalty data erased (texts anonymised per table):\n%s",
                        details,
                    ),
                }
            )
        member.with_context(tracking_disable=True)._message_log(
            body=Markup("<p>%s</p>")
            % env._("Personal data erased from loyalty records.")
        )
        return True
