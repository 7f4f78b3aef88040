# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

from .loyalty_queue_job_mixin import CHAIN, FAN_OUT


class LoyaltyLedgerLine(models.Model):
    _name = "loyalty.ledger.line"
    _inherit = ["loyalty.ledger.line", "loyalty.queue.job.mixin"]

    _loyalty_job_methods = {
        "_cron_release_pending": (FAN_OUT, 5000),
        "_cron_expire_points": (CHAIN, 5000),
    }

    @api.model
    def _cron_release_pending(self, batch_size=50000, max_batches=0):
        if not self._loyalty_as_jobs():
            return super()._cron_release_pending(batch_size, max_batches)
        method = "_cron_release_pending"
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT COUNT(*) FROM loyalty_ledger_line"
            " WHERE state = 'pending' AND release_date <= %s",
            [fields.Date.context_today(self)],
        )
        return self._loyalty_enqueue(
            method,
            self._loyalty_job_batch_size(method, batch_size),
            self.env.cr.fetchone()[0],
        )

    @api.model
    def _cron_expire_points(self, batch_size=10000, max_batches=0):
        if not self._loyalty_as_jobs():
            return super()._cron_expire_points(batch_size, max_batches)
        method = "_cron_expire_points"
        return self._loyalty_enqueue(
            method, self._loyalty_job_batch_size(method, batch_size)
        )
