# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The mark of a run of the cron machinery, which the batch runner
(``loyalty.batch``, models/loyalty_batch.py) commits between batches in."""

# Put in the context of a job's server action by the cron machinery itself
# (``ir.cron._add_progress``, which Odoo calls when the scheduler runs a job
# and on "Run Manually", see models/ir_cron.py) under the key
# ``loyalty_cron_run``: the run may commit between its batches. A Python
# object: an RPC caller cannot send it, and a method called directly (a
# test, a shell, another module) never commits.
CRON_RUN = object()
