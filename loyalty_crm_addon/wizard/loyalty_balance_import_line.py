# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

from ..engine.ledger import PRECISION

ACTIONS = [
    ("create", "Create"),
    ("match", "Match"),
    ("skip", "Already Imported"),
    ("reject", "Reject"),
]


class LoyaltyBalanceImportLine(models.Model):
    _name = "loyalty.balance.import.line"
    _description = "Loyalty Balance Import Report Line"
    _order = "import_id, row"

    import_id = fields.Many2one(
        "loyalty.balance.import", required=True, index=True, ondelete="cascade"
    )
    row = fields.Integer(help="Data row of the file (1 is the first after the header).")
    action = fields.Selection(ACTIONS, required=True)
    partner_id = fields.Many2one("res.partner", index="btree_not_null")
    email = fields.Char()
    name = fields.Char()
    phone = fields.Char()
    ref = fields.Char()
    points = fields.Float(digits=(16, PRECISION))
    lifetime_points = fields.Float(digits=(16, PRECISION))
    earned_on = fields.Date()
    expires_on = fields.Date()
    message = fields.Char()
    existing_points = fields.Float(
        digits=(16, PRECISION),
        help="Points the matched member already held: the row's points add to them.",
    )
