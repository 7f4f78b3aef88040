# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models


class LoyaltyEngineDataMixin(models.AbstractModel):
    """Records the engine caches per program (loyalty.program
    ``_loyalty_engine_data``: earning rules, rewards, tiers): any change of
    one clears the cache."""

    _name = "loyalty.engine.data.mixin"
    _description = "Loyalty Engine Cached Program Data"

    @api.model_create_multi
    def create(self, vals_list):
        self.env.registry.clear_cache()
        return super().create(vals_list)

    def write(self, vals):
        self.env.registry.clear_cache()
        return super().write(vals)

    def unlink(self):
        self.env.registry.clear_cache()
        return super().unlink()
