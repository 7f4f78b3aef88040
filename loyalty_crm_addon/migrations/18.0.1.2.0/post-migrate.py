# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Shipped automation data is not updated on upgrade (``noupdate``); two
changes are carried to the rules and actions still as shipped (one a user
edited is left alone):

- the win-back rule also acts on members the segment cron moves into the
  at-risk segment;
- the follow-up activities became Odoo's no-code "Create Activity" actions
  (they were one line of code calling the engine), so owners can edit them.
"""

from odoo import SUPERUSER_ID, api

SHIPPED = "[('state', '=', 'done'), ('event_type', '=', 'inactive')]"
NEW = "[('state', '=', 'done'), ('event_type', 'in', ('inactive', 'at_risk'))]"

SHIPPED_CODE = "records._loyalty_schedule_activity()"
ACTIVITY_ACTIONS = (
    "ir_actions_server_loyalty_tier_upgrade_activity",
    "ir_actions_server_loyalty_tier_downgrade_activity",
    "ir_actions_server_loyalty_first_redemption_activity",
    "ir_actions_server_loyalty_nth_order_activity",
    "ir_actions_server_loyalty_inactive_activity",
    "ir_actions_server_loyalty_referral_converted_activity",
)


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
    activity_type = env.ref(
        "loyalty_crm_addon.mail_activity_type_loyalty_followup",
        raise_if_not_found=False,
    )
    for xmlid in ACTIVITY_ACTIONS:
        action = env.ref(f"loyalty_crm_addon.{xmlid}", raise_if_not_found=False)
        if (
            not action
            or action.state != "code"
            or (action.code or "").strip() != SHIPPED_CODE
        ):
            continue
        action.write(
            {
                "state": "next_activity",
                "activity_type_id": activity_type.id if activity_type else False,
                "activity_summary": False,
                "activity_note": False,
                "activity_date_deadline_range": 3,
                "activity_date_deadline_range_type": "days",
                "activity_user_type": "generic",
                "activity_user_field_name": "user_id",
            }
        )
