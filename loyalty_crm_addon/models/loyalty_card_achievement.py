# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class LoyaltyCard(models.Model):
    _inherit = "loyalty.card"  # pylint: disable=consider-merging-classes-inherited

    # Set (TRUE) by the ledger when the card's orders, referrals or feedback
    # changed in a program with achievements; cleared (NULL) once the
    # member's progress is computed (loyalty.achievement
    # ``_loyalty_process_due``). Written in SQL by the engine only.
    loyalty_achievement_due = fields.Boolean(
        readonly=True, copy=False, index="btree_not_null"
    )
