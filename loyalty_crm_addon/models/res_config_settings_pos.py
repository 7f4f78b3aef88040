# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    # res.config.settings is extended per capability, each in its own file.
    _inherit = "res.config.settings"  # pylint: disable=consider-merging-classes-inherited

    pos_loyalty_ask_before_spending = fields.Boolean(
        related="pos_config_id.loyalty_ask_before_spending", readonly=False
    )
