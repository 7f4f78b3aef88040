# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

import psycopg2

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import mute_logger

from odoo.addons.base_automation.models.base_automation import CREATE_TRIGGERS

from ..engine.member_events import NO_TRACKING

_logger = logging.getLogger(__name__)

# Only the engine holds this object (an RPC context cannot carry it): it
# silences member events while balances are migrated by an import.
QUIET = object()
# Only the processing holds this object: automation rules on member events run
# under it and nowhere else (see base.automation ``_get_actions``).
PROCESSING = object()
PROCESSING_KEY = "loyalty_event_processing"

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
    ("at_risk", "Member at Risk"),
    ("referral_converted", "Referral Converted"),
    ("signup_bonus", "Sign-up Bonus"),
    ("birthday_bonus", "Birthday Bonus"),
]


class LoyaltyMemberEvent(models.Model):
    """Something worth acting on happened to a member.

    Business transactions (order confirmation, till sync, ledger posting,
    tier changes) and the daily scans only RECORD events (``_emit``; ``key``
    is unique, so an occurrence is recorded once). No automation rule on
    events runs there, whatever its trigger (base.automation
    ``_get_actions``). The processing cron then runs, in its own savepoint
    per event, the rules on creation and sets the event ``done``: that change
    of state is what the shipped rules (base_automation, "on save" when the
    state becomes Done, filtered on ``event_type``) react to, so staff edit
    them like any rule. A rule that raises leaves its event ``failed`` with
    the error, and nothing else is held up.

    Its capabilities, each in its own mixin (a method is extended with
    ``_inherit = "loyalty.member.event"``): ``loyalty.member.event.detection``
    (what ledger lines give rise to, the daily scans) and
    ``loyalty.member.event.follow.up`` (what the shipped rules do).
    """

    _name = "loyalty.member.event"
    # The follow-up mixin before mail.activity.mixin: its activity_schedule
    # (what a rule's "Create Activity" does) is the one that runs.
    _inherit = [
        "loyalty.member.event.follow.up",
        "loyalty.member.event.detection",
        "mail.activity.mixin",
    ]
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
    user_id = fields.Many2one(
        "res.users",
        string="Responsible",
        compute="_compute_user_id",
        help="Who follows the event up: the member's salesperson, else the "
        "program's responsible, else the administrator. The \"Create "
        'Activity" actions of the loyalty rules assign their activity to '
        "this user (Dynamic User, field user_id).",
    )
    lead_id = fields.Many2one(
        "crm.lead", string="Opportunity", ondelete="set null", readonly=True
    )
    state = fields.Selection(
        [
            ("pending", "Pending"),
            ("done", "Done"),
            ("failed", "Failed"),
            ("cancel", "Cancelled"),
        ],
        required=True,
        default="pending",
        readonly=True,
        copy=False,
        help="Pending: recorded, its automation rules not run yet. Done: the "
        "rules ran. Failed: a rule raised an error; fix it and retry. "
        "Cancelled: what it announced was undone before its rules ran (a tier "
        "upgrade reverted the same day).",
    )
    error = fields.Text(
        readonly=True, copy=False, groups="loyalty_crm_addon.group_loyalty_manager"
    )

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

    @api.depends("partner_id.user_id", "program_id.loyalty_responsible_id")
    def _compute_user_id(self):
        for event in self:
            event.user_id = event._loyalty_responsible_user()

    # ------------------------------------------------------------------
    # Recording events (inside the business transaction)
    # ------------------------------------------------------------------
    @api.model
    def _emit(self, vals_list):
        """Record the events not recorded yet and wake the processing cron
        up; returns the new events. Nothing else runs here."""
        if self.env.context.get("loyalty_event_mute") is QUIET:
            return self.browse()
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
        # Recorded without their rules, even by a rule's action: the
        # processing runs them.
        Event = self.sudo().with_context(**NO_TRACKING, **{PROCESSING_KEY: False})
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
            # The addon's own cron (no exists() query: it cannot be deleted
            # while the addon is installed).
            cron_id = self.env["ir.model.data"]._xmlid_to_res_id(
                "loyalty_crm_addon.ir_cron_loyalty_process_events"
            )
            self.env["ir.cron"].sudo().browse(cron_id)._trigger()
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

    # ------------------------------------------------------------------
    # Processing (after the business transaction)
    # ------------------------------------------------------------------
    @api.model
    def _cron_process_events(self, batch_size=1000, max_batches=0):
        """Run the automation rules of pending events, oldest first, by
        batches (see ``_loyalty_process``); reports what is done and what
        remains, commits between batches in a cron job."""
        total = self.env["loyalty.batch"]._count(
            "SELECT COUNT(*) FROM loyalty_member_event WHERE state = 'pending'",
        )
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

        return self.env["loyalty.batch"]._run_batches(step, total, max_batches)

    def _loyalty_process(self):
        """Run the automation rules of pending events and set them done. The
        batch runs in one savepoint, the rules' heavy work done once for all
        of it when the savepoint ends; if anything fails, the batch is rolled
        back and run again with each event in its own savepoint, so an event
        whose rule raises is marked failed with the error and the others go
        on. Events done already are left alone: an event acts once."""
        events = self.sudo().filtered(lambda e: e.state == "pending")
        if len(events) > 1:
            try:
                with self.env.cr.savepoint():
                    events._loyalty_run_rules()
                return
            except Exception:  # noqa: BLE001 -- any rule may break
                _logger.info("Loyalty member events: a rule failed, one by one")
        for event in events:
            try:
                with self.env.cr.savepoint():
                    event._loyalty_run_rules()
            except Exception as error:  # noqa: BLE001 -- any rule may break
                _logger.warning(
                    "Loyalty member event %s: an automation rule failed: %s",
                    event.id,
                    error,
                )
                # Outside the processing: no rule reacts to the failure.
                event.with_context(**{PROCESSING_KEY: False}).write(
                    {"state": "failed", "error": f"{type(error).__name__}: {error}"}
                )

    def _loyalty_run_rules(self):
        """The one place rules on member events run (see base.automation
        ``_get_actions``): first the rules on creation, as base_automation's
        create would have run them when the events were recorded, then the
        change to done runs the rules on update (the shipped ones: "On save"
        of Status, condition Status = Done). One base_automation operation:
        a rule that ran on creation does not run again on the change to
        done, so a rule "On creation and update" acts once per event."""
        events = self.with_context(**{PROCESSING_KEY: PROCESSING})
        automations = events.env["base.automation"]._get_actions(
            events, CREATE_TRIGGERS
        )
        # Their context holds base_automation's record of what ran.
        events = events.with_env(automations.env)
        ran = automations.env.context["__action_done"]
        for automation in automations.with_context(old_values=None):
            records = automation._filter_post(events, feedback=True)
            automation._process(records)
            ran[automation] = ran.get(automation, events.browse()) | records
        events.write({"state": "done", "error": False})

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
