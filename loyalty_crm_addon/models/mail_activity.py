# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


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
