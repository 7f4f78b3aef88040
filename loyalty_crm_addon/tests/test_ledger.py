# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta
from unittest.mock import patch

from freezegun import freeze_time
from psycopg2.errors import SerializationFailure

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, new_test_user, tagged

from .common import LoyaltyCrmCommon


@tagged("post_install", "-at_install")
class TestLedgerSales(LoyaltyCrmCommon):
    def test_confirmed_order_earns_points(self):
        order = self._confirmed_order()
        earn = self._lines(entry_type="earn")
        self.assertEqual(earn.points, 100)
        self.assertEqual(earn.state, "posted")
        self.assertEqual(earn.sale_order_id, order)
        self.assertEqual(earn.partner_id, self.member)
        self.assertEqual(self.member.loyalty_balance, 100)
        self.assertEqual(order.loyalty_points_earned, 100)
        self.assertEqual(self.member.loyalty_last_activity_date, fields.Date.today())
        self.assertLedgerMatches()

    def test_reward_on_order_is_a_redemption_and_cancel_reverses_all(self):
        self._give_points(150)
        order = self._order()
        order._update_programs_and_rewards()
        self.assertNotIn("error", order._apply_program_reward(self.reward, self.card))
        order.action_confirm()
        redeem = self._lines(entry_type="redeem")
        earn = self._lines(entry_type="earn")
        self.assertEqual(redeem.points, -100)
        self.assertEqual(
            earn.points, 100, "1 point per currency unit, as Odoo counts them"
        )
        self.assertEqual(self.card.points, 150 - 100 + 100)
        self.assertLedgerMatches()

        order._action_cancel()
        reversals = self._lines(entry_type="reversal")
        self.assertEqual(
            sorted(reversals.mapped("points")),
            [-100, 100],
            "earned taken back, spent given back",
        )
        self.assertEqual(reversals.reversed_line_id, redeem | earn)
        self.assertTrue(earn.exists() and redeem.exists(), "nothing is deleted")
        self.assertEqual(self.card.points, 150)
        self.assertLedgerMatches()

    def test_cancel_twice_reverses_once(self):
        order = self._confirmed_order()
        order._action_cancel()
        order.action_draft()
        order._action_cancel()
        self.assertEqual(len(self._lines(entry_type="reversal")), 1)
        self.assertEqual(self.card.points, 0)
        self.assertLedgerMatches()

    def test_reward_cost_changed_after_confirmation_then_cancel_gives_back_once(self):
        self._give_points(150)
        order = self._order()
        order._update_programs_and_rewards()
        order._apply_program_reward(self.reward, self.card)
        order.action_confirm()
        self.assertEqual(self.card.points, 150)  # -100 reward, +100 earned
        order.order_line.filtered("is_reward_line").points_cost = 60
        given_back = self._lines(entry_type="redeem").filtered(lambda ln: ln.points > 0)
        self.assertEqual(given_back.points, 40)
        self.assertEqual(given_back.sale_order_id, order)
        self.assertEqual(self.card.points, 190)
        order._action_cancel()
        self.assertEqual(self.card.points, 150, "the points are given back only once")
        self.assertLedgerMatches()

    def test_credit_note_posted_twice_reverses_once(self):
        order = self._confirmed_order(qty=4, price=25.0)
        invoice = order._create_invoices()
        invoice.action_post()
        refund = invoice._reverse_moves()
        refund.action_post()
        refund.button_draft()
        refund.action_post()
        self.assertEqual(len(self._lines(entry_type="reversal")), 1)
        self.assertEqual(self.card.points, 0)
        self.assertLedgerMatches()

    def test_pending_points_cannot_pay_for_the_order_earning_them(self):
        self.program.loyalty_pending_days = 14
        order = self._order(qty=10)  # earns 200 pending points
        order._update_programs_and_rewards()
        self.assertIn("error", order._apply_program_reward(self.reward, self.card))
        self.assertFalse(order.order_line.filtered("is_reward_line"))

    def test_credit_note_reverses_in_proportion(self):
        order = self._confirmed_order(qty=4, price=25.0)
        invoice = order._create_invoices()
        invoice.action_post()
        refund = invoice._reverse_moves()
        refund.invoice_line_ids.quantity = 1
        refund.action_post()
        reversal = self._lines(entry_type="reversal")
        self.assertEqual(reversal.points, -25)
        self.assertEqual(reversal.move_id, refund)
        self.assertEqual(self.card.points, 75)
        self.assertLedgerMatches()

    def test_first_confirmed_order_enrols_the_customer(self):
        newcomer = self.env["res.partner"].create({"name": "New Customer"})
        self.assertFalse(newcomer.loyalty_card_id)
        self._confirmed_order(partner=newcomer)
        self.assertEqual(newcomer.loyalty_card_id.program_id, self.program)
        self.assertEqual(newcomer.loyalty_balance, 100)
        self.assertLedgerMatches(newcomer.loyalty_card_id)

    def test_card_balance_wizard_writes_an_adjustment(self):
        wizard = self.env["loyalty.card.update.balance"].create(
            {
                "card_id": self.card.id,
                "new_balance": 40,
                "description": "Migrated points",
            }
        )
        wizard.action_update_card_point()
        line = self._lines(entry_type="adjust")
        self.assertEqual(line.points, 40)
        self.assertEqual((line.source, line.description), ("manual", "Migrated points"))
        self.assertLedgerMatches()

    def test_imported_card_with_points_opens_its_ledger(self):
        partner = self.env["res.partner"].create({"name": "Imported"})
        card = self.env["loyalty.card"].create(
            {"program_id": self.program.id, "partner_id": partner.id, "points": 70}
        )
        self.assertEqual(self._lines(card).points, 70)
        self.assertLedgerMatches(card)


@tagged("post_install", "-at_install")
class TestLedgerRedemption(LoyaltyCrmCommon):
    def test_redeem_points(self):
        self._give_points(100)
        line_id = self.member.loyalty_redeem_points(30, "Coffee mug", reference="R-1")
        line = self.Ledger.browse(line_id)
        self.assertEqual(
            (line.entry_type, line.points, line.source), ("redeem", -30, "api")
        )
        self.assertEqual(self.member.loyalty_balance, 70)
        self.assertLedgerMatches()

    def test_same_reference_deducts_once(self):
        self._give_points(100)
        first = self.member.loyalty_redeem_points(30, "Coffee mug", reference="R-1")
        again = self.member.loyalty_redeem_points(30, "Coffee mug", reference="R-1")
        self.assertEqual(first, again)
        self.assertEqual(self.member.loyalty_balance, 70)

    def test_busy_card_says_try_again_on_the_last_retry(self):
        """A redemption meeting concurrent ones on the card raises the
        database's error while the RPC dispatcher still retries the call
        (5 tries), then a clear "try again": never the raw error."""
        self._give_points(100)
        Ledger = type(self.env["loyalty.ledger.line"])
        user = self.member.with_user(self.env.ref("base.user_admin"))
        with patch.object(Ledger, "_post", side_effect=SerializationFailure("busy")):
            for _try in range(4):
                with self.assertRaises(SerializationFailure):
                    user.loyalty_redeem_points(1, "Mug")
            with self.assertRaisesRegex(UserError, "try again"):
                user.loyalty_redeem_points(1, "Mug")
        self.assertEqual(self.member.loyalty_balance, 100)
        self.assertEqual(user.loyalty_redeem_points(1, "Mug") > 0, True)

    def test_bad_input_writes_nothing(self):
        self._give_points(100)
        archived = self.env["res.partner"].create({"name": "Gone"})
        archived.action_loyalty_enroll()
        archived.active = False
        stranger = self.env["res.partner"].create({"name": "Not a member"})
        count = self.Ledger.search_count([])
        cases = [
            (self.member, 0, "zero"),
            (self.member, -5, "negative"),
            (self.member, 101, "more than available"),
            (self.member, 0.001, "below rounding"),
            (self.member, "10", "not a number"),
            (stranger, 10, "no card"),
            (archived, 10, "archived partner"),
        ]
        for partner, points, label in cases:
            with self.subTest(label), self.assertRaises(UserError):
                partner.loyalty_redeem_points(points, "Mug")
        with self.assertRaises(UserError):
            self.member.loyalty_redeem_points(10, "  ")
        self.assertEqual(self.Ledger.search_count([]), count)
        self.assertEqual(self.member.loyalty_balance, 100)

    def test_other_company_card_is_refused(self):
        other = self.env["res.company"].create({"name": "Other Shop"})
        self.program.company_id = other
        self.env.company.loyalty_membership_program_id = self.program
        with self.assertRaises(UserError):
            self.member.with_company(self.env.company).loyalty_redeem_points(1, "Mug")

    def test_pending_points_are_not_spendable(self):
        self.program.loyalty_pending_days = 14
        self._confirmed_order()
        self.assertEqual(self.member.loyalty_pending_balance, 100)
        self.assertEqual(self.member.loyalty_balance, 0)
        with self.assertRaises(UserError):
            self.member.loyalty_redeem_points(10, "Mug")


@tagged("post_install", "-at_install")
class TestLedgerLifecycle(LoyaltyCrmCommon):
    def test_pending_points_are_released_once(self):
        self.program.loyalty_pending_days = 14
        self._confirmed_order()
        earn = self._lines(entry_type="earn")
        self.assertEqual(earn.state, "pending")
        self.assertFalse(
            self.env["loyalty.member.event"].search([("card_id", "=", self.card.id)]),
            "pending points unlock nothing yet",
        )
        self.assertEqual(earn.release_date, fields.Date.today() + timedelta(days=14))
        self.assertEqual(self.card.points, 0)
        self.assertLedgerMatches()
        with freeze_time(fields.Date.today() + timedelta(days=15)):
            self.Ledger._cron_release_pending()
            self.Ledger._cron_release_pending()
        self.assertEqual(earn.state, "posted")
        self.assertEqual(self.card.points, 100)
        self.assertEqual(self.member.loyalty_pending_balance, 0)
        self.assertLedgerMatches()
        unlocked = self.env["loyalty.member.event"].search(
            [("card_id", "=", self.card.id), ("event_type", "=", "reward_unlocked")]
        )
        self.assertEqual(unlocked.reward_id, self.reward, "released points unlock it")

    def test_return_before_release_cancels_pending_points(self):
        self.program.loyalty_pending_days = 14
        order = self._confirmed_order()
        order._action_cancel()
        self.assertEqual(self.member.loyalty_pending_balance, 0)
        self.assertEqual(self.card.points, 0)
        with freeze_time(fields.Date.today() + timedelta(days=15)):
            self.Ledger._cron_release_pending()
        self.assertEqual(
            self.card.points, 0, "a cancelled pending earn never becomes spendable"
        )
        self.assertLedgerMatches()

    def test_partly_spent_lot_expires_what_is_left(self):
        self.program.loyalty_points_validity_days = 30
        self._confirmed_order()
        lot = self._lines(entry_type="earn")
        self.assertEqual(lot.expiry_date, fields.Date.today() + timedelta(days=30))
        self.member.loyalty_redeem_points(40, "Tote bag")
        self.assertEqual(lot.points_residual, 60)
        with freeze_time(fields.Date.today() + timedelta(days=31)):
            self.Ledger._cron_expire_points()
            self.Ledger._cron_expire_points()
        expired = self._lines(entry_type="expire")
        self.assertEqual(expired.points, -60)
        self.assertEqual(self.card.points, 0)
        self.assertEqual(lot.points_residual, 0)
        self.assertLedgerMatches()

    def test_spending_takes_oldest_lots_first(self):
        self.program.loyalty_points_validity_days = 30
        self._confirmed_order()
        old_lot = self._lines(entry_type="earn")
        with freeze_time(fields.Date.today() + timedelta(days=20)):
            self._confirmed_order()
            self.member.loyalty_redeem_points(120, "Headphones")
        new_lot = self._lines(entry_type="earn") - old_lot
        self.assertEqual((old_lot.points_residual, new_lot.points_residual), (0, 80))
        with freeze_time(fields.Date.today() + timedelta(days=31)):
            self.Ledger._cron_expire_points()
            self.assertEqual(
                self.member.loyalty_balance, 80, "nothing left of the old lot"
            )
        self.assertLedgerMatches()

    def test_expiring_soon_shows_on_the_contact(self):
        self.program.loyalty_points_validity_days = 20
        self._confirmed_order()
        self.assertEqual(self.member.loyalty_expiring_points, 100)
        self.assertEqual(
            self.member.loyalty_next_expiry_date,
            fields.Date.today() + timedelta(days=20),
        )


@tagged("post_install", "-at_install")
class TestLedgerSecurity(LoyaltyCrmCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cashier = new_test_user(
            cls.env,
            "cashier",
            groups="base.group_user,loyalty_crm_addon.group_loyalty_user",
        )
        cls.manager = new_test_user(
            cls.env,
            "loyalty_mgr",
            groups="base.group_user,loyalty_crm_addon.group_loyalty_manager",
        )

    def test_nobody_edits_or_deletes_ledger_lines(self):
        self._give_points(100)
        line = self._lines()
        for env in (self.env, self.env(su=True)):
            ledger = line.with_env(env)
            for vals in (
                {"points": 1000},
                {"entry_type": "bonus"},
                {"date": "2020-01-01"},
                {"state": "pending"},
                {"points_residual": 0},
            ):
                with self.subTest(vals=vals), self.assertRaises(UserError):
                    ledger.write(vals)
            with self.assertRaises(UserError):
                ledger.unlink()
            with self.assertRaises(UserError):
                env["loyalty.ledger.line"].create(
                    {
                        "card_id": self.card.id,
                        "program_id": self.program.id,
                        "entry_type": "bonus",
                        "points": 50,
                    }
                )
        self.assertEqual(self.member.loyalty_balance, 100)

    def test_cashier_redeems_but_does_not_adjust(self):
        self._give_points(100)
        member = self.member.with_user(self.cashier)
        member.loyalty_redeem_points(10, "Mug")
        self.assertEqual(member.loyalty_balance, 90)
        self.assertTrue(self.Ledger.with_user(self.cashier).search([]))
        with self.assertRaises(AccessError):
            member.loyalty_adjust_points(10, "Because")

    def test_manager_adjusts_through_the_wizard(self):
        wizard = Form(
            self.env["loyalty.ledger.adjust"]
            .with_user(self.manager)
            .with_context(default_partner_id=self.member.id)
        )
        wizard.points = 25
        wizard.reason = "Late delivery"
        wizard.save().action_confirm()
        line = self._lines(entry_type="adjust")
        self.assertEqual(
            (line.points, line.description, line.user_id),
            (25, "Late delivery", self.manager),
        )
        with self.assertRaises(UserError):
            self.member.with_user(self.manager).loyalty_adjust_points(-26, "Too much")
        self.assertLedgerMatches()

    def test_other_company_lines_are_hidden(self):
        self._give_points(100)
        other = self.env["res.company"].create({"name": "Other Shop"})
        outsider = new_test_user(
            self.env,
            "outsider",
            groups="base.group_user,loyalty_crm_addon.group_loyalty_user",
            company_id=other.id,
            company_ids=[(6, 0, other.ids)],
        )
        self.program.company_id = self.env.company
        self.assertFalse(self.Ledger.with_user(outsider).search([]))

    def test_context_switches_cannot_be_forged_over_rpc(self):
        """An RPC context is JSON: the engine's switches are Python objects,
        so a card write that claims to be the engine is still recorded."""
        self.card.with_context(
            loyalty_ledger_sync=True,
            loyalty_ledger_defer=True,
            loyalty_ledger_origin={"entry_type": "referral"},
        ).write({"points": 1000})
        line = self._lines()
        self.assertEqual((line.entry_type, line.points), ("adjust", 1000))
        self.assertLedgerMatches()

    def test_only_managers_check_consistency(self):
        with self.assertRaises(AccessError):
            self.Ledger.with_user(self.cashier).action_check_consistency()

    def test_consistency_check_finds_tampered_cards(self):
        self._give_points(100)
        action = self.Ledger.action_check_consistency()
        self.assertEqual(action["type"], "ir.actions.client")
        self.env.cr.execute(
            "UPDATE loyalty_card SET points = 999 WHERE id = %s", [self.card.id]
        )
        self.card.invalidate_recordset()
        action = self.Ledger.action_check_consistency()
        self.assertEqual(action["domain"], [("id", "in", self.card.ids)])
