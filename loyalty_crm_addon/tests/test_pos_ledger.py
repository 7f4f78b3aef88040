# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import uuid

import odoo.tests
from odoo import fields
from odoo.exceptions import UserError

from .common import LoyaltyPosCase, kpi_order_facts


@odoo.tests.tagged("post_install", "-at_install")
class TestLoyaltyPosLedger(LoyaltyPosCase):
    """The server decides what a till order moves on a membership card:
    orders come in through sync_from_ui and confirm_coupon_programs, and
    payments are validated through validate_coupon_programs, as pos_loyalty's
    browser code calls them, as a POS user."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Hold = cls.env["loyalty.points.hold"]
        cls.followup = cls.env.ref(
            "loyalty_crm_addon.mail_activity_type_loyalty_followup"
        )

    def setUp(self):
        super().setUp()
        self.PosOrder = self.env["pos.order"].with_user(self.pos_user)

    # ------------------------------------------------------------------
    # The till's calls
    # ------------------------------------------------------------------
    def _sync(self, data):
        result = self.PosOrder.sync_from_ui([data])
        order = self.env["pos.order"].browse(result["pos.order"][0]["id"])
        self.assertEqual(order.state, "paid")
        return order

    def _confirm(self, order, partner, points, line_codes=None):
        """What PaymentScreen._postProcessLoyalty sends for the member."""
        card = self._card(partner)
        return order.with_user(self.pos_user).confirm_coupon_programs(
            {
                str(card.id): {
                    "points": points,
                    "program_id": self.program.id,
                    "coupon_id": card.id,
                    "barcode": False,
                    "partner_id": partner.id,
                    "line_codes": line_codes
                    or [c for c in order.lines.mapped("reward_identifier_code") if c],
                }
            }
        )

    def _validate(self, partner, change, spend, order_uuid, config=None):
        card = self._card(partner)
        return self.PosOrder.validate_coupon_programs(
            {str(card.id): change},
            [],
            loyalty_hold={
                "uuid": order_uuid,
                "config_id": (config or self.main_pos_config).id,
                "spends": {str(card.id): spend},
            },
        )

    def _activities(self, partner):
        return self.env["mail.activity"].search(
            [
                ("res_model", "=", "res.partner"),
                ("res_id", "=", partner.id),
                ("activity_type_id", "=", self.followup.id),
                # Not the automation's (first redemption...): the shortfall's.
                ("summary", "ilike", "not covered"),
            ]
        )

    # ------------------------------------------------------------------
    # Forged and repeated reports
    # ------------------------------------------------------------------
    def test_forged_points_are_ignored(self):
        """A till reporting 50,000 points for a 50.00 purchase: the member
        earns the 50 points the program gives, nothing more."""
        order = self._sync(self._order_data(self.earn_member))
        result = self._confirm(order, self.earn_member, 50000.0)
        self.assertRecordValues(
            order.loyalty_ledger_line_ids,
            [{"entry_type": "earn", "points": 50.0, "state": "posted"}],
        )
        self.assertLedgerMatches(self.earn_member, 250)
        self.assertEqual(result["coupon_updates"][0]["points"], 250.0)
        self.assertEqual(
            len(
                self.env["loyalty.card"].search(
                    [("partner_id", "=", self.earn_member.id)]
                )
            ),
            1,
        )

    def test_forged_drain_is_ignored(self):
        """A till reporting -10,000 points on a card (no reward on the order)
        drains nothing: the order earns its 50 points."""
        order = self._sync(self._order_data(self.earn_member))
        self._confirm(order, self.earn_member, -10000.0)
        self.assertEqual(order.loyalty_ledger_line_ids.mapped("points"), [50.0])
        self.assertLedgerMatches(self.earn_member, 250)

    def test_confirm_without_purchase_moves_nothing(self):
        """Calling confirm_coupon_programs on an unpaid order gives nothing."""
        data = self._order_data(self.earn_member)
        data["state"] = "draft"
        data["payment_ids"] = []
        data["amount_paid"] = 0
        result = self.PosOrder.sync_from_ui([data])
        order = self.env["pos.order"].browse(result["pos.order"][0]["id"])
        self.assertEqual(order.state, "draft")
        self._confirm(order, self.earn_member, 50000.0)
        self.assertFalse(order.loyalty_ledger_line_ids)
        self.assertLedgerMatches(self.earn_member, 200)

    def test_forged_reward_cost_is_the_real_cost(self):
        """The reward line claims to cost 1 point: it costs 100."""
        order = self._sync(self._order_data(self.redeem_member, spend=1.0))
        self._confirm(order, self.redeem_member, 49.0)
        self.assertEqual(
            sorted(order.loyalty_ledger_line_ids.mapped("points")), [-100.0, 50.0]
        )
        self.assertLedgerMatches(self.redeem_member, 100)

    def test_same_order_reported_twice_moves_once(self):
        data = self._order_data(self.redeem_member, spend=100.0)
        order = self._sync(data)
        self._confirm(order, self.redeem_member, -50.0)
        self.assertLedgerMatches(self.redeem_member, 100)
        # The till sends the order and its points again (retry, reload).
        self.assertEqual(self._sync(data), order)
        self._confirm(order, self.redeem_member, -50.0)
        self._confirm(order, self.redeem_member, 500.0)
        order.with_user(self.pos_user).add_loyalty_history_lines(
            [
                {
                    "order_id": order.id,
                    "card_id": str(self._card(self.redeem_member).id),
                    "won": 5000.0,
                    "spent": 0,
                },
                # A coupon the till never had created (native skips it).
                {"order_id": order.id, "card_id": "-3", "won": 5.0, "spent": 0},
            ],
            [],
        )
        self.assertEqual(len(order.loyalty_ledger_line_ids), 2)
        self.assertLedgerMatches(self.redeem_member, 100)
        # Odoo's history line of the membership card: the ledger's figures,
        # once, whatever the till sends.
        history = self.env["loyalty.history"].search(
            [("order_model", "=", "pos.order"), ("order_id", "=", order.id)]
        )
        self.assertRecordValues(history, [{"issued": 50.0, "used": 100.0}])

    # ------------------------------------------------------------------
    # Two tills, offline tills, pending points
    # ------------------------------------------------------------------
    def test_two_tills_race_for_the_same_points(self):
        """Two tills validate payments spending the same 100 of the member's
        150 points: the first reserves them, the second is told before the
        customer pays; the first order then goes through."""
        till2 = self.env["pos.config"].create({"name": "LCA Till 2"})
        card = self._card(self.redeem_member)
        first, second = str(uuid.uuid4()), str(uuid.uuid4())

        # The orders earn nothing the till counts: all 100 points come from
        # the card (what a till with pending points sends).
        res = self._validate(self.redeem_member, -100.0, 100.0, first)
        self.assertTrue(res["successful"])
        self.assertRecordValues(
            self.Hold.search([("card_id", "=", card.id)]),
            [
                {
                    "points": 100.0,
                    "order_uuid": first,
                    "config_id": self.main_pos_config.id,
                }
            ],
        )
        res = self._validate(self.redeem_member, -100.0, 100.0, second, till2)
        self.assertFalse(res["successful"])
        self.assertIn("50 points available", res["payload"]["message"])
        self.assertIn("another till", res["payload"]["message"])
        self.assertEqual(res["payload"]["updated_points"], {card.id: 50.0})
        # The same till validating again (customer changed payment) is fine.
        self.assertTrue(
            self._validate(self.redeem_member, -100.0, 100.0, first)["successful"]
        )
        self.assertEqual(len(self.Hold.search([("card_id", "=", card.id)])), 1)

        order = self._sync(self._order_data(self.redeem_member, 1, 100.0, first))
        self._confirm(order, self.redeem_member, -50.0)
        self.assertEqual(
            sorted(order.loyalty_ledger_line_ids.mapped("points")), [-100.0, 50.0]
        )
        self.assertLedgerMatches(self.redeem_member, 100)
        self.assertFalse(self.Hold.search([("card_id", "=", card.id)]), "released")
        self.assertFalse(self._activities(self.redeem_member))

    def test_hold_expires(self):
        card = self._card(self.redeem_member)
        self.assertTrue(
            self._validate(self.redeem_member, -100.0, 100.0, "a")["successful"]
        )
        self.Hold.search([("card_id", "=", card.id)]).sudo().write(
            {"expiry": fields.Datetime.now()}
        )
        self.assertTrue(
            self._validate(self.redeem_member, -100.0, 100.0, "b")["successful"]
        )
        self.Hold._gc_expired_holds()
        self.assertEqual(
            self.Hold.search([("card_id", "=", card.id)]).mapped("order_uuid"), ["b"]
        )

    def test_offline_order_not_covered(self):
        """Two offline orders of a member with 150 points each spend 100
        (points earned are pending): both are kept, the second's uncovered 50
        points are not posted, the responsible gets an activity, the card
        stays at zero."""
        self.program.sudo().write(
            {"loyalty_pending_days": 14, "loyalty_responsible_id": self.pos_admin.id}
        )
        first = self._sync(self._order_data(self.redeem_member, spend=100.0))
        self._confirm(first, self.redeem_member, -50.0)
        self.assertLedgerMatches(self.redeem_member, 50)
        second = self._sync(self._order_data(self.redeem_member, spend=100.0))
        self._confirm(second, self.redeem_member, -50.0)
        self.assertEqual(second.state, "paid")
        self.assertRecordValues(
            second.loyalty_ledger_line_ids.sorted("points"),
            [
                {"entry_type": "redeem", "points": -50.0, "state": "posted"},
                {"entry_type": "earn", "points": 50.0, "state": "pending"},
            ],
        )
        self.assertLedgerMatches(self.redeem_member, 0)
        activity = self._activities(self.redeem_member)
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, self.pos_admin)
        self.assertIn(second.name, activity.note)
        self.assertIn("50 points not covered", activity.summary)
        self.assertIn(self.redeem_member.name, activity.note)
        # Reported again: nothing more, no second activity.
        self._confirm(second, self.redeem_member, -50.0)
        self.assertEqual(len(self._activities(self.redeem_member)), 1)
        self.assertFalse(self.Ledger._get_inconsistent_cards())

    def test_offline_order_spending_held_points(self):
        """An offline order spends points another till holds: the hold
        wins."""
        self.program.sudo().loyalty_pending_days = 14
        self.assertTrue(
            self._validate(self.redeem_member, -100.0, 100.0, "held")["successful"]
        )
        order = self._sync(self._order_data(self.redeem_member, spend=100.0))
        self._confirm(order, self.redeem_member, -50.0)
        redeem = order.loyalty_ledger_line_ids.filtered(
            lambda ln: ln.entry_type == "redeem"
        )
        self.assertEqual(redeem.points, -50.0)
        self.assertLedgerMatches(self.redeem_member, 100)
        self.assertEqual(len(self._activities(self.redeem_member)), 1)

    def test_pending_points_cannot_pay_the_order_reward(self):
        """A member with no points buys for 150 and wants the 100-point
        reward with the points the order earns, which are pending: refused
        at validation; an offline order doing it anyway posts no spend."""
        self.program.sudo().loyalty_pending_days = 14
        partner = self.refund_member
        res = self._validate(partner, 150.0 - 100.0, 100.0, "pending")
        self.assertFalse(res["successful"])
        self.assertIn("pending", res["payload"]["message"])
        self.assertFalse(self.Hold.search([("card_id", "=", self._card(partner).id)]))

        order = self._sync(self._order_data(partner, qty=3, spend=100.0))
        self._confirm(order, partner, 50.0)
        self.assertRecordValues(
            order.loyalty_ledger_line_ids,
            [{"entry_type": "earn", "points": 150.0, "state": "pending"}],
        )
        self.assertLedgerMatches(partner, 0)
        self.assertEqual(len(self._activities(partner)), 1)

    def test_points_won_by_the_order_pay_without_pending(self):
        """Without a pending period the order's own points may pay."""
        partner = self.refund_member
        self.assertTrue(self._validate(partner, 50.0, 100.0, "own")["successful"])
        order = self._sync(self._order_data(partner, 3, 100.0, "own"))
        self._confirm(order, partner, 50.0)
        self.assertLedgerMatches(partner, 50)
        self.assertFalse(self._activities(partner))

    def test_new_member_card_created_at_zero(self):
        """A customer without a card becomes a member at the till when the
        order is paid: the card opens at 0 and the ledger gives the points
        earned, once; the card the till then makes for them is that one."""
        partner = self.env["res.partner"].create({"name": "AAA LCA New Member"})
        data = self._order_data(self.earn_member)
        data["partner_id"] = partner.id
        order = self._sync(data)
        card = self._card(partner)
        self.assertTrue(card, "enrolled when the order is paid")
        self.assertEqual(order.loyalty_ledger_line_ids.mapped("points"), [50.0])
        result = order.with_user(self.pos_user).confirm_coupon_programs(
            {
                "-5": {
                    "points": 777.0,
                    "program_id": self.program.id,
                    "coupon_id": -5,
                    "barcode": False,
                    "partner_id": partner.id,
                }
            }
        )
        self.assertEqual(result["coupon_updates"][0]["id"], card.id)
        self.assertEqual(result["coupon_updates"][0]["old_id"], -5)
        self.assertEqual(result["coupon_updates"][0]["points"], 50.0)
        self.assertEqual(order.loyalty_ledger_line_ids.mapped("points"), [50.0])
        self.assertEqual(self._card(partner), card, "no second card")
        self.assertLedgerMatches(partner, 50)

    def test_new_member_spends_what_the_first_order_earns(self):
        """A new member's first order earns and takes a reward with the
        points it earns: the till has no card id for the reward line yet
        (it makes the card after the payment); the server enrols the member
        when the order is paid and the reward spends on that card."""
        partner = self.env["res.partner"].create({"name": "AAA LCA First Reward"})
        data = self._order_data(self.earn_member, 3, 100.0)
        data["partner_id"] = partner.id
        reward_vals = data["lines"][1][2]
        reward_vals.pop("coupon_id")
        order = self._sync(data)
        card = self._card(partner)
        self.assertEqual(order.lines.filtered("is_reward_line").coupon_id, card)
        self.assertEqual(
            sorted(order.loyalty_ledger_line_ids.mapped("points")), [-100.0, 150.0]
        )
        order.with_user(self.pos_user).confirm_coupon_programs(
            {
                "-7": {
                    "points": 50.0,
                    "program_id": self.program.id,
                    "coupon_id": -7,
                    "barcode": False,
                    "partner_id": partner.id,
                    "line_codes": [reward_vals["reward_identifier_code"]],
                }
            }
        )
        self.assertEqual(len(order.loyalty_ledger_line_ids), 2, "posted once")
        self.assertLedgerMatches(partner, 50)

    def test_kpi_order_facts_follow_the_till(self):
        """The KPI order facts follow what the till does, with no trigger on
        the order tables: a member's paid order, a walk-in's, a customer
        the till makes a member, a refund (not counted), a customer deleted
        (their order stays, anonymous): the stored rows equal a
        recomputation from the orders."""
        order = self._sync(self._order_data(self.earn_member, qty=2))
        self._confirm(order, self.earn_member, 100.0)
        data = self._order_data(self.earn_member)
        data["partner_id"] = False
        walk_in = self._sync(data)
        newcomer = self.env["res.partner"].create({"name": "AAA LCA Newcomer"})
        data = self._order_data(self.earn_member)
        data["partner_id"] = newcomer.id
        newcomer_order = self._sync(data)
        self.assertTrue(self._card(newcomer), "made a member when paid")
        # A customer who does not join (no automatic enrolment) and is
        # deleted later: their order stays, anonymous.
        self.program.loyalty_auto_enroll = False
        leaver = self.env["res.partner"].create({"name": "AAA LCA Leaver"})
        data = self._order_data(self.earn_member)
        data["partner_id"] = leaver.id
        leaver_order = self._sync(data)
        refund = self.env["pos.order"].browse(order.refund()["res_id"])
        self._pay(refund)
        stored, recomputed = kpi_order_facts(self.env)
        self.assertEqual(stored, recomputed)
        keys = {row[0]: row for row in stored}
        for counted in (order, walk_in, newcomer_order, leaver_order):
            self.assertIn(counted.id * 2 + 1, keys)
        self.assertNotIn(refund.id * 2 + 1, keys, "a refund is not counted")
        self.assertIsNone(keys[walk_in.id * 2 + 1][2], "anonymous")

        leaver.unlink()
        self.assertFalse(leaver_order.partner_id)
        stored, recomputed = kpi_order_facts(self.env)
        self.assertEqual(stored, recomputed)
        self.assertIsNone({row[0]: row for row in stored}[leaver_order.id * 2 + 1][2])

    # ------------------------------------------------------------------
    # Bad input
    # ------------------------------------------------------------------
    def test_bad_input(self):
        order = self._sync(self._order_data(self.earn_member))
        card = self._card(self.earn_member)
        other_company = self.env["res.company"].create({"name": "LCA Other Co"})
        other_program = self.env["loyalty.program"].create(
            {
                "name": "LCA Other Membership",
                "program_type": "loyalty",
                "company_id": other_company.id,
            }
        )
        foreign = self.env["loyalty.card"].create(
            {"program_id": other_program.id, "partner_id": self.earn_member.id}
        )
        gift = self.env["loyalty.program"].create(
            {"name": "LCA Gift", "program_type": "gift_card"}
        )
        gift_card = self.env["loyalty.card"].create({"program_id": gift.id})

        def entry(**values):
            vals = {
                "points": 50.0,
                "program_id": self.program.id,
                "coupon_id": card.id,
                "partner_id": self.earn_member.id,
            }
            vals.update(values)
            return {str(card.id): vals}

        confirm_cases = [
            [],
            "50000",
            {"abc": entry()[str(card.id)]},
            {str(card.id): "points"},
            entry(points=float("nan")),
            entry(points=float("inf")),
            entry(points=-float("inf")),
            entry(points=1e308),
            entry(points="50"),
            entry(points=[50]),
            entry(points=True),
            entry(program_id="x"),
            entry(program_id=999999999),
            entry(partner_id="me"),
            entry(line_codes="code"),
            entry(line_codes=[{"a": 1}]),
            entry(code="x" * 1000),
            {"999999999": entry()[str(card.id)]},
            {str(foreign.id): entry(program_id=other_program.id)[str(card.id)]},
        ]
        hold = {
            "uuid": "u",
            "config_id": self.main_pos_config.id,
            "spends": {str(card.id): 10.0},
        }
        validate_cases = [
            (None, [], None),
            ({str(card.id): float("nan")}, [], None),
            ({str(card.id): "10"}, [], None),
            ({str(card.id): 1e300}, [], None),
            ({"x": 1.0}, [], None),
            ({str(foreign.id): -1.0}, [], None),
            ({str(card.id): -1.0}, "code", None),
            ({str(card.id): -1.0}, [123], None),
            ({str(card.id): -1.0}, [], "hold"),
            ({str(card.id): -1.0}, [], dict(hold, uuid=123)),
            ({str(card.id): -1.0}, [], dict(hold, uuid="u" * 500)),
            ({str(card.id): -1.0}, [], dict(hold, config_id=999999)),
            ({str(card.id): -1.0}, [], dict(hold, config_id="999998")),
            ({str(card.id): -1.0}, [], dict(hold, spends={str(card.id): -5.0})),
            ({str(card.id): -1.0}, [], dict(hold, spends={str(card.id): float("inf")})),
            ({str(card.id): -1.0}, [], dict(hold, spends={str(foreign.id): 5.0})),
            ({str(card.id): -1.0}, [], dict(hold, spends={str(gift_card.id): 5.0})),
            ({str(card.id): -1.0}, [], dict(hold, spends={"999999999": 5.0})),
        ]
        before = (self.Ledger.search_count([]), self.Hold.search_count([]), card.points)
        for case in confirm_cases:
            with self.subTest(confirm=repr(case)[:80]):
                with self.assertRaises(UserError):
                    order.with_user(self.pos_user).confirm_coupon_programs(case)
        for changes, codes, hold_data in validate_cases:
            with self.subTest(validate=repr((changes, codes, hold_data))[:80]):
                with self.assertRaises(UserError):
                    self.PosOrder.validate_coupon_programs(
                        changes, codes, loyalty_hold=hold_data
                    )
        two = order | self._sync(self._order_data(self.redeem_member))
        with self.assertRaises(UserError):
            two.with_user(self.pos_user).confirm_coupon_programs(entry())
        self.env.invalidate_all()
        self.assertEqual(
            (self.Ledger.search_count([]) - 1, self.Hold.search_count([]), card.points),
            before,
            "nothing written (but the second order's own earn)",
        )
