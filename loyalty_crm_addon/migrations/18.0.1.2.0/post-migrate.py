# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The shipped win-back rule also acts on members the segment cron moves into
the at-risk segment (its data is not updated on upgrade: only the rule as
shipped is changed, one a user edited is left alone)."""

from odoo import SUPERUSER_ID, api

SHIPPED = "[('state', '=', 'done'), ('event_type', '=', 'inactive')]"
NEW = "[('state', '=', 'done'), ('event_type', 'in', ('inactive', 'at_risk'))]"


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    rule = env.ref(
        "loyalty_crm_addon.base_automation_loyalty_inactive", raise_if_not_found=False
    )
    if rule and rule.filter_domain == SHIPPED:
        rule.write(
            {
                "filter_domain": NEW,
                "name": "Loyalty: inactive or at-risk member (win-back)",
            }
        )
