# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.tests import tagged

from odoo.addons.loyalty_crm_addon.tests.common import LoyaltyCrmCommon
from odoo.addons.queue_job.job import Job


class Killed(Exception):
    """The server running a job dies before its transaction commits."""


@tagged("post_install", "-at_install")
class TestLoyaltyJobs(LoyaltyCrmCommon):
    """The batch crons run by the scheduler enqueue jobs on the loyalty
    channel; each job is a batch, and a job run again (retried after a
    crash, or twice) changes nothing twice."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Event = cls.env["loyalty.member.event"]
        cls.Job = cls.env["queue.job"]
        cls.others = cls.env["res.partner"].create(
            [
                {"name": f"Queued {i}", "email": f"queued{i}@example.com"}
                for i in range(4)
            ]
        )
        cls.members = cls.member | cls.others
        cls.cards = cls.env["loyalty.card"].browse(
            [partner.action_loyalty_enroll() for partner in cls.members]
        )
        cls.manager = cls.env["res.users"].create(
            {
                "name": "Queue Manager",
                "login": "queue_loyalty_manager",
                "email": "queue.manager@example.com",
                "groups_id": [
                    (4, cls.env.ref("loyalty_crm_addon.group_loyalty_manager").id),
                    (4, cls.env.ref("base.group_system").id),
                ],
            }
        )

    def _run_cron(self, xmlid):
        """Run Manually, as a manager would: the cron machinery's context."""
        cron = self.env.ref(f"loyalty_crm_addon.{xmlid}").with_user(self.manager)
        cron.method_direct_trigger()

    def _jobs(self, method="_loyalty_job_run", states=("pending",)):
        return self.Job.search(
            [("method_name", "=", method), ("state", "in", list(states))],
            order="id",
        )

    def _perform(self, job_record):
        """As the runner's request does: started, performed, done."""
        job = Job.load(self.env, job_record.uuid)
        job.set_started()
        job.store()
        job.perform()
        job.set_done()
        job.store()
        return job

    def _clear_due(self, days):
        """What the shared test data (other members' cards) has due
        ``days`` from now is done first, in place (a direct call is not a
        cron run: no job), so the jobs below count this test's lines only."""
        with freeze_time(fields.Date.today() + timedelta(days=days)):
            self.Ledger._cron_release_pending()
            self.Ledger._cron_expire_points()

    def _pending_points(self):
        self._clear_due(15)
        self.program.loyalty_pending_days = 14
        for partner in self.members:
            self._confirmed_order(partner)
        pending = self.Ledger.search(
            [("card_id", "in", self.cards.ids), ("state", "=", "pending")]
        )
        self.assertEqual(len(pending), 5)
        return pending

    def test_release_fans_out_one_job_per_batch(self):
        self._pending_points()
        with freeze_time(fields.Date.today() + timedelta(days=15)):
            self.env.ref(
                "loyalty_crm_addon.ir_cron_loyalty_release_pending"
            ).code = "model._cron_release_pending(batch_size=2)"
            self._run_cron("ir_cron_loyalty_release_pending")
            jobs = self._jobs()
            self.assertEqual(len(jobs), 3, "5 lines by batches of 2: 3 jobs")
            self.assertEqual(set(jobs.mapped("channel")), {"root.loyalty"})
            self.assertEqual(set(jobs.mapped("model_name")), {"loyalty.ledger.line"})
            self.assertEqual(self.cards.mapped("points"), [0] * 5, "nothing done yet")

            self._run_cron("ir_cron_loyalty_release_pending")
            self.assertEqual(self._jobs(), jobs, "a run while jobs wait adds none")

            for job in jobs:
                self._perform(job)
        self.assertEqual(self.cards.mapped("points"), [100] * 5)
        for card in self.cards:
            self.assertLedgerMatches(card)

    def test_job_killed_mid_batch_and_retried_changes_nothing_twice(self):
        pending = self._pending_points()
        with freeze_time(fields.Date.today() + timedelta(days=15)):
            self.env.ref(
                "loyalty_crm_addon.ir_cron_loyalty_release_pending"
            ).code = "model._cron_release_pending(batch_size=2)"
            self._run_cron("ir_cron_loyalty_release_pending")
            first, *others = self._jobs()

            # The batch is done in the job's transaction, then the server
            # dies before the commit: all of it is rolled back.
            with self.assertRaises(Killed), self.env.cr.savepoint():
                Job.load(self.env, first.uuid).perform()
                self.env.flush_all()
                self.assertEqual(
                    len(pending.filtered(lambda line: line.state == "posted")), 2
                )
                raise Killed()
            self.env.invalidate_all()
            self.assertEqual(set(pending.mapped("state")), {"pending"})
            self.assertEqual(self.cards.mapped("points"), [0] * 5)

            # Retried: the batch is done once.
            self._perform(first)
            self.assertEqual(sorted(self.cards.mapped("points")), [0, 0, 0, 100, 100])
            # Run twice (a retry after the commit was lost on the way back):
            # it takes what is left, never what is done.
            self._perform(first)
            for job in others:
                self._perform(job)
            self._perform(first)
        self.env.invalidate_all()
        self.assertEqual(set(pending.mapped("state")), {"posted"})
        self.assertEqual(self.cards.mapped("points"), [100] * 5, "none released twice")
        for card in self.cards:
            self.assertLedgerMatches(card)

    def test_expiry_chains_its_batches(self):
        self._clear_due(40)
        self.program.loyalty_points_validity_days = 30
        for partner in self.members:
            self._give_points(40, partner)
        self.env.ref(
            "loyalty_crm_addon.ir_cron_loyalty_expire_points"
        ).code = "model._cron_expire_points(batch_size=2)"
        with freeze_time(fields.Date.today() + timedelta(days=40)):
            self._run_cron("ir_cron_loyalty_expire_points")
            self.assertEqual(len(self._jobs()), 1, "one batch at a time")
            ran = 0
            while jobs := self._jobs():
                self.assertEqual(len(jobs), 1)
                self._perform(jobs)
                ran += 1
        self.assertEqual(ran, 4, "3 batches of 2 cards, then one finding none")
        self.assertEqual(self.cards.mapped("points"), [0] * 5)
        expired = self.Ledger.search(
            [("card_id", "in", self.cards.ids), ("entry_type", "=", "expire")]
        )
        self.assertEqual(len(expired), 5, "one expiry line per card, none twice")
        for card in self.cards:
            self.assertLedgerMatches(card)

    def test_event_processing_and_single_runs_are_jobs(self):
        self.members.sudo().write(
            {"loyalty_last_activity_date": fields.Date.today() - timedelta(days=400)}
        )
        self._run_cron("ir_cron_loyalty_inactivity")
        job = self._jobs()
        self.assertEqual(len(job), 1)
        self.assertEqual(job.model_name, "loyalty.member.event")
        self._perform(job)
        events = self.Event.search(
            [("partner_id", "in", self.members.ids), ("event_type", "=", "inactive")]
        )
        self.assertEqual(len(events), 5)
        self.assertEqual(set(events.mapped("state")), {"pending"})

        self.env.ref(
            "loyalty_crm_addon.ir_cron_loyalty_process_events"
        ).code = "model._cron_process_events(batch_size=2)"
        self._run_cron("ir_cron_loyalty_process_events")
        jobs = self._jobs()
        pending_all = self.Event.search_count([("state", "=", "pending")])
        self.assertEqual(len(jobs), -(-pending_all // 2))
        for job in jobs:
            self._perform(job)
            self._perform(job)  # twice: the events act once
        self.assertEqual(set(events.mapped("state")), {"done"})

    def test_direct_calls_work_in_place(self):
        """Code and tests calling a cron method (no cron machinery) get the
        work done at once, as without the job queue."""
        self._pending_points()
        with freeze_time(fields.Date.today() + timedelta(days=15)):
            self.Ledger._cron_release_pending()
        self.assertFalse(self._jobs())
        self.assertEqual(self.cards.mapped("points"), [100] * 5)
