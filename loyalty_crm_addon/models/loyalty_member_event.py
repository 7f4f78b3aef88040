# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

import psycopg2

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import mute_logger

from ..engine import member_event_detection as detection
from ..engine.batch import run_batches

_logger = logging.getLogger(__name__)

NO_TRACKING = {
    "mail_create_nolog": True,
    "mail_create_nosubscribe": True,
    "tracking_disable": True,
}
# Found by the daily scans, by the thousand: their follow-ups do not email
# the assigned users one by one (they see them in their activity menu and
# pipeline).
SCANNED_TYPES = ("birthday", "points_expiring", "inactive")
SCANNED_CONTEXT = {**NO_TRACKING, "mail_activity_quick_update": True}
FOLLOW_UPS = "loyalty.member.event.follow_ups"

EVENT_TYPES = [
    ("tier_upgrade", "Tier Upgrade"),
    ("tier_downgrade", "Tier Downgrade"),
    ("points_reached", "Points Threshold Reached"),
    ("reward_unlocked", "Reward Unlocked"),
    ("first_redemption", "First Redemption"),
    ("nth_order", "Nth Order"),
    ("birthday", "Birthday"),
    ("points_expiring", "Points Expiring Soon"),
    ("inactive", "Inactive Member"),
    ("referral_converted", "Referral Converted"),
]


class LoyaltyMemberEvent(models.Model):
    """Something worth acting on happened to a member.

    Business transactions (order confirmation, till sync, ledger posting,
    tier changes) and the daily scans only RECORD events (``_emit``; ``key``
    is unique, so an occurrence is recorded once). The processing cron then
    sets each pending event to ``done`` in its own savepoint: that change of
    state is what the automation rules (base_automation, "on save" when the
    state becomes Done, filtered on ``event_type``) react to, so staff edit
    them like any rule. A rule that raises leaves its event ``failed`` with
    the error, and nothing else is held up.
    """

    _name = "loyalty.member.event"
    _description = "Loyalty Member Event"
    _order = "date desc, id desc"
    _rec_name = "description"

    partner_id = fields.Many2one(
        "res.partner", required=True, index=True, ondelete="cascade", readonly=True
    )
    card_id = fields.Many2one(
        "loyalty.card", index=True, ondelete="set null", readonly=True
    )
    program_id = fields.Many2one(
        "loyalty.program", index=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one("res.company", index=True, readonly=True)
    event_type = fields.Selection(EVENT_TYPES, required=True, index=True, readonly=True)
    date = fields.Datetime(required=True, default=fields.Datetime.now, readonly=True)
    tier_id = fields.Many2one("loyalty.tier", ondelete="set null", readonly=True)
    previous_tier_id = fields.Many2one(
        "loyalty.tier", ondelete="set null", readonly=True
    )
    reward_id = fields.Many2one("loyalty.reward", ondelete="set null", readonly=True)
    points = fields.Float(readonly=True)
    expiry_date = fields.Date(readonly=True)
    description = fields.Char(readonly=True)
    key = fields.Char(
        required=True,
        readonly=True,
        help="Identifies one occurrence of an event: the same key is never "
        "recorded twice.",
    )
    lead_id = fields.Many2one(
        "crm.lead", string="Opportunity", ondelete="set null", readonly=True
    )
    state = fields.Selection(
        [("pending", "Pending"), ("done", "Done"), ("failed", "Failed")],
        required=True,
        default="pending",
        readonly=True,
        copy=False,
        help="Pending: recorded, its automation rules not run yet. Done: the "
        "rules ran. Failed: a rule raised an error; fix it and retry.",
    )
    error = fields.Text(readonly=True, copy=False)

    _sql_constraints = [
        ("key_unique", "UNIQUE(key)", "This event was already recorded."),
    ]

    def init(self):
        # What the processing cron reads: few rows at any time.
        self.env.cr.execute(
            """
            CREATE INDEX IF NOT EXISTS loyalty_member_event_pending_idx
            ON loyalty_member_event (id) WHERE state = 'pending'
            """
        )

    # ------------------------------------------------------------------
    # Recording events (inside the business transaction)
    # ------------------------------------------------------------------
    @api.model
    def _emit(self, vals_list):
        """Record the events not recorded yet and wake the processing cron
        up; returns the new events. Nothing else runs here."""
        keys = [vals["key"] for vals in vals_list]
        if not keys:
            return self.browse()
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT key FROM loyalty_member_event WHERE key = ANY(%s)", [keys]
        )
        known = {row[0] for row in self.env.cr.fetchall()}
        new_vals, seen = [], set()
        for vals in vals_list:
            if vals["key"] not in known and vals["key"] not in seen:
                seen.add(vals["key"])
                new_vals.append(vals)
        if not new_vals:
            return self.browse()
        Event = self.sudo().with_context(**NO_TRACKING)
        try:
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                events = Event.create(new_vals)
        except psycopg2.errors.UniqueViolation:
            # A concurrent transaction recorded some of them first: the
            # business transaction goes on, with the events left to record.
            events = Event.browse()
            for vals in new_vals:
                try:
                    with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                        events |= Event.create([vals])
                except psycopg2.errors.UniqueViolation:
                    continue
        if events:
            self.env.ref(
                "loyalty_crm_addon.ir_cron_loyalty_process_events"
            ).sudo()._trigger()
        return self.sudo().browse(events.ids)

    @api.model
    def _prepare_event(self, card, event_type, key, **values):
        return {
            "partner_id": card.partner_id.id,
            "card_id": card.id,
            "program_id": card.program_id.id,
            "company_id": (card.company_id or card.program_id.company_id).id,
            "event_type": event_type,
            "key": key,
            **values,
        }

    @api.model
    def _emit_from_ledger(self, lines):
        return detection.events_from_ledger(self, lines)

    @api.model
    def _balance_event_vals(self, gains):
        return detection.balance_event_vals(self, gains)

    # ------------------------------------------------------------------
    # Processing (after the business transaction)
    # ------------------------------------------------------------------
    @api.model
    def _cron_process_events(self, batch_size=1000):
        """Run the automation rules of pending events, oldest first, by
        batches (see ``_loyalty_process``); reports what is done and what
        remains, commits between batches in a cron job."""
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT COUNT(*) FROM loyalty_member_event WHERE state = 'pending'"
        )
        total = self.env.cr.fetchone()[0]
        Event = self.sudo()

        def step():
            # Two runs at once (a trigger while the cron runs) share the work.
            self.env.cr.execute(
                """
                SELECT id FROM loyalty_member_event WHERE state = 'pending'
                 ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED
                """,
                [batch_size],
            )
            events = Event.browse(row[0] for row in self.env.cr.fetchall())
            events._loyalty_process()
            return len(events)

        return run_batches(self.env, step, total)

    def _loyalty_process(self):
        """Set pending events to done: the rules react to that change. The
        batch runs in one savepoint, the rules' heavy work done once for all
        of it when the savepoint ends; if anything fails, the batch is rolled
        back and run again with each event in its own savepoint, so an event
        whose rule raises is marked failed with the error and the others go
        on. Events done already are left alone: an event acts once."""
        events = self.sudo().filtered(lambda e: e.state == "pending")
        if len(events) > 1:
            try:
                with self.env.cr.savepoint():
                    events.write({"state": "done", "error": False})
                return
            except Exception:  # noqa: BLE001 -- any rule may break
                _logger.info("Loyalty member events: a rule failed, one by one")
        for event in events:
            try:
                with self.env.cr.savepoint():
                    event.write({"state": "done", "error": False})
            except Exception as error:  # noqa: BLE001 -- any rule may break
                _logger.warning(
                    "Loyalty member event %s: an automation rule failed: %s",
                    event.id,
                    error,
                )
                event.write(
                    {"state": "failed", "error": f"{type(error).__name__}: {error}"}
                )

    def _loyalty_defer(self, method, *args):
        """Do ``method(*args)`` on these events when the current savepoint
        ends (at the cursor's next flush), together with the other events of
        the batch: one activity create, one mailing-list update, one lead
        create per batch of events. Kept in the cursor's precommit data, as
        mail tracking does; dropped if the savepoint rolls back."""
        precommit = self.env.cr.precommit
        queue = precommit.data.get(FOLLOW_UPS)
        if queue is None:
            queue = precommit.data[FOLLOW_UPS] = {}
            Event = self.env["loyalty.member.event"].sudo()
            precommit.add(lambda: Event._loyalty_run_follow_ups(queue))
        queue.setdefault((method, args), []).extend(self.ids)

    @api.model
    def _loyalty_run_follow_ups(self, queue):
        while queue:
            key = next(iter(queue))
            method, args = key
            events = self.browse(queue.pop(key))
            scanned = events.filtered(lambda e: e.event_type in SCANNED_TYPES)
            if scanned:
                getattr(scanned.with_context(**SCANNED_CONTEXT), method)(*args)
            if events - scanned:
                getattr(events - scanned, method)(*args)
        self.env.flush_all()

    def action_retry(self):
        """Run the rules of failed events again (once fixed)."""
        if not self.env.user.has_group("loyalty_crm_addon.group_loyalty_manager"):
            raise AccessError(self.env._("Only loyalty managers retry events."))
        failed = self.sudo().filtered(lambda e: e.state == "failed")
        failed.write({"state": "pending", "error": False})
        if failed:
            self.env.ref(
                "loyalty_crm_addon.ir_cron_loyalty_process_events"
            ).sudo()._trigger()
        return True

    # ------------------------------------------------------------------
    # Scheduled detection (engine/member_event_detection.py)
    # ------------------------------------------------------------------
    @api.model
    def _cron_detect_inactivity(self, batch_size=10000):
        return detection.detect_inactivity(self, batch_size)

    @api.model
    def _cron_detect_birthdays(self, batch_size=10000):
        return detection.detect_birthdays(self, batch_size)

    @api.model
    def _cron_detect_expiring_points(self, batch_size=10000):
        return detection.detect_expiring_points(self, batch_size)

    # ------------------------------------------------------------------
    # Actions of the shipped automation rules
    # ------------------------------------------------------------------
    def _loyalty_responsible_user(self):
        """The member's salesperson, else the program's responsible, else
        the administrator."""
        self.ensure_one()
        partner = self.partner_id
        for user in (
            partner.user_id,
            partner.commercial_partner_id.user_id,
            self.program_id.loyalty_responsible_id,
        ):
            if user.active and not user.share:
                return user
        user = self.env.user
        if user._is_superuser() or user.share:
            # Cached lookup: this runs once per event of a batch.
            admin_id = self.env["ir.model.data"]._xmlid_to_res_id(
                "base.user_admin", raise_if_not_found=False
            )
            user = user.browse(admin_id) if admin_id else user
        return user

    def _loyalty_default_summary(self):
        self.ensure_one()
        name = self.partner_id.display_name
        return {
            "tier_upgrade": self.env._(
                "Congratulate %(name)s on reaching %(tier)s",
                name=name,
                tier=self.tier_id.name,
            ),
            "tier_downgrade": self.env._(
                "%(name)s moved down to %(tier)s: offer help",
                name=name,
                tier=self.tier_id.name or self.env._("no tier"),
            ),
            "first_redemption": self.env._(
                "%s redeemed points for the first time: ask for feedback", name
            ),
            "nth_order": self.env._(
                "Thank %(name)s for order #%(n)s", name=name, n=format(self.points, "g")
            ),
            "inactive": self.env._("Win back %s: no loyalty activity lately", name),
        }.get(self.event_type) or self.env._("Loyalty follow-up: %s", name)

    def _loyalty_schedule_activity(self, summary=False, note=False):
        """A follow-up activity on each member (not on the event)."""
        self._loyalty_defer("_loyalty_do_schedule_activity", summary, note)

    def _loyalty_do_schedule_activity(self, summary=False, note=False):
        activity_type = self.env.ref(
            "loyalty_crm_addon.mail_activity_type_loyalty_followup"
        )
        model_id = self.env["ir.model"]._get_id("res.partner")
        deadline = activity_type._get_date_deadline()
        vals_list = [
            {
                "res_model_id": model_id,
                "res_id": event.partner_id.id,
                "activity_type_id": activity_type.id,
                "user_id": event._loyalty_responsible_user().id,
                "summary": summary or event._loyalty_default_summary(),
                "note": note or event.description,
                "date_deadline": deadline,
            }
            for event in self
        ]
        return self.env["mail.activity"].sudo().create(vals_list)

    def _loyalty_add_to_mailing_list(
        self, xmlid="loyalty_crm_addon.mailing_list_winback"
    ):
        """Put the members on a mailing list: their mailing contact (made
        when missing) is subscribed once; an opt-out is respected."""
        self._loyalty_defer("_loyalty_do_add_to_mailing_list", xmlid)

    def _loyalty_do_add_to_mailing_list(self, xmlid):
        mailing_list = self.env.ref(xmlid)
        partners = self.partner_id.filtered("email_normalized")
        if not partners:
            return
        Contact = self.env["mailing.contact"].sudo().with_context(**NO_TRACKING)
        contacts = Contact.search(
            [("email_normalized", "in", partners.mapped("email_normalized"))],
            order="id",
        )
        by_email = {}
        for contact in contacts:
            by_email.setdefault(contact.email_normalized, contact)
        subscribed = set(
            self.env["mailing.subscription"]
            .sudo()
            .search(
                [("list_id", "=", mailing_list.id), ("contact_id", "in", contacts.ids)]
            )
            .contact_id.mapped("email_normalized")
        )
        new_contacts, subscriptions = {}, []
        for partner in partners:
            email = partner.email_normalized
            if email in subscribed or email in new_contacts:
                continue
            if email in by_email:
                subscribed.add(email)
                subscriptions.append(
                    {"contact_id": by_email[email].id, "list_id": mailing_list.id}
                )
            else:
                new_contacts[email] = {
                    "name": partner.name,
                    "email": partner.email,
                    "list_ids": [(4, mailing_list.id)],
                }
        if subscriptions:
            self.env["mailing.subscription"].sudo().create(subscriptions)
        if new_contacts:
            Contact.create(list(new_contacts.values()))

    def _loyalty_is_top_tier(self):
        self.ensure_one()
        tier = self.tier_id or self.card_id.loyalty_tier_id
        tiers = self.program_id.loyalty_tier_ids
        return bool(tier) and tier == tiers.sorted("threshold")[-1:]

    def _loyalty_create_opportunity(self):
        """A win-back opportunity for members of their program's top tier."""
        self._loyalty_defer("_loyalty_do_create_opportunity")

    def _loyalty_do_create_opportunity(self):
        events = self.filtered(lambda e: not e.lead_id and e._loyalty_is_top_tier())
        leads = (
            self.env["crm.lead"]
            .sudo()
            .with_context(mail_create_nosubscribe=True)
            .create(
                [
                    {
                        "type": "opportunity",
                        "name": self.env._(
                            "Win back %s",
                            event.partner_id.commercial_partner_id.display_name,
                        ),
                        "partner_id": event.partner_id.commercial_partner_id.id,
                        "user_id": event._loyalty_responsible_user().id,
                        "company_id": event.company_id.id,
                        "description": event.description,
                    }
                    for event in events
                ]
            )
        )
        for event, lead in zip(events, leads, strict=True):
            event.lead_id = lead
