# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The one batch runner of the addon's scheduled actions."""

from odoo.modules import module


def cron_commits(env):
    """Commit between batches in a cron job so an interrupted run keeps its
    work and the next run resumes; never inside tests."""
    return bool(env.context.get("ir_cron_progress_id")) and not module.current_test


def run_batches(env, step, total=0):
    """Call ``step()`` until it returns 0; it does one batch and returns how
    many items it handled. ``total`` is how many items the run expects (a
    count taken before the first batch): the cron's progress says what is
    done and what remains. Commits between batches in a cron job.

    Returns the number of items handled."""
    cron = env["ir.cron"]
    done = 0
    while True:
        env.flush_all()
        count = step()
        env.invalidate_all()
        if not count:
            return done
        done += count
        cron._notify_progress(done=done, remaining=max(total - done, 0))
        if cron_commits(env):
            env.cr.commit()  # pylint: disable=invalid-commit
