# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models

from .loyalty_queue_job_mixin import SINGLE


class LoyaltyTier(models.Model):
    _name = "loyalty.tier"
    _inherit = ["loyalty.tier", "loyalty.queue.job.mixin"]

    _loyalty_job_methods = {"_cron_review_tiers": (SINGLE, 0)}

    @api.model
    def _cron_review_tiers(self, batch_size=5000, max_batches=0):
        if not self._loyalty_as_jobs():
            return super()._cron_review_tiers(batch_size, max_batches)
        return self._loyalty_enqueue("_cron_review_tiers")
