# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models

from .loyalty_queue_job_mixin import FAN_OUT, SINGLE


class LoyaltyMemberEvent(models.Model):
    _name = "loyalty.member.event"
    _inherit = ["loyalty.member.event", "loyalty.queue.job.mixin"]

    _loyalty_job_methods = {
        "_cron_process_events": (FAN_OUT, 200),
        "_cron_detect_inactivity": (SINGLE, 0),
        "_cron_detect_birthdays": (SINGLE, 0),
        "_cron_detect_expiring_points": (SINGLE, 0),
    }

    @api.model
    def _cron_process_events(self, batch_size=1000, max_batches=0):
        if not self._loyalty_as_jobs():
            return super()._cron_process_events(batch_size, max_batches)
        method = "_cron_process_events"
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT COUNT(*) FROM loyalty_member_event WHERE state = 'pending'"
        )
        return self._loyalty_enqueue(
            method,
            self._loyalty_job_batch_size(method, batch_size),
            self.env.cr.fetchone()[0],
        )

    @api.model
    def _cron_detect_inactivity(self, batch_size=10000, max_batches=0):
        if not self._loyalty_as_jobs():
            return super()._cron_detect_inactivity(batch_size, max_batches)
        return self._loyalty_enqueue("_cron_detect_inactivity")

    @api.model
    def _cron_detect_birthdays(self, batch_size=10000, max_batches=0):
        if not self._loyalty_as_jobs():
            return super()._cron_detect_birthdays(batch_size, max_batches)
        return self._loyalty_enqueue("_cron_detect_birthdays")

    @api.model
    def _cron_detect_expiring_points(self, batch_size=10000, max_batches=0):
        if not self._loyalty_as_jobs():
            return super()._cron_detect_expiring_points(batch_size, max_batches)
        return self._loyalty_enqueue("_cron_detect_expiring_points")
