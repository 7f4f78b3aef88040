# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict

from markupsafe import Markup

from odoo import fields, models
from odoo.tools.misc import format_date

# Lines of a digest of new follow-ups; the rest are counted.
DIGEST_LINES = 50


class MailActivity(models.Model):
    _inherit = "mail.activity"

    loyalty_member_event_id = fields.Many2one(
        "loyalty.member.event",
        string="Loyalty Event",
        index="btree_not_null",
        ondelete="set null",
        readonly=True,
        groups="loyalty_crm_addon.group_loyalty_user",
        help="The member event whose automation rule planned this follow-up: "
        "undoing the event (a tier upgrade reverted the same day) closes it.",
    )

    def _loyalty_notify_assignees(self):
        """Tell the assigned users about new follow-ups planned by a batch
        of member events: a user given one gets Odoo's own notification,
        a user given several gets one message listing them, not one email
        per activity (the processing plans them by the thousand)."""
        by_user = defaultdict(lambda: self.browse())
        for activity in self:
            if activity.user_id and activity.user_id != self.env.user:
                by_user[activity.user_id] |= activity
        for user, activities in by_user.items():
            if len(activities) == 1:
                activities.action_notify()
                continue
            activities = activities.with_context(lang=user.lang or None)
            env = activities.env
            lines = Markup("").join(
                Markup("<li>%s: %s (%s)</li>")
                % (
                    activity.res_name,
                    activity.summary or activity.activity_type_id.name,
                    format_date(env, activity.date_deadline),
                )
                for activity in activities[:DIGEST_LINES]
            )
            more = len(activities) - DIGEST_LINES
            body = Markup("<p>%s</p><ul>%s</ul>") % (
                env._("Loyalty follow-ups planned for you:"),
                lines,
            )
            if more > 0:
                body += Markup("<p>%s</p>") % env._(
                    "... and %s more: see your activities.", more
                )
            env["mail.thread"].message_notify(
                partner_ids=user.partner_id.ids,
                body=body,
                subject=env._("%s loyalty follow-ups assigned to you", len(activities)),
            )
