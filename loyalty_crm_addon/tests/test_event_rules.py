# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.fields import Command
from odoo.tests import new_test_user, tagged

from .common import LoyaltyCrmCommon, LoyaltyPosCase

# What a rule's action leaves behind in the transaction it runs in.
LOG_CODE = """
env["ir.logging"].create({
    "name": "loyalty rule", "type": "server", "level": "INFO",
    "message": "ran on %s" % record.id, "path": "rule", "line": "0", "func": "rule",
})
"""
BROKEN_CODE = """
if record.event_type == "nth_order":
    raise UserError("Broken rule")
"""


class RuleMixin:
    """Rules as an administrator who manages loyalty makes them on member
    events (Settings > Technical > Automation Rules): Odoo's default trigger
    "On creation and update", no condition."""

    @classmethod
    def _make_manager(cls):
        return new_test_user(
            cls.env,
            login=f"loyalty_rules_admin_{cls.__name__}",
            groups="base.group_system,loyalty_crm_addon.group_loyalty_manager",
        )

    def _rule(self, code, trigger="on_create_or_write", **values):
        Automation = self.env["base.automation"].with_user(self.rules_admin)
        model_id = self.env["ir.model"]._get_id("loyalty.member.event")
        rule = Automation.create(
            {
                "name": f"Staff rule {trigger}",
                "model_id": model_id,
                "trigger": trigger,
                **values,
            }
        )
        self.env["ir.actions.server"].with_user(self.rules_admin).create(
            {
                "name": "Staff code",
                "model_id": model_id,
                "base_automation_id": rule.id,
                "usage": "base_automation",
                "state": "code",
                "code": code,
            }
        )
        return rule

    def _runs(self, events):
        """How many times the logging rule ran on each of ``events``."""
        logs = self.env["ir.logging"].sudo().search([("message", "like", "ran on %")])
        return [logs.mapped("message").count(f"ran on {e.id}") for e in events]

    def _events(self, partner):
        return (
            self.env["loyalty.member.event"]
            .sudo()
            .search([("partner_id", "=", partner.id)], order="id")
        )

    def _process(self):
        self.env["loyalty.member.event"]._cron_process_events()


@tagged("post_install", "-at_install")
class TestEventRulesOutsideSales(RuleMixin, LoyaltyCrmCommon):
    """Whatever rule staff add on member events, with whatever trigger, it
    runs in the events' processing, never in the sale that recorded them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
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
        cls.rules_admin = cls._make_manager()
        cls.salesperson = new_test_user(
            cls.env, login="rules_sales", groups="sales_team.group_sale_salesman"
        )
        cls.member.user_id = cls.salesperson
        cls.followup = cls.env.ref(
            "loyalty_crm_addon.mail_activity_type_loyalty_followup"
        )

    def _sell(self, qty=5):
        """A sale of the member confirmed by their salesperson."""
        order = (
            self.env["sale.order"]
            .with_user(self.salesperson)
            .create(
                {
                    "partner_id": self.member.id,
                    "order_line": [
                        Command.create(
                            {
                                "product_id": self.product.id,
                                "product_uom_qty": qty,
                                "price_unit": 20.0,
                            }
                        )
                    ],
                }
            )
        )
        order._update_programs_and_rewards()
        order.action_confirm()
        return order

    def _followups(self):
        return self.env["mail.activity"].search(
            [
                ("res_model", "=", "res.partner"),
                ("res_id", "=", self.member.id),
                ("activity_type_id", "=", self.followup.id),
            ]
        )

    def _event_mails(self, event):
        return self.env["mail.mail"].search(
            [("model", "=", "loyalty.member.event"), ("res_id", "=", event.id)]
        )

    def test_failing_rule_with_default_trigger_blocks_no_sale(self):
        logging_rule = self._rule(LOG_CODE)
        broken = self._rule(BROKEN_CODE)
        order = self._sell()
        self.assertEqual(order.state, "sale")
        self.assertEqual(order.loyalty_ledger_line_ids.mapped("points"), [100.0])
        self.assertLedgerMatches()
        events = self._events(self.member)
        self.assertEqual(
            sorted(events.mapped("event_type")),
            ["nth_order", "reward_unlocked", "tier_upgrade"],
        )
        self.assertEqual(set(events.mapped("state")), {"pending"})
        self.assertEqual(self._runs(events), [0, 0, 0], "no rule ran in the sale")

        self._process()
        nth = events.filtered(lambda e: e.event_type == "nth_order")
        others = events - nth
        self.assertEqual(nth.state, "failed")
        self.assertIn("Broken rule", nth.error)
        self.assertEqual(set(others.mapped("state")), {"done"})
        # "On creation and update": once per event, in the processing.
        self.assertEqual(self._runs(others), [1, 1])
        self.assertEqual(self._runs(nth), [0], "rolled back with the failure")
        # The shipped rules of the other events did their follow-ups.
        upgrade = events.filtered(lambda e: e.event_type == "tier_upgrade")
        self.assertEqual(len(self._event_mails(upgrade)), 1)
        self.assertTrue(self._followups().filtered(lambda a: "Gold" in a.summary))
        self.assertFalse(self._followups().filtered(lambda a: "order" in a.summary))

        broken.with_user(self.rules_admin).active = False  # fixed
        self.assertIs(nth.with_user(self.rules_admin).action_retry(), True)
        self.assertEqual(self._runs(nth), [0], "retrying runs no rule either")
        self._process()
        self.assertEqual(nth.state, "done")
        self.assertFalse(nth.error)
        self.assertEqual(self._runs(events), [1, 1, 1])
        self.assertEqual(
            len(self._followups().filtered(lambda a: "order" in a.summary)), 1
        )
        # Processing again acts no more.
        self._process()
        self.assertEqual(self._runs(events), [1, 1, 1])
        self.assertEqual(len(self._event_mails(upgrade)), 1)
        self.assertTrue(logging_rule.active)

    def test_failing_rule_of_any_trigger_blocks_no_sale(self):
        state = self.env.ref("loyalty_crm_addon.field_loyalty_member_event__state")
        triggers = [
            ("on_create", {}),
            ("on_create_or_write", {"trigger_field_ids": [Command.set(state.ids)]}),
            ("on_write", {}),
            ("on_unlink", {}),
        ]
        for index, (trigger, values) in enumerate(triggers):
            with self.subTest(trigger=trigger):
                rule = self._rule('raise UserError("Broken rule")', trigger, **values)
                order = self._sell(qty=index + 1)
                self.assertEqual(order.state, "sale")
                event = self._events(self.member).filtered(
                    lambda e, o=order: (
                        e.event_type == "nth_order" and e.state == "pending"
                    )
                )
                self.assertEqual(len(event), 1)
                self._process()
                if trigger == "on_unlink":
                    self.assertEqual(event.state, "done")
                else:
                    self.assertEqual(event.state, "failed")
                    self.assertIn("Broken rule", event.error)
                rule.with_user(self.rules_admin).unlink()
        self.assertLedgerMatches()

    def test_shipped_rules_act_once_per_event(self):
        """The shipped rules ("On save" of Status, condition Status = Done)
        run once, when the processing sets the event done; writing the event
        again, retrying or processing again does not run them twice."""
        order = self._sell()
        upgrade = self._events(self.member).filtered(
            lambda e: e.event_type == "tier_upgrade"
        )
        self.assertFalse(self._event_mails(upgrade))
        self.assertFalse(self._followups())
        self._process()
        self.assertEqual(upgrade.state, "done")
        self.assertEqual(len(self._event_mails(upgrade)), 1)
        self.assertEqual(len(self._followups()), 2)  # the upgrade and the order
        upgrade.write({"state": "done"})
        upgrade.with_user(self.rules_admin).action_retry()
        self._process()
        self.assertEqual(len(self._event_mails(upgrade)), 1)
        self.assertEqual(len(self._followups()), 2)
        self.assertEqual(order.state, "sale")

    def test_processing_mark_cannot_be_sent(self):
        """The processing's mark is a Python object: a string or a boolean
        under its key, as an RPC caller would send, runs no rule."""
        self._rule(LOG_CODE)
        for forged in (True, "1", 1):
            order = (
                self.env["sale.order"]
                .with_user(self.salesperson)
                .with_context(loyalty_event_processing=forged)
                .create(
                    {
                        "partner_id": self.member.id,
                        "order_line": [
                            Command.create(
                                {"product_id": self.product.id, "price_unit": 20.0}
                            )
                        ],
                    }
                )
            )
            order._update_programs_and_rewards()
            order.action_confirm()
            self.assertEqual(order.state, "sale")
        events = self._events(self.member)
        self.assertTrue(events)
        self.assertEqual(set(self._runs(events)), {0})


@tagged("post_install", "-at_install")
class TestEventRulesOutsideTills(RuleMixin, LoyaltyPosCase):
    """A till's order records member events; no rule runs while the till
    syncs it, and a failing one leaves its event failed, not the till."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The earning member's order (200 -> 250 points) is their first
        # (an Nth order) and reaches a points milestone.
        cls.program.write({"loyalty_nth_order": 1, "loyalty_points_milestone": 250})
        cls.rules_admin = cls._make_manager()

    def test_failing_rule_with_default_trigger_blocks_no_till(self):
        self._rule(LOG_CODE)
        broken = self._rule(BROKEN_CODE)
        before = self._events(self.earn_member)
        data = self._order_data(self.earn_member)
        result = self.env["pos.order"].with_user(self.pos_user).sync_from_ui([data])
        order = self.env["pos.order"].browse(result["pos.order"][0]["id"])
        self.assertEqual(order.state, "paid")
        card = self._card(self.earn_member)
        order.with_user(self.pos_user).confirm_coupon_programs(
            {
                str(card.id): {
                    "points": 50.0,
                    "program_id": self.program.id,
                    "coupon_id": card.id,
                    "barcode": False,
                    "partner_id": self.earn_member.id,
                    "line_codes": [],
                }
            }
        )
        self.assertEqual(order.loyalty_ledger_line_ids.mapped("points"), [50.0])
        self.assertLedgerMatches(self.earn_member, 250)
        events = self._events(self.earn_member) - before
        nth = events.filtered(lambda e: e.event_type == "nth_order")
        self.assertEqual(len(nth), 1)
        self.assertEqual(set(events.mapped("state")), {"pending"})
        self.assertEqual(set(self._runs(events)), {0}, "no rule ran at the till")

        self._process()
        self.assertEqual(nth.state, "failed")
        self.assertIn("Broken rule", nth.error)
        reached = events - nth
        self.assertEqual(reached.mapped("event_type"), ["points_reached"])
        self.assertEqual(reached.state, "done")
        self.assertEqual(self._runs(reached), [1])
        # The shipped rule of the other event sent its email.
        self.assertTrue(
            self.env["mail.mail"]
            .sudo()
            .search([("model", "=", reached._name), ("res_id", "=", reached.id)])
        )

        broken.with_user(self.rules_admin).active = False
        nth.with_user(self.rules_admin).action_retry()
        self._process()
        self.assertEqual(nth.state, "done")
        self.assertEqual(self._runs(nth), [1])
