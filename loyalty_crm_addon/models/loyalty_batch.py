# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models

from ..engine.batch import CRON_RUN


class LoyaltyBatch(models.AbstractModel):
    """The one batch runner of the addon's scheduled actions (release,
    expiry, detection scans, tier review, scoring, achievements, the KPI
    order facts, the import): another module overrides how every run is
    cut and committed with ``_inherit``."""

    _name = "loyalty.batch"
    _description = "Loyalty Batch Runner"

    @api.model
    def _cron_commits(self):
        """Whether the batch runner commits between batches: only in a job
        run by the cron machinery (the scheduler or "Run Manually"), which
        puts ``CRON_RUN`` (a Python object: no RPC caller can send it) in
        the job's context (models/ir_cron.py)."""
        return self.env.context.get("loyalty_cron_run") is CRON_RUN

    @api.model
    def _run_batches(self, step, total=0, max_batches=0, remaining=None):
        """Call ``step()`` until it returns 0; it does one batch and returns
        how many items it handled. ``total`` is how many items the run
        expects (a count taken before the first batch), or ``remaining()``
        says what is left after each batch (0 ends the run). After each
        batch the cron's progress says what is done and what remains.
        ``max_batches`` stops the run early (0: all): the cron job is
        called again and resumes. In a job run by the cron machinery,
        commits before each further batch (never after the last one: a run
        of one batch commits nothing, the caller's transaction ends it).

        Returns the number of items handled."""
        env = self.env
        cron = env["ir.cron"]
        commits = self._cron_commits()
        done = batches = 0
        while True:
            env.flush_all()
            count = step()
            env.invalidate_all()
            if not count:
                if done and remaining is None and done < total:
                    # Fewer than counted (skipped, or gone meanwhile): all done.
                    cron._notify_progress(done=done, remaining=0)
                return done
            done += count
            batches += 1
            left = remaining() if remaining else max(total - done, 0)
            cron._notify_progress(done=done, remaining=left)
            if remaining and not left:
                return done
            if max_batches and batches >= max_batches:
                return done
            if left and commits:
                # The batches done so far, and their progress, are kept if
                # the run is interrupted; the next run resumes after them.
                env.cr.commit()  # pylint: disable=invalid-commit

    @api.model
    def _run_statement(self, query, params, on_batch=None, total=0, max_batches=0):
        """``_run_batches`` over one SQL statement that does a batch (its
        first column says how many items it handled); ``on_batch(row)``
        follows each batch up (and moves ``params`` on, to resume after
        it)."""
        cr = self.env.cr

        def step():
            cr.execute(query, params)
            row = cr.fetchone()
            self.env.invalidate_all()
            if row[0] and on_batch:
                on_batch(row)
            return row[0]

        return self._run_batches(step, total, max_batches)

    @api.model
    def _count(self, query, params=None):
        """How many items a run expects (a COUNT query), for its progress."""
        self.env.flush_all()
        self.env.cr.execute(query, params)
        return self.env.cr.fetchone()[0]
