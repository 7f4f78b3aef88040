# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models

from ..engine.member_events import NO_TRACKING

# Found by the daily scans, by the thousand: their follow-ups do not email
# the assigned users one by one (they see them in their activity menu and
# pipeline).
SCANNED_TYPES = ("birthday", "points_expiring", "inactive", "at_risk")
SCANNED_CONTEXT = {**NO_TRACKING, "mail_activity_quick_update": True}
FOLLOW_UPS = "loyalty.member.event.follow_ups"


class LoyaltyMemberEventFollowUp(models.AbstractModel):
    """What the shipped automation rules do for member events, a part of
    ``loyalty.member.event``: follow-up activities, mailing lists, win-back
    opportunities. The rules call ``activity_schedule`` (Odoo's "Create
    Activity"), ``_loyalty_schedule_activity``,
    ``_loyalty_add_to_mailing_list`` and ``_loyalty_create_opportunity``;
    each gathers the events of the processing batch and does the work once
    for all of them when the batch's savepoint ends (the
    ``_loyalty_follow_up_*`` methods). Extend a method with ``_inherit =
    "loyalty.member.event"``."""

    _name = "loyalty.member.event.follow.up"
    _description = "Loyalty Member Event Follow-up"

    # ------------------------------------------------------------------
    # What the shipped rules call, done once per batch of events
    # ------------------------------------------------------------------
    def activity_schedule(
        self, act_type_xmlid="", date_deadline=None, summary="", note="", **act_values
    ):
        """Odoo's no-code "Create Activity" action of a loyalty rule plans the
        follow-up on the member's contact, not on the event (a log line
        nobody opens), once per batch of events; what the action leaves
        empty is filled from the event (see
        ``_loyalty_follow_up_schedule_activity``)."""
        values = dict(act_values, summary=summary, note=note)
        if date_deadline:
            values["date_deadline"] = date_deadline
        if act_type_xmlid:
            values["activity_type_id"] = self.env["ir.model.data"]._xmlid_to_res_id(
                act_type_xmlid
            )
        self._loyalty_defer(
            "_loyalty_follow_up_schedule_activity", tuple(sorted(values.items()))
        )
        return self.env["mail.activity"]

    def _loyalty_schedule_activity(self, summary=False, note=False):
        """A follow-up activity on each member (not on the event)."""
        self._loyalty_defer(
            "_loyalty_follow_up_schedule_activity",
            (("note", note), ("summary", summary)),
        )

    def _loyalty_add_to_mailing_list(
        self, xmlid="loyalty_crm_addon.mailing_list_winback"
    ):
        """Put the members on a mailing list; members who opted out of
        loyalty communications never are (the list asks for consent)."""
        self._loyalty_defer("_loyalty_follow_up_add_to_mailing_list", xmlid)

    def _loyalty_create_opportunity(self):
        """A win-back opportunity for members of their program's top tier."""
        self._loyalty_defer("_loyalty_follow_up_create_opportunity")

    def _loyalty_defer(self, method, *args):
        """Call ``events.<method>(*args)`` on these events when the current
        savepoint ends (at the cursor's next flush), together with the
        other events of the batch: one activity create, one mailing-list
        update, one lead create per batch of events. Kept in the cursor's
        precommit data, as mail tracking does; dropped if the savepoint
        rolls back."""
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

    # ------------------------------------------------------------------
    # The follow-ups, once per batch of events
    # ------------------------------------------------------------------
    def _loyalty_responsible_user(self):
        """The member's salesperson, else the program's responsible, else
        the administrator (one event)."""
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
        """The title of a follow-up activity naming the member and the event
        (one event)."""
        self.ensure_one()
        env = self.env
        name = self.partner_id.display_name
        return {
            "tier_upgrade": env._(
                "Congratulate %(name)s on reaching %(tier)s",
                name=name,
                tier=self.tier_id.name,
            ),
            "tier_downgrade": env._(
                "%(name)s moved down to %(tier)s: offer help",
                name=name,
                tier=self.tier_id.name or env._("no tier"),
            ),
            "first_redemption": env._(
                "%s redeemed points for the first time: ask for feedback", name
            ),
            "nth_order": env._(
                "Thank %(name)s for order #%(n)s",
                name=name,
                n=format(self.points, "g"),
            ),
            "inactive": env._("Win back %s: no loyalty activity lately", name),
        }.get(self.event_type) or env._("Loyalty follow-up: %s", name)

    def _loyalty_follow_up_schedule_activity(self, values=()):
        """A follow-up activity on each member (not on the event), with the
        ``values`` of the rule's "Create Activity" action (type, title,
        note, due date, responsible); what the action leaves empty is filled
        from the event: the loyalty follow-up type, a title naming the
        member and the event, the event's description, the member's
        salesperson."""
        env = self.env
        values = dict(values)
        activity_type = env["mail.activity.type"].browse(
            values.get("activity_type_id")
        ).exists() or env.ref("loyalty_crm_addon.mail_activity_type_loyalty_followup")
        model_id = env["ir.model"]._get_id("res.partner")
        deadline = values.get("date_deadline") or activity_type._get_date_deadline()
        vals_list = [
            {
                "res_model_id": model_id,
                "res_id": event.partner_id.id,
                "activity_type_id": activity_type.id,
                "user_id": values.get("user_id")
                or event._loyalty_responsible_user().id,
                "summary": values.get("summary") or event._loyalty_default_summary(),
                "note": values.get("note") or event.description,
                "date_deadline": deadline,
                "automated": True,
                "loyalty_member_event_id": event.id,
            }
            for event in self
        ]
        activities = (
            env["mail.activity"]
            .sudo()
            .with_context(mail_activity_quick_update=True)
            .create(vals_list)
        )
        if not self.env.context.get("mail_activity_quick_update"):
            activities._loyalty_notify_assignees()
        return activities

    def _loyalty_follow_up_add_to_mailing_list(self, xmlid):
        """Put the members on a mailing list: their mailing contact (made
        when missing) is subscribed once; an opt-out is respected, and
        members who opted out of loyalty communications never are (the list
        asks for consent). Once for the whole batch: the rules run event by
        event."""
        env = self.env
        mailing_list = env.ref(xmlid)
        if not mailing_list.loyalty_consent_required:
            mailing_list.sudo().loyalty_consent_required = True
        partners = self.partner_id._loyalty_can_contact().filtered("email_normalized")
        if not partners:
            return
        Contact = env["mailing.contact"].sudo().with_context(**NO_TRACKING)
        contacts = Contact.search(
            [("email_normalized", "in", partners.mapped("email_normalized"))],
            order="id",
        )
        by_email = {}
        for contact in contacts:
            by_email.setdefault(contact.email_normalized, contact)
        subscribed = set(
            env["mailing.subscription"]
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
            env["mailing.subscription"].sudo().create(subscriptions)
        if new_contacts:
            Contact.create(list(new_contacts.values()))

    def _loyalty_is_top_tier(self):
        """Whether the member is in their program's top tier (one event)."""
        self.ensure_one()
        tier = self.tier_id or self.card_id.loyalty_tier_id
        tiers = self.program_id.loyalty_tier_ids
        return bool(tier) and tier == tiers.sorted("threshold")[-1:]

    def _loyalty_follow_up_create_opportunity(self):
        """A win-back opportunity for members of their program's top tier."""
        env = self.env
        events = self.filtered(lambda e: not e.lead_id and e._loyalty_is_top_tier())
        leads = (
            env["crm.lead"]
            .sudo()
            .with_context(mail_create_nosubscribe=True)
            .create(
                [
                    {
                        "type": "opportunity",
                        "name": env._(
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
