# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.tests import tagged

from .common import LoyaltyCrmCommon


@tagged("post_install", "-at_install")
class TestCronProgress(LoyaltyCrmCommon):
    """The scheduled actions say what they did and what remains; a run
    stopped after a few batches is picked up by the next one, and nothing
    is done twice."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Event = cls.env["loyalty.member.event"]
        cls.others = cls.env["res.partner"].create(
            [{"name": f"Member {i}", "email": f"m{i}@example.com"} for i in range(4)]
        )
        for partner in cls.others:
            partner.action_loyalty_enroll()
        cls.members = cls.member | cls.others

    def _progress(self, xmlid):
        cron = self.env.ref(f"loyalty_crm_addon.{xmlid}")
        return self.env["ir.cron.progress"].create({"cron_id": cron.id})

    def _as_cron(self, model, progress):
        return model.with_context(ir_cron_progress_id=progress.id)

    def test_inactivity_stopped_early_reports_what_remains(self):
        self.members.sudo().write(
            {"loyalty_last_activity_date": fields.Date.today() - timedelta(days=100)}
        )
        first = self._progress("ir_cron_loyalty_inactivity")
        self._as_cron(self.Event, first)._cron_detect_inactivity(
            batch_size=2, max_batches=1
        )
        self.assertEqual((first.done, first.remaining), (2, 3))
        events = self.Event.search([("event_type", "=", "inactive")])
        self.assertEqual(len(events), 2, "only the first batch was done")

        second = self._progress("ir_cron_loyalty_inactivity")
        self._as_cron(self.Event, second)._cron_detect_inactivity(batch_size=2)
        self.assertEqual((second.done, second.remaining), (5, 0))
        events = self.Event.search([("event_type", "=", "inactive")])
        self.assertEqual(events.partner_id, self.members)
        self.assertEqual(len(events), 5, "one event per member, none twice")

    def test_release_stopped_early_reports_what_remains(self):
        self.program.loyalty_pending_days = 14
        for partner in self.members[:3]:
            self._confirmed_order(partner)
        pending = self.Ledger.search([("state", "=", "pending")])
        self.assertEqual(len(pending), 3)
        with freeze_time(fields.Date.today() + timedelta(days=15)):
            first = self._progress("ir_cron_loyalty_release_pending")
            self._as_cron(self.Ledger, first)._cron_release_pending(
                batch_size=1, max_batches=2
            )
            self.assertEqual((first.done, first.remaining), (2, 1))
            self.assertEqual(pending.mapped("state").count("posted"), 2)

            second = self._progress("ir_cron_loyalty_release_pending")
            self._as_cron(self.Ledger, second)._cron_release_pending(batch_size=1)
            self.assertEqual((second.done, second.remaining), (1, 0))
        self.assertEqual(set(pending.mapped("state")), {"posted"})
        for partner in self.members[:3]:
            card = partner.loyalty_card_id
            self.assertEqual(card.points, 100, "released once")
            self.assertLedgerMatches(card)

    def test_only_a_run_of_the_cron_machinery_commits_between_batches(self):
        """Odoo runs a job (scheduler, "Run Manually") with the cron that
        ``_add_progress`` returns: the batch runner commits between the
        batches of such a run only. A cron method called directly, with a
        progress record or not, never commits (nor can an RPC context ask
        it to)."""
        cron = self.env.ref("loyalty_crm_addon.ir_cron_loyalty_inactivity")
        run, progress = cron._add_progress()
        self.assertTrue(run.env["loyalty.batch"]._cron_commits())
        self.assertFalse(
            self._as_cron(self.Event, progress).env["loyalty.batch"]._cron_commits()
        )
        self.assertFalse(self.env["loyalty.batch"]._cron_commits())
        self.assertFalse(
            self.env(context={"loyalty_cron_run": True})[
                "loyalty.batch"
            ]._cron_commits()
        )
