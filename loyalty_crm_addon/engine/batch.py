# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The one batch runner of the addon's scheduled actions."""

# Put in the context of a job's server action by the cron machinery itself
# (``ir.cron._add_progress``, which Odoo calls when the scheduler runs a job
# and on "Run Manually", see models/ir_cron.py) under the key
# ``loyalty_cron_run``: the run may commit between its batches. A Python
# object: an RPC caller cannot send it, and a method called directly (a
# test, a shell, another module) never commits.
CRON_RUN = object()


def cron_commits(env):
    """Whether the batch runner commits between batches: only in a job run
    by the cron machinery (the scheduler or "Run Manually")."""
    return env.context.get("loyalty_cron_run") is CRON_RUN


def run_batches(env, step, total=0, max_batches=0, remaining=None):
    """Call ``step()`` until it returns 0; it does one batch and returns how
    many items it handled. ``total`` is how many items the run expects (a
    count taken before the first batch), or ``remaining()`` says what is
    left after each batch (0 ends the run). After each batch the cron's
    progress says what is done and what remains. ``max_batches`` stops the
    run early (0: all): the cron job is called again and resumes. In a job
    run by the cron machinery, commits before each further batch (never
    after the last one: a run of one batch commits nothing, the caller's
    transaction ends it).

    Returns the number of items handled."""
    cron = env["ir.cron"]
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
        if left and cron_commits(env):
            # The batches done so far, and their progress, are kept if the
            # run is interrupted; the next run resumes after them.
            env.cr.commit()  # pylint: disable=invalid-commit


def run_statement(env, query, params, on_batch=None, total=0, max_batches=0):
    """``run_batches`` over one SQL statement that does a batch (its first
    column says how many items it handled); ``on_batch(row)`` follows each
    batch up (and moves ``params`` on, to resume after it)."""

    def step():
        env.cr.execute(query, params)
        row = env.cr.fetchone()
        env.invalidate_all()
        if row[0] and on_batch:
            on_batch(row)
        return row[0]

    return run_batches(env, step, total, max_batches)


def count(env, query, params=None):
    """How many items a run expects (a COUNT query), for its progress."""
    env.flush_all()
    env.cr.execute(query, params)
    return env.cr.fetchone()[0]
