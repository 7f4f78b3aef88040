# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models


class LoyaltyRule(models.Model):
    # The engine caches a program's rules: a change clears it.
    _name = "loyalty.rule"
    _inherit = ["loyalty.rule", "loyalty.engine.data.mixin"]
