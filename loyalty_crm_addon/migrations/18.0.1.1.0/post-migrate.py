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
