# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.exceptions import AccessError
from odoo.fields import Command
from odoo.tests import new_test_user, tagged

from .common import LoyaltyCrmCommon, make_rule


@tagged("post_install", "-at_install")
class TestEventProcessing(LoyaltyCrmCommon):
    """Automation runs after the business transaction, from a cron; a broken
    rule never blocks a sale and its event can be retried once fixed."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Event = cls.env["loyalty.member.event"]
        cls.program.write(
            {
                "loyalty_points_milestone": 0,
                "loyalty_nth_order": 1,
                "loyalty_tier_ids": [
                    Command.create({"name": "Silver", "threshold": 0}),
                    Command.create({"name": "Gold", "threshold": 100}),
                ],
            }
        )
        cls.silver, cls.gold = cls.program.loyalty_tier_ids.sorted("threshold")
        cls.manager = new_test_user(
            cls.env,
            login="loyalty_events_manager",
            groups="loyalty_crm_addon.group_loyalty_manager",
        )
        cls.clerk = new_test_user(
            cls.env,
            login="loyalty_events_clerk",
            groups="loyalty_crm_addon.group_loyalty_user",
        )
        cls.activity_type = cls.env.ref(
            "loyalty_crm_addon.mail_activity_type_loyalty_followup"
        )

    def _broken_rule(self, event_type):
        """A rule an administrator could write, with code that raises."""
        return make_rule(self.env, event_type, "records.no_such_method()")

    def _event(self, event_type):
        return self.Event.search(
            [("event_type", "=", event_type), ("partner_id", "=", self.member.id)]
        )

    def _activities(self):
        return self.env["mail.activity"].search(
            [
                ("res_model", "=", "res.partner"),
                ("res_id", "=", self.member.id),
                ("activity_type_id", "=", self.activity_type.id),
            ]
        )

    def _order_activities(self):
        return self._activities().filtered(lambda a: "order #1" in a.summary)

    def _mails(self, event):
        return self.env["mail.mail"].search(
            [("model", "=", "loyalty.member.event"), ("res_id", "=", event.id)]
        )

    def test_broken_rule_does_not_block_a_sale_and_is_retried(self):
        rule, __ = self._broken_rule("nth_order")
        order = self._confirmed_order()
        # The sale went through: confirmed, points posted, events recorded.
        self.assertEqual(order.state, "sale")
        self.assertEqual(order.loyalty_ledger_line_ids.mapped("points"), [100.0])
        self.assertLedgerMatches()
        nth, unlocked = self._event("nth_order"), self._event("reward_unlocked")
        self.assertEqual((nth | unlocked).mapped("state"), ["pending", "pending"])
        self.assertFalse(self._mails(unlocked), "nothing runs in the transaction")
        cron = self.env.ref("loyalty_crm_addon.ir_cron_loyalty_process_events")
        self.assertTrue(
            self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]),
            "the processing cron is woken up at once",
        )

        self.Event._cron_process_events()
        self.assertEqual(nth.state, "failed")
        self.assertIn("no_such_method", nth.error)
        # What the shipped rules did for that event went with the failure.
        self.assertFalse(self._mails(nth))
        self.assertFalse(self._order_activities())
        # The other event of the same sale went on.
        self.assertEqual(unlocked.state, "done")
        self.assertEqual(len(self._mails(unlocked)), 1)
        # Managers find it.
        failed = self.Event.with_user(self.manager).search([("state", "=", "failed")])
        self.assertEqual(failed, nth)

        with self.assertRaises(AccessError):
            nth.with_user(self.clerk).action_retry()
        rule.active = False  # fixed
        self.assertIs(nth.with_user(self.manager).action_retry(), True)
        self.assertEqual(nth.state, "pending")
        self.assertFalse(nth.error)
        self.Event._cron_process_events()
        self.assertEqual(nth.state, "done")
        self.assertEqual(len(self._order_activities()), 1)
        self.assertEqual(len(self._mails(nth)), 1)

    def test_template_failing_to_render_does_not_block_a_tier_upgrade(self):
        template = self.env.ref("loyalty_crm_addon.mail_template_loyalty_tier_upgrade")
        template.subject = "{{ object.no_such_field }}"
        order = self._confirmed_order()
        self.assertEqual(order.state, "sale")
        # The tier changes in the transaction: the next order needs it.
        self.assertEqual(self.card.loyalty_tier_id, self.gold)
        upgrade = self._event("tier_upgrade")
        self.assertEqual(upgrade.tier_id, self.gold)

        self.Event._cron_process_events()
        self.assertEqual(upgrade.state, "failed")
        self.assertTrue(upgrade.error)
        # The rule's activity (run before its email) went with the failure.
        self.assertFalse(
            self._activities().filtered(lambda a: "Gold" in (a.summary or ""))
        )
        self.assertEqual(self._event("nth_order").state, "done")

        template.subject = "Welcome to {{ object.tier_id.name }}"
        upgrade.with_user(self.manager).action_retry()
        self.Event._cron_process_events()
        self.assertEqual(upgrade.state, "done")
        self.assertEqual(self._mails(upgrade).subject, "Welcome to Gold")

    def test_events_processed_twice_act_once(self):
        self.program.loyalty_nth_order = 0
        event = self.Event._emit(
            [
                self.Event._prepare_event(
                    self.card,
                    "tier_upgrade",
                    "tier:twice",
                    tier_id=self.gold.id,
                    previous_tier_id=self.silver.id,
                )
            ]
        )
        self.Event._cron_process_events()
        self.Event._cron_process_events()
        event._loyalty_process()
        event.with_user(self.manager).action_retry()  # not failed: no-op
        self.Event._cron_process_events()
        self.assertEqual(event.state, "done")
        self.assertEqual(len(self._activities()), 1)
        self.assertEqual(len(self._mails(event)), 1)
        # Writing the state again (an import, a script) does not re-fire.
        event.write({"state": "done"})
        self.assertEqual(len(self._activities()), 1)

    def test_cron_reports_what_remains(self):
        self.program.loyalty_nth_order = 0
        self.Event._emit(
            [
                self.Event._prepare_event(self.card, "birthday", f"birthday:test:{i}")
                for i in range(5)
            ]
        )
        cron = self.env.ref("loyalty_crm_addon.ir_cron_loyalty_process_events")
        progress = self.env["ir.cron.progress"].create({"cron_id": cron.id})
        done = self.Event.with_context(
            ir_cron_progress_id=progress.id
        )._cron_process_events(batch_size=2)
        self.assertEqual(done, 5)
        self.assertEqual((progress.done, progress.remaining), (5, 0))
        self.assertFalse(self.Event.search([("state", "=", "pending")]))

    def test_core_points_reach_mail_not_sent_for_members(self):
        """Milestone emails of members come from the events only."""
        template = self.env["mail.template"].create(
            {
                "name": "Core milestone",
                "model_id": self.env["ir.model"]._get_id("loyalty.card"),
                "subject": "Core milestone",
            }
        )
        self.program.write(
            {
                "loyalty_points_milestone": 50,
                "communication_plan_ids": [
                    Command.create(
                        {
                            "trigger": "points_reach",
                            "points": 50,
                            "mail_template_id": template.id,
                        }
                    )
                ],
            }
        )
        self._give_points(60)
        self.Event._cron_process_events()
        self.assertFalse(
            self.env["mail.mail"].search([("subject", "=", "Core milestone")])
        )
        reached = self._event("points_reached")
        self.assertEqual(reached.state, "done")
        self.assertEqual(len(self._mails(reached)), 1)
