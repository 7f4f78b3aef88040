# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Members' privacy: export of their loyalty data and erasure of their
personal data from loyalty records (ledger amounts stay). The public entries
are ``res.partner.loyalty_export_data`` and ``action_loyalty_erase``; they
check the caller's rights, this module does the work."""

import datetime

from markupsafe import Markup

from odoo import fields, models

ERASED = "[erased]"
# Loyalty models holding member data, with the fields linking them to the
# member; those of other features are used when installed.
PRIVACY_MODELS = {
    "loyalty.ledger.line": ("partner_id",),
    "loyalty.member.event": ("partner_id",),
    "loyalty.referral": ("referrer_id", "referee_id", "referee_commercial_id"),
    "loyalty.reward.claim": ("partner_id",),
    "loyalty.balance.import.line": ("partner_id",),
}
# Personal fields of the contact cleared on erasure.
PARTNER_FIELDS = (
    "email",
    "phone",
    "mobile",
    "street",
    "street2",
    "zip",
    "city",
    "website",
    "function",
    "comment",
    "ref",
    "loyalty_birthday",
    "image_1920",
)


def _plain(value):
    """A value any JSON or XML-RPC client reads."""
    if isinstance(value, models.BaseModel):
        return value.display_name if len(value) == 1 else value.mapped("display_name")
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return False
    return value


def export_records(records, field_names=None):
    """Plain dicts of records: their stored fields, relations by name."""
    skip = {"create_uid", "write_uid", "write_date", "message_main_attachment_id"}
    names = field_names or [
        name
        for name, field in records._fields.items()
        if field.store
        and name not in skip
        and field.type not in ("binary", "one2many", "many2many")
    ]
    return [{name: _plain(record[name]) for name in names} for record in records]


def export_data(partner):
    """The member's loyalty data as a JSON-serialisable dict: profile,
    cards, ledger, tiers history, events, referrals, claims, activities
    (``partner``: the member, as superuser)."""
    env = partner.env
    people = partner | partner.child_ids
    cards = partner.loyalty_card_ids.filtered(
        lambda c: c.program_id.program_type == "loyalty"
    )
    data = {
        "exported_on": fields.Datetime.now().isoformat(),
        "profile": {
            name: _plain(partner[name])
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
        "cards": export_records(
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
        "ledger": export_records(
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
    data["events"] = export_records(
        events, ["date", "event_type", "points", "reward_id", "description"]
    )
    data["tiers_history"] = export_records(
        events.filtered(lambda e: e.event_type in ("tier_upgrade", "tier_downgrade")),
        ["date", "event_type", "previous_tier_id", "tier_id", "description"],
    )
    data["referrals"] = []
    if "loyalty.referral" in env:
        data["referrals"] = export_records(
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
        data["claims"] = export_records(
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
    data["activities"] = export_records(
        activities, ["date_deadline", "summary", "state"]
    )
    return data


def open_orders(member):
    """Names of the member's open documents: quotations, unpaid POS
    orders."""
    people = member.commercial_partner_id | member.commercial_partner_id.child_ids
    names = (
        member.env["sale.order"]
        .sudo()
        .search([("partner_id", "in", people.ids), ("state", "in", ("draft", "sent"))])
        .mapped("name")
    )
    if "pos.order" in member.env:
        names += (
            member.env["pos.order"]
            .sudo()
            .search([("partner_id", "in", people.ids), ("state", "=", "draft")])
            .mapped("name")
        )
    return names


def personal_tokens(people):
    """Strings of the members' personal data to look for in free text."""
    tokens = set()
    for partner in people:
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


def scrub(people, tokens):
    """Replace the members' personal data in free text of loyalty
    records; ledger amounts stay. Returns {model: rows changed}."""
    done = {}
    patterns = [f"%{t.replace('%', '').replace('_', '')}%" for t in tokens]
    people.env.flush_all()
    for model_name, links in PRIVACY_MODELS.items():
        if model_name not in people.env:
            continue
        Model = people.env[model_name]
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
            people.env.cr.execute(
                f'UPDATE "{Model._table}" SET "{column}" = %(erased)s'  # noqa: S608
                f' WHERE ({where_link}) AND "{column}" ILIKE ANY(%(patterns)s)',
                {"ids": people.ids, "erased": ERASED, "patterns": patterns},
            )
            total += people.env.cr.rowcount
        done[model_name] = total
        Model.invalidate_model(columns)
    # Rows of import reports that no contact was matched to.
    people.env.cr.execute(
        """
        UPDATE loyalty_balance_import_line
           SET email = NULL, name = %(erased)s, phone = NULL, ref = NULL
         WHERE email ILIKE ANY(%(patterns)s) OR phone ILIKE ANY(%(patterns)s)
            OR ref = ANY(%(tokens)s) OR partner_id = ANY(%(ids)s)
        """,
        {"erased": ERASED, "patterns": patterns, "tokens": tokens, "ids": people.ids},
    )
    done["loyalty.balance.import.line"] = (
        done.get("loyalty.balance.import.line", 0) + people.env.cr.rowcount
    )
    people.env["loyalty.balance.import.line"].invalidate_model()
    return done


def erase_one(member):
    """Erase one member (a commercial partner, as superuser) and their
    contacts; ledger amounts stay."""
    env = member.env
    people = member | member.child_ids.with_context(active_test=False)
    tokens = personal_tokens(people)
    old_name, old_email = member.name, member.email_normalized
    done = scrub(people, tokens)
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
        env["mail.activity"].sudo().search(
            [
                ("res_model", "=", "res.partner"),
                ("res_id", "in", people.ids),
                ("activity_type_id", "=", activity_type.id),
            ]
        ).write({"summary": ERASED, "note": False})
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
        body=Markup("<p>%s</p>") % env._("Personal data erased from loyalty records.")
    )
