# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.fields import Command
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .common import LoyaltyCrmCommon


class LedgerGuardCommon(LoyaltyCrmCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesperson = new_test_user(
            cls.env, "guard_sales", groups="sales_team.group_sale_salesman"
        )
        cls.pos_user = new_test_user(
            cls.env, "guard_pos", groups="point_of_sale.group_pos_user"
        )
        cls.loyalty_user = new_test_user(
            cls.env,
            "guard_cashier",
            groups="base.group_user,loyalty_crm_addon.group_loyalty_user",
        )
        cls.manager = new_test_user(
            cls.env,
            "guard_manager",
            groups="sales_team.group_sale_salesman,"
            "loyalty_crm_addon.group_loyalty_manager",
        )
        cls.admin = cls.env.ref("base.user_admin")
        cls.other = cls.env["res.partner"].create({"name": "Oscar Other"})
        cls.gold = cls.env["loyalty.tier"].create(
            {"name": "Gold", "program_id": cls.program.id, "threshold": 500}
        )
        cls.gift_program = cls.env["loyalty.program"].create(
            {"name": "Gift Cards", "program_type": "gift_card"}
        )
        cls.ewallet_program = cls.env["loyalty.program"].create(
            {"name": "eWallet", "program_type": "ewallet"}
        )

    def _snapshot(self, card=None):
        """What a refused attempt must leave untouched."""
        card = card or self.card
        card.invalidate_recordset()
        return (
            self.Ledger.search_count([]),
            card.points,
            card.partner_id,
            card.program_id,
            card.loyalty_tier_id,
            card.loyalty_tier_since,
            card.loyalty_tier_review_date,
        )

    def _quotation_spending(self, qty=1, price=20.0):
        """A quotation of the member with the 100-point reward on it."""
        order = self._order(qty=qty, price=price)
        order._update_programs_and_rewards()
        result = order._apply_program_reward(self.reward, self.card)
        self.assertNotIn("error", result)
        return order


@tagged("post_install", "-at_install")
class TestLedgerGuardSales(LedgerGuardCommon):
    def test_bulk_confirmation_cannot_spend_the_same_points_twice(self):
        self._give_points(120)
        first = self._quotation_spending()
        second = self._quotation_spending()
        # The hole: each quotation alone is covered, so native Odoo confirms
        # both from the list view and takes the card below zero.
        for order in first | second:
            self.assertGreaterEqual(order._get_real_points_for_coupon(self.card), 0)
        before = self._snapshot()
        with self.assertRaises(UserError) as error:
            (first | second).action_confirm()
        message = str(error.exception)
        self.assertIn(second.name, message)
        self.assertIn(self.member.name, message)
        self.assertEqual((first | second).mapped("state"), ["draft", "draft"])
        self.assertEqual(self._snapshot(), before)
        # Alone, the first one goes through and spends through the ledger.
        first.action_confirm()
        self.assertEqual(first.state, "sale")
        self.assertEqual(self._lines(entry_type="redeem").points, -100)
        self.assertLedgerMatches()

    def test_bulk_confirmation_covered_by_the_batch_goes_through(self):
        self._give_points(250)
        orders = self._quotation_spending() | self._quotation_spending()
        orders.action_confirm()
        self.assertEqual(orders.mapped("state"), ["sale", "sale"])
        self.assertEqual(len(self._lines(entry_type="redeem")), 2)
        self.assertGreaterEqual(self.card.points, 0)
        self.assertLedgerMatches()

    def test_forged_quotation_figures_are_recomputed_at_confirmation(self):
        self._give_points(150)
        order = self._quotation_spending(qty=5)
        # Figures a quotation may carry (edited over RPC, imported...).
        order.order_line.filtered("is_reward_line").write({"points_cost": 1})
        order.coupon_point_ids.sudo().points = 50000
        order.action_confirm()
        self.assertEqual(self._lines(entry_type="redeem").points, -100)
        self.assertEqual(self._lines(entry_type="earn").points, 100)
        self.assertLedgerMatches()

    def test_pending_points_cannot_pay(self):
        self._give_points(100)
        quotation = self._quotation_spending()
        self.program.loyalty_pending_days = 14
        self._confirmed_order(qty=10)  # 200 pending points
        self.member.loyalty_redeem_points(100, "Voucher")
        self.assertEqual(self.member.loyalty_pending_balance, 200)
        before = self._snapshot()
        with self.assertRaises(UserError):
            quotation.action_confirm()
        self.assertEqual(quotation.state, "draft")
        self.assertEqual(self._snapshot(), before)

    def test_native_code_no_longer_moves_membership_points(self):
        self._give_points(150)
        order = self._quotation_spending(qty=5)
        self.assertFalse(order._get_point_changes())
        order.action_confirm()
        redeem = self._lines(entry_type="redeem")
        earn = self._lines(entry_type="earn")
        self.assertEqual((redeem.points, redeem.sale_order_id), (-100, order))
        self.assertEqual(earn.sale_order_id, order)
        self.assertEqual(self.card.points, 150 - 100 + earn.points)
        self.assertLedgerMatches()
        # Points a confirmed order gains later are an earn line of it.
        order._add_points_for_coupon({self.card: 30})
        late = self._lines(entry_type="earn") - earn
        self.assertEqual((late.points, late.sale_order_id), (30, order))
        self.assertLedgerMatches()
        order._action_cancel()
        self.assertEqual(self.card.points, 150)
        self.assertLedgerMatches()

    def test_cancel_after_the_points_were_spent_never_goes_below_zero(self):
        order = self._confirmed_order()  # earns 100
        self.member.loyalty_redeem_points(80, "Voucher")
        order._action_cancel()
        self.assertEqual(self.card.points, 0)
        reversal = self._lines(entry_type="reversal")
        self.assertEqual(reversal.points, -20)
        self.assertIn("80", self.member.message_ids[0].body)
        self.assertLedgerMatches()

    def test_gift_card_and_ewallet_keep_native_behaviour(self):
        gift, wallet = (
            self.env["loyalty.card"]
            .with_user(self.admin)
            .create(
                [
                    {"program_id": self.gift_program.id, "points": 50},
                    {
                        "program_id": self.ewallet_program.id,
                        "partner_id": self.member.id,
                        "points": 20,
                    },
                ]
            )
        )
        gift.with_user(self.salesperson).points = 30
        gift.with_user(self.salesperson).partner_id = self.other
        wizard = (
            self.env["loyalty.card.update.balance"]
            .with_user(self.salesperson)
            .create({"card_id": wallet.id, "new_balance": 70, "description": "Top up"})
        )
        wizard.action_update_card_point()
        self.assertEqual(
            (gift.points, gift.partner_id, wallet.points), (30, self.other, 70)
        )
        self.assertEqual(wallet.history_ids.issued, 50)
        self.assertFalse(self.Ledger.search([("card_id", "in", (gift | wallet).ids)]))


@tagged("post_install", "-at_install")
class TestLedgerGuardCard(LedgerGuardCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.member.loyalty_adjust_points(100, "Opening")
        cls.card._loyalty_change_tiers(
            [(cls.card, cls.card.loyalty_tier_id, cls.gold)], "Test"
        )

    def test_redemption_leaves_the_points_a_till_holds(self):
        """Points a till reserved for an order being paid are not redeemed
        over the API meanwhile; the rest of the balance is."""
        self.env["loyalty.points.hold"]._create_holds("till-order-1", {self.card: 80})
        cashier = self.member.with_user(self.loyalty_user)
        before = self._snapshot()
        with self.assertRaisesRegex(UserError, "20 available.*80 points are held"):
            cashier.loyalty_redeem_points(30, "Voucher")
        self.assertEqual(self._snapshot(), before)
        line = self.Ledger.browse(cashier.loyalty_redeem_points(20, "Voucher"))
        self.assertEqual((line.entry_type, line.points), ("redeem", -20))
        self.assertEqual(self.card.points, 80)
        self.assertLedgerMatches()

    def _tampering(self):
        gift = self.env["loyalty.card"].create(
            {"program_id": self.gift_program.id, "points": 40}
        )
        return [
            ("points", self.card, {"points": 5000}),
            ("points down", self.card, {"points": 0}),
            ("points as text", self.card, {"points": "5000"}),
            ("partner", self.card, {"partner_id": self.other.id}),
            ("program out", self.card, {"program_id": self.gift_program.id}),
            ("program in", gift, {"program_id": self.program.id}),
            ("tier", self.card, {"loyalty_tier_id": False}),
            ("tier since", self.card, {"loyalty_tier_since": date(2001, 1, 1)}),
            ("tier review", self.card, {"loyalty_tier_review_date": date(2001, 1, 1)}),
            ("points and more", self.card, {"points": 9, "expiration_date": False}),
        ]

    def test_card_tampering_is_refused_to_everyone(self):
        for user in (self.salesperson, self.pos_user, self.manager, self.admin):
            for label, card, vals in self._tampering():
                before = self._snapshot(card)
                with self.subTest(user=user.login, case=label):
                    with self.assertRaises(UserError):
                        card.with_user(user).write(vals)
                    self.assertEqual(self._snapshot(card), before)
        self.assertLedgerMatches()

    def test_card_tampering_through_the_contact_is_refused(self):
        before = self._snapshot()
        for user in (self.salesperson, self.admin):
            with self.subTest(user=user.login), self.assertRaises(UserError):
                self.member.with_user(user).write(
                    {
                        "loyalty_card_ids": [
                            Command.update(self.card.id, {"points": 999})
                        ]
                    }
                )
        self.assertEqual(self._snapshot(), before)

    def test_creating_a_membership_card_with_points_is_refused(self):
        Card = self.env["loyalty.card"]
        cases = [
            # Native ACLs: salespeople and POS users create no cards at all.
            (self.salesperson, {"points": 500}, {}, AccessError),
            (self.pos_user, {"points": 500}, {}, AccessError),
            # Nobody sets a tier by hand, the administrator included.
            (self.admin, {"loyalty_tier_id": self.gold.id}, {}, UserError),
        ]
        count = Card.search_count([])
        lines = self.Ledger.search_count([])
        for user, vals, context, error in cases:
            with self.subTest(user=user.login, vals=vals, context=context):
                with self.assertRaises(error):
                    Card.with_user(user).with_context(**context).create(
                        dict(
                            vals,
                            program_id=self.program.id,
                            partner_id=self.other.id,
                        )
                    )
        self.assertEqual(Card.search_count([]), count)
        self.assertEqual(self.Ledger.search_count([]), lines)
        # The engine opens cards at zero and posts lines.
        card = Card.browse(self.other.action_loyalty_enroll())
        self.assertEqual(card.points, 0)

    def test_manager_creating_a_card_with_points_opens_it_through_the_ledger(self):
        """A loyalty manager (the administrator is one) may adjust points: a
        membership card created with a balance (Odoo's own card form and
        tests do it) opens at zero and gets a manual adjustment line."""
        third = self.env["res.partner"].create({"name": "Opening Balance"})
        card = (
            self.env["loyalty.card"]
            .with_user(self.admin)
            .create(
                {
                    "program_id": self.program.id,
                    "partner_id": third.id,
                    "points": 500,
                }
            )
        )
        self.assertEqual(card.points, 500)
        line = self.Ledger.search([("card_id", "=", card.id)])
        self.assertEqual(len(line), 1)
        self.assertEqual(
            (line.entry_type, line.source, line.points, line.create_uid),
            ("adjust", "manual", 500, self.admin),
        )

    def test_native_balance_wizard_is_for_loyalty_managers_and_ledgered(self):
        Wizard = self.env["loyalty.card.update.balance"]
        for user in (self.salesperson, self.pos_user):
            before = self._snapshot()
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                Wizard.with_user(user).create(
                    {
                        "card_id": self.card.id,
                        "new_balance": 5000,
                        "description": "Gift",
                    }
                ).action_update_card_point()
            self.assertEqual(self._snapshot(), before)
        wizard = Wizard.with_user(self.manager).create(
            {
                "card_id": self.card.id,
                "new_balance": 60,
                "description": "Damaged parcel",
            }
        )
        wizard.action_update_card_point()
        line = self._lines(entry_type="adjust")[-1]
        self.assertEqual(
            (line.points, line.description, line.user_id),
            (-40, "Damaged parcel", self.manager),
        )
        for balance in (-1, 60, float("nan")):
            with self.subTest(balance=balance), self.assertRaises(UserError):
                Wizard.with_user(self.manager).create(
                    {
                        "card_id": self.card.id,
                        "new_balance": balance,
                        "description": "x",
                    }
                ).action_update_card_point()
        self.assertEqual(self.card.points, 60)
        self.assertLedgerMatches()

    def test_engine_writes_and_superuser_code_are_ledgered(self):
        """Server code running as superuser (imports, partner merge, Odoo's
        own code) gets a ledger line for a change of points, never a silent
        one; a context claiming to be the engine is plain JSON over RPC."""
        self.card.with_context(
            loyalty_ledger_origin="engine",
            loyalty_ledger_sync=True,
            loyalty_ledger_defer=True,
        ).sudo().points = 130
        line = self._lines(entry_type="adjust")[-1]
        self.assertEqual((line.points, line.source), (30, "import"))
        with self.assertRaises(UserError):
            self.card.with_user(self.admin).with_context(
                loyalty_ledger_origin={"entry_type": "bonus"}
            ).points = 1000
        with self.assertRaises(UserError):
            self.card.sudo().points = -1
        self.assertLedgerMatches()

    def test_merging_members_moves_points_through_the_ledger(self):
        twin = self.env["res.partner"].create({"name": "Martha Member (dup)"})
        twin.action_loyalty_enroll()
        twin.loyalty_adjust_points(30, "Opening")
        twin_card = twin.loyalty_card_id
        self.env["base.partner.merge.automatic.wizard"]._merge(
            (twin | self.member).ids, self.member
        )
        self.assertEqual(self.card.points, 130)
        merged = self._lines(description=f"Contacts merged into {self.member.name}")
        self.assertEqual(merged.points, 30)
        self.assertEqual(twin_card.points, 0)
        self.assertLedgerMatches()
        self.assertLedgerMatches(twin_card)

    def test_engine_figures_on_the_contact_are_read_only(self):
        Partner = self.env["res.partner"]
        for user in (self.salesperson, self.admin):
            with self.subTest(user=user.login):
                with self.assertRaises(UserError):
                    self.member.with_user(user).loyalty_last_activity_date = date(
                        2001, 1, 1
                    )
                with self.assertRaises(UserError):
                    self.member.with_user(user).write({"loyalty_balance": 10**6})
                with self.assertRaises(UserError):
                    Partner.with_user(user).create(
                        {
                            "name": "Backdated",
                            "loyalty_last_activity_date": "2001-01-01",
                        }
                    )
                with self.assertRaises(UserError):
                    Partner.with_user(user).with_context(
                        default_loyalty_last_activity_date="2001-01-01"
                    ).create({"name": "Backdated"})
        self.assertNotEqual(self.member.loyalty_last_activity_date, date(2001, 1, 1))
        # Contacts are still edited as usual.
        self.member.with_user(self.salesperson).write({"phone": "+32 2 555 00 00"})

    def test_consistency_check_reports_negative_cards(self):
        self.assertFalse(self.Ledger._get_inconsistent_cards())
        # Tampered in the database: the card matches its ledger but is below 0.
        self.env.cr.execute(
            "UPDATE loyalty_ledger_line SET points = -5 WHERE card_id = %s",
            [self.card.id],
        )
        self.env.cr.execute(
            "UPDATE loyalty_card SET points = -5 WHERE id = %s", [self.card.id]
        )
        self.env.invalidate_all()
        self.assertEqual(self.Ledger._get_inconsistent_cards(), self.card)
        action = self.Ledger.action_check_consistency()
        self.assertEqual(action["domain"], [("id", "in", self.card.ids)])


@tagged("post_install", "-at_install")
class TestLedgerGuardInput(LedgerGuardCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.member.loyalty_adjust_points(100, "Opening")
        cls.archived = cls.env["res.partner"].create({"name": "Gone"})
        cls.archived.action_loyalty_enroll()
        cls.archived.active = False

    def _corpus(self):
        """(label, partners, method, args, kwargs, user, error)"""
        member, two = self.member, self.member | self.other
        nobody = new_test_user(self.env, "guard_nobody", groups="base.group_user")
        redeem, adjust = "loyalty_redeem_points", "loyalty_adjust_points"
        enroll = "action_loyalty_enroll"
        corpus = []
        for label, points in [
            ("nan", float("nan")),
            ("inf", float("inf")),
            ("-inf", float("-inf")),
            ("1e308", 1e308),
            ("huge int", 10**400),
            ("10**12", 10**12),
            ("string number", "10"),
            ("string", "ten"),
            ("list", [10]),
            ("dict", {"points": 10}),
            ("None", None),
            ("bool", True),
            ("thousandth", 0.001),
            ("1e-7", 1e-7),
            ("three decimals", 10.005),
            ("zero", 0),
            ("negative", -5),
            ("more than available", 101),
        ]:
            corpus.append((f"redeem {label}", member, redeem, (points, "Mug"), {}))
        for label, text in [
            ("list", ["Mug"]),
            ("dict", {"en": "Mug"}),
            ("number", 123),
            ("None", None),
            ("empty", ""),
            ("blank", "   "),
            ("10,000 characters", "x" * 10000),
        ]:
            corpus.append(
                (f"redeem description {label}", member, redeem, (10, text), {})
            )
        for label, reference in [
            ("list", ["R-1"]),
            ("dict", {"ref": 1}),
            ("number", 42),
            ("129 characters", "r" * 129),
            ("100,000 characters", "r" * 100000),
        ]:
            corpus.append(
                (
                    f"redeem reference {label}",
                    member,
                    redeem,
                    (10, "Mug"),
                    {"reference": reference},
                )
            )
        for label, points in [
            ("nan", float("nan")),
            ("inf", float("inf")),
            ("1e308", 1e308),
            ("string", "5"),
            ("list", [5]),
            ("thousandth", 0.001),
            ("zero", 0),
            ("below zero", -1000),
        ]:
            corpus.append((f"adjust {label}", member, adjust, (points, "Fix"), {}))
        for label, reason in [
            ("list", ["Fix"]),
            ("dict", {"why": "Fix"}),
            ("None", None),
            ("number", 5),
            ("blank", " "),
            ("10,000 characters", "y" * 10000),
        ]:
            corpus.append((f"adjust reason {label}", member, adjust, (5, reason), {}))
        corpus = [(*case, None, UserError) for case in corpus]
        corpus += [
            ("redeem several partners", two, redeem, (10, "Mug"), {}, None, UserError),
            ("adjust several partners", two, adjust, (5, "Fix"), {}, None, UserError),
            ("enroll several partners", two, enroll, (), {}, None, UserError),
            ("enroll no partner", member.browse(), enroll, (), {}, None, UserError),
            ("redeem archived", self.archived, redeem, (1, "Mug"), {}, None, UserError),
            ("enroll archived", self.archived, enroll, (), {}, None, UserError),
            ("redeem no rights", member, redeem, (1, "Mug"), {}, nobody, AccessError),
            ("adjust no rights", member, adjust, (1, "Fix"), {}, nobody, AccessError),
            (
                "adjust as cashier",
                member,
                adjust,
                (1, "Fix"),
                {},
                self.loyalty_user,
                AccessError,
            ),
            ("enroll no rights", self.other, enroll, (), {}, nobody, AccessError),
        ]
        return corpus

    @mute_logger("odoo.models")
    def test_hostile_input_is_refused_and_writes_nothing(self):
        corpus = self._corpus()
        self.assertGreaterEqual(len(corpus), 30)
        Card = self.env["loyalty.card"]
        for label, partners, method, args, kwargs, user, error in corpus:
            lines, cards = self.Ledger.search_count([]), Card.search_count([])
            with self.subTest(label):
                target = partners.with_user(user) if user else partners
                with self.assertRaises(error) as caught:
                    getattr(target, method)(*args, **kwargs)
                # A clear message, not a Python error turned into text.
                self.assertNotIsInstance(caught.exception, ValidationError)
                self.assertTrue(str(caught.exception).strip())
                self.assertEqual(self.Ledger.search_count([]), lines)
                self.assertEqual(Card.search_count([]), cards)
        self.assertEqual(self.member.loyalty_balance, 100)
        self.assertLedgerMatches()

    def test_valid_input_at_the_limits_is_accepted(self):
        line = self.Ledger.browse(
            self.member.loyalty_redeem_points(0.01, "  Sticker  ", reference="r" * 128)
        )
        self.assertEqual((line.points, line.description), (-0.01, "Sticker"))
        self.assertLedgerMatches()
