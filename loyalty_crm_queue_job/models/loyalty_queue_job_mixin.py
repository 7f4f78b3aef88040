# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The addon's scheduled work as queue jobs on the ``root.loyalty`` channel.

The cron records stay the clock: when the scheduler (or *Run Manually*)
runs one of the batch crons, the cron method enqueues the work as jobs
instead of doing it, and returns at once. The job runners of any number of
servers then share the jobs. A job does one batch (or one whole run, for the
crons that are not batched by row) in one transaction: killed or failed, it
is rolled back and retried, and the batch statements only take what is still
to do (pending lines, pending events...), so a job run twice changes nothing
twice.

Called directly (code, tests, a job), the cron methods work in place as the
addon ships them."""

import logging
import math

from psycopg2 import OperationalError, errorcodes

from odoo import models

from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.utils import must_run_without_delay

_logger = logging.getLogger(__name__)

# Errors of a batch that met another transaction on the same rows (two
# batches moving one card): the job is retried, not failed.
CONCURRENCY_ERRORS = frozenset(
    {
        errorcodes.SERIALIZATION_FAILURE,
        errorcodes.DEADLOCK_DETECTED,
        errorcodes.LOCK_NOT_AVAILABLE,
    }
)
RETRY_SECONDS = 5

# How a cron's work is split into jobs:
# - "fan_out": one job per batch, all enqueued at once and run in parallel
#   (the batch statement takes its rows FOR UPDATE SKIP LOCKED: two jobs at
#   once take different rows);
# - "chain": one batch per job, each job enqueues the next while work is
#   left (the batch statement does not skip locked rows: batches in parallel
#   would wait for each other);
# - "single": the whole run in one job (the cron is not batched by rows).
FAN_OUT, CHAIN, SINGLE = "fan_out", "chain", "single"


class LoyaltyQueueJobMixin(models.AbstractModel):
    _name = "loyalty.queue.job.mixin"
    _description = "Loyalty CRM: scheduled work as queue jobs"

    # {cron method: (mode, largest batch of a job)}; set by each model
    _loyalty_job_methods = {}

    def _loyalty_as_jobs(self):
        """Whether this cron run goes to the job queue: the cron machinery
        runs it (its progress record is in the context) and queue_job is not
        told to run jobs in place."""
        return bool(
            self.env.context.get("ir_cron_progress_id")
        ) and not must_run_without_delay(self.env)

    def _loyalty_job_batch_size(self, method, batch_size):
        return min(batch_size, self._loyalty_job_methods[method][1])

    def _loyalty_enqueue(self, method, batch_size=0, total=0):
        """Enqueue the jobs of a cron run: ``total`` items to do by batches
        of ``batch_size`` (fan out), or one job. A job of the same method
        and rank still waiting is not enqueued again (identity key), so a
        cron run while the jobs of the previous one wait adds none.

        Returns the number of jobs asked for."""
        mode = self._loyalty_job_methods[method][0]
        count = math.ceil(total / batch_size) if mode == FAN_OUT else 1
        records = self.browse()
        for rank in range(count):
            records.with_delay(
                description=f"{self._description}: {method} ({rank + 1}/{count})",
                identity_key=f"loyalty:{self._name}:{method}:{rank}",
            )._loyalty_job_run(method, batch_size)
        return count

    def _loyalty_job_run(self, method, batch_size=0):
        """The job: one batch of ``method`` (one run for the single ones),
        in a savepoint; another transaction on the same rows makes it
        retried later. A chained batch that did something enqueues the
        next one."""
        if method not in self._loyalty_job_methods:
            raise ValueError(f"{method} is not a loyalty job of {self._name}")
        mode = self._loyalty_job_methods[method][0]
        kwargs = {} if mode == SINGLE else {"batch_size": batch_size, "max_batches": 1}
        try:
            with self.env.cr.savepoint():
                done = getattr(self.browse(), method)(**kwargs)
        except OperationalError as error:
            if error.pgcode not in CONCURRENCY_ERRORS:
                raise
            _logger.info("%s.%s: concurrent update, retried", self._name, method)
            raise RetryableJobError(
                f"{errorcodes.lookup(error.pgcode)}: retried", seconds=RETRY_SECONDS
            ) from error
        if mode == CHAIN and done:
            self._loyalty_enqueue(method, batch_size)
        return f"{done or 0} handled"
