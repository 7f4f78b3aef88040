# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What the shipped automation rules do for member events, once per batch of
events (the processing cron gathers them): follow-up activities, mailing
lists, win-back opportunities. Called through ``loyalty.member.event``'s
``_loyalty_schedule_activity``, ``_loyalty_add_to_mailing_list`` and
``_loyalty_create_opportunity``, the names the rules use."""

NO_TRACKING = {
    "mail_create_nolog": True,
    "mail_create_nosubscribe": True,
    "tracking_disable": True,
}


def responsible_user(event):
    """The member's salesperson, else the program's responsible, else the
    administrator."""
    partner = event.partner_id
    for user in (
        partner.user_id,
        partner.commercial_partner_id.user_id,
        event.program_id.loyalty_responsible_id,
    ):
        if user.active and not user.share:
            return user
    user = event.env.user
    if user._is_superuser() or user.share:
        # Cached lookup: this runs once per event of a batch.
        admin_id = event.env["ir.model.data"]._xmlid_to_res_id(
            "base.user_admin", raise_if_not_found=False
        )
        user = user.browse(admin_id) if admin_id else user
    return user


def default_summary(event):
    env = event.env
    name = event.partner_id.display_name
    return {
        "tier_upgrade": env._(
            "Congratulate %(name)s on reaching %(tier)s",
            name=name,
            tier=event.tier_id.name,
        ),
        "tier_downgrade": env._(
            "%(name)s moved down to %(tier)s: offer help",
            name=name,
            tier=event.tier_id.name or env._("no tier"),
        ),
        "first_redemption": env._(
            "%s redeemed points for the first time: ask for feedback", name
        ),
        "nth_order": env._(
            "Thank %(name)s for order #%(n)s", name=name, n=format(event.points, "g")
        ),
        "inactive": env._("Win back %s: no loyalty activity lately", name),
    }.get(event.event_type) or env._("Loyalty follow-up: %s", name)


def schedule_activity(events, values=()):
    """A follow-up activity on each member (not on the event), with the
    ``values`` of the rule's "Create Activity" action (type, title, note,
    due date, responsible); what the action leaves empty is filled from the
    event: the loyalty follow-up type, a title naming the member and the
    event, the event's description, the member's salesperson."""
    env = events.env
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
            "user_id": values.get("user_id") or responsible_user(event).id,
            "summary": values.get("summary") or default_summary(event),
            "note": values.get("note") or event.description,
            "date_deadline": deadline,
            "automated": True,
            "loyalty_member_event_id": event.id,
        }
        for event in events
    ]
    return env["mail.activity"].sudo().create(vals_list)


def add_to_mailing_list(events, xmlid):
    """Put the members on a mailing list: their mailing contact (made when
    missing) is subscribed once; an opt-out is respected, and members who
    opted out of loyalty communications never are (the list asks for
    consent). Once for the whole batch: the rules run event by event."""
    env = events.env
    mailing_list = env.ref(xmlid)
    if not mailing_list.loyalty_consent_required:
        mailing_list.sudo().loyalty_consent_required = True
    partners = events.partner_id._loyalty_can_contact().filtered("email_normalized")
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
        .search([("list_id", "=", mailing_list.id), ("contact_id", "in", contacts.ids)])
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


def is_top_tier(event):
    tier = event.tier_id or event.card_id.loyalty_tier_id
    tiers = event.program_id.loyalty_tier_ids
    return bool(tier) and tier == tiers.sorted("threshold")[-1:]


def create_opportunity(events):
    """A win-back opportunity for members of their program's top tier."""
    env = events.env
    events = events.filtered(lambda e: not e.lead_id and is_top_tier(e))
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
                    "user_id": responsible_user(event).id,
                    "company_id": event.company_id.id,
                    "description": event.description,
                }
                for event in events
            ]
        )
    )
    for event, lead in zip(events, leads, strict=True):
        event.lead_id = lead
