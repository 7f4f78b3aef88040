# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Rules on member events that reacted to their creation (the shipped ones and
any a user made) now react to the event becoming done, in the processing
cron, so that they run after the business transaction."""

import ast

from odoo import SUPERUSER_ID, api
from odoo.fields import Command


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    state = env.ref("loyalty_crm_addon.field_loyalty_member_event__state")
    rules = (
        env["base.automation"]
        .with_context(active_test=False)
        .search(
            [
                ("model_id.model", "=", "loyalty.member.event"),
                ("trigger", "=", "on_create"),
            ]
        )
    )
    for rule in rules:
        domain = ast.literal_eval(rule.filter_domain or "[]")
        rule.write(
            {
                "trigger": "on_create_or_write",
                "trigger_field_ids": [Command.set(state.ids)],
                "filter_domain": repr([("state", "=", "done"), *domain]),
            }
        )
    _refresh_shipped_descriptions(env)
    welcome = env.ref(
        "loyalty_crm_addon.mailing_loyalty_tier_welcome", raise_if_not_found=False
    )
    if welcome and welcome.mailing_domain == "[('loyalty_tier_id', '!=', False)]":
        # Tier welcome: members upgraded in the last 30 days, not every member
        # with a tier.
        welcome.mailing_domain = (
            "[('loyalty_days_since_upgrade', '<=', 30), "
            "('loyalty_tier_id', '!=', False)]"
        )


def _refresh_shipped_descriptions(env):
    """The shipped rules (noupdate data) say what they do and why they run
    code: take the descriptions of the data files."""
    from lxml import etree

    from odoo.tools.misc import file_path

    for data_file in ("loyalty_automation_data.xml", "loyalty_referral_data.xml"):
        tree = etree.parse(file_path(f"loyalty_crm_addon/data/{data_file}"))
        for record in tree.xpath("//record[@model='base.automation']"):
            description = record.xpath("field[@name='description']")
            rule = env.ref(
                f"loyalty_crm_addon.{record.get('id')}", raise_if_not_found=False
            )
            if rule and description:
                rule.description = description[0].text
