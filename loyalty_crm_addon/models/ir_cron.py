# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models

from ..engine.batch import CRON_RUN


class IrCron(models.Model):
    _inherit = "ir.cron"

    def _add_progress(self, *, timed_out_counter=None):
        """Odoo runs a job's server action with the cron this returns, by
        the scheduler (``_run_job``) and on "Run Manually"
        (``method_direct_trigger``): the addon's batch runner
        (engine/batch.py) commits between the batches of such a run only,
        so an interrupted run keeps its batches and a manual run over a
        million members is not one transaction."""
        cron, progress = super()._add_progress(timed_out_counter=timed_out_counter)
        return cron.with_context(loyalty_cron_run=CRON_RUN), progress
