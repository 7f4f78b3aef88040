# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models

from .loyalty_queue_job_mixin import SINGLE


class ResPartner(models.Model):
    _name = "res.partner"
    _inherit = ["res.partner", "loyalty.queue.job.mixin"]

    _loyalty_job_methods = {"_cron_loyalty_segments": (SINGLE, 0)}

    @api.model
    def _cron_loyalty_segments(self, batch_size=50000, max_batches=0):
        if not self._loyalty_as_jobs():
            return super()._cron_loyalty_segments(batch_size, max_batches)
        return self._loyalty_enqueue("_cron_loyalty_segments")
