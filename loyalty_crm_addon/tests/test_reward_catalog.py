# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.fields import Command
from odoo.tests import Form, tagged

from .common import LoyaltyCrmCommon


@tagged("post_install", "-at_install")
class TestRewardCatalog(LoyaltyCrmCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Claim = cls.env["loyalty.reward.claim"]
        cls.gold = cls.env["loyalty.tier"].create(
            {"name": "Gold", "program_id": cls.program.id, "threshold": 5000}
        )
        cls.spa = cls.env["loyalty.reward"].create(
            {
                "program_id": cls.program.id,
                "reward_type": "experience",
                "description": "Spa afternoon",
                "required_points": 150,
            }
        )
        cls.other = cls.env["res.partner"].create({"name": "Otto Other"})
        cls.other_card = cls.env["loyalty.card"].browse(
            cls.other.action_loyalty_enroll()
        )
        cls._give_points(cls, 300)
        cls._give_points(cls, 300, cls.other)

    def _claims(self, partner=None):
        return self.Claim.search([("partner_id", "=", (partner or self.member).id)])

    # ------------------------------------------------------------------
    # API
    # ------------------------------------------------------------------
    def test_api_claim_spends_through_the_ledger_and_gives_a_coupon(self):
        claim_id = self.member.loyalty_claim_reward(self.reward.id, reference="ERP-1")
        claim = self.Claim.browse(claim_id)
        self.assertRecordValues(
            claim,
            [
                {
                    "reward_id": self.reward.id,
                    "card_id": self.card.id,
                    "points": 100,
                    "state": "fulfilled",
                    "channel": "api",
                    "reference": "ERP-1",
                }
            ],
        )
        self.assertRecordValues(
            claim.ledger_line_id,
            [{"entry_type": "redeem", "points": -100, "source": "catalog"}],
        )
        self.assertTrue(claim.coupon_code)
        coupon = claim.coupon_id
        self.assertEqual(coupon.program_id.program_type, "coupons")
        self.assertEqual(coupon.partner_id, self.member)
        self.assertEqual(coupon.points, 1)
        self.assertEqual(self.member.loyalty_balance, 200)
        # The same reference twice claims once.
        self.assertEqual(
            self.member.loyalty_claim_reward(self.reward.id, reference="ERP-1"),
            claim_id,
        )
        self.assertEqual(len(self._claims()), 1)
        self.assertEqual(self.member.loyalty_balance, 200)
        self.assertLedgerMatches()

    def test_api_coupon_gives_the_reward_on_a_later_order(self):
        claim = self.Claim.browse(self.member.loyalty_claim_reward(self.reward.id))
        order = self._order(qty=1, price=50)
        self.assertNotIn("error", order._try_apply_code(claim.coupon_code))
        order._apply_program_reward(
            claim.coupon_id.program_id.reward_ids, claim.coupon_id
        )
        discount = order.order_line.filtered("reward_id")
        self.assertAlmostEqual(discount.price_subtotal, -5.0)

    def test_api_refuses_bad_input_and_writes_nothing(self):
        before = self.Ledger.search_count([])
        for bad in ("1", None, True, 1.5, [self.reward.id]):
            with self.assertRaises(UserError):
                self.member.loyalty_claim_reward(bad)
        with self.assertRaises(UserError):
            self.member.loyalty_claim_reward(self.reward.id, reference="x" * 129)
        with self.assertRaises(UserError):
            self.member.loyalty_claim_reward(self.reward.id, reference=42)
        with self.assertRaises(UserError):
            (self.member | self.other).loyalty_claim_reward(self.reward.id)
        with self.assertRaises(UserError):
            self.member.loyalty_claim_reward(999999999)
        self.assertEqual(self.Ledger.search_count([]), before)
        self.assertFalse(self._claims())

    def test_not_enough_points_is_refused(self):
        self.reward.required_points = 301
        with self.assertRaisesRegex(UserError, "Not enough points"):
            self.member.loyalty_claim_reward(self.reward.id)
        self.assertEqual(self.member.loyalty_balance, 300)
        self.assertFalse(self._claims())

    def test_only_loyalty_staff_claim_and_cancel(self):
        claim = self.Claim.browse(self.member.loyalty_claim_reward(self.reward.id))
        user = self.env["res.users"].create(
            {
                "name": "Plain Employee",
                "login": "plain_catalog",
                "groups_id": [Command.set([self.env.ref("base.group_user").id])],
            }
        )
        with self.assertRaises(AccessError):
            claim.with_user(user).action_cancel()
        with self.assertRaises(AccessError):
            self.member.with_user(user).loyalty_claim_reward(self.reward.id)
        self.assertEqual(claim.state, "fulfilled")
        self.assertEqual(self.member.loyalty_balance, 200)

    def test_claims_cannot_be_forged_or_edited(self):
        with self.assertRaises(UserError):
            self.Claim.create(
                {
                    "partner_id": self.member.id,
                    "card_id": self.card.id,
                    "reward_id": self.reward.id,
                    "channel": "api",
                }
            )
        claim = self.Claim.browse(self.member.loyalty_claim_reward(self.reward.id))
        with self.assertRaises(UserError):
            claim.write({"points": 1})
        with self.assertRaises(UserError):
            claim.state = "cancelled"
        with self.assertRaises(UserError):
            claim.unlink()

    # ------------------------------------------------------------------
    # Limits
    # ------------------------------------------------------------------
    def test_stock_is_refused_once_gone(self):
        self.reward.loyalty_stock = 1
        self.member.loyalty_claim_reward(self.reward.id)
        self.assertEqual(self.reward.loyalty_stock_left, 0)
        with self.assertRaisesRegex(UserError, "out of stock"):
            self.other.loyalty_claim_reward(self.reward.id)
        self.assertEqual(self.other.loyalty_balance, 300)

    def test_limit_per_member_and_period(self):
        self.reward.write(
            {"loyalty_limit_per_member": 1, "loyalty_limit_period_days": 30}
        )
        first = self.Claim.browse(self.member.loyalty_claim_reward(self.reward.id))
        with self.assertRaisesRegex(UserError, "1 time\\(s\\) per member every 30"):
            self.member.loyalty_claim_reward(self.reward.id)
        # Another member is not limited by it.
        self.other.loyalty_claim_reward(self.reward.id)
        # Outside the period, the member may claim again.
        first._engine().date = fields.Datetime.now() - timedelta(days=31)
        self.member.loyalty_claim_reward(self.reward.id)
        self.assertEqual(self.member.loyalty_balance, 100)

    def test_validity_window(self):
        today = fields.Date.context_today(self.reward)
        self.reward.loyalty_date_to = today - timedelta(days=1)
        with self.assertRaisesRegex(UserError, "could be claimed until"):
            self.member.loyalty_claim_reward(self.reward.id)
        self.reward.write(
            {"loyalty_date_to": False, "loyalty_date_from": today + timedelta(days=1)}
        )
        with self.assertRaisesRegex(UserError, "can be claimed from"):
            self.member.loyalty_claim_reward(self.reward.id)
        self.reward.loyalty_date_from = today
        self.member.loyalty_claim_reward(self.reward.id)

    def test_lower_tier_cannot_claim_a_tier_reward_anywhere(self):
        self.reward.tier_ids = self.gold
        # API
        with self.assertRaisesRegex(UserError, "kept for members of Gold"):
            self.member.loyalty_claim_reward(self.reward.id)
        # Contact wizard
        wizard = self.env["loyalty.reward.claim.wizard"].create(
            {"partner_id": self.member.id, "reward_id": self.reward.id}
        )
        with self.assertRaisesRegex(UserError, "kept for members of Gold"):
            wizard.action_claim()
        # Sales order: not offered, and refused if applied anyway.
        order = self._order()
        order._update_programs_and_rewards()
        self.assertNotIn(self.reward, order._get_claimable_rewards().get(self.card, []))
        self.assertIn("error", order._apply_program_reward(self.reward, self.card))
        # A member of the tier may.
        self._set_tier(self.card, self.gold)
        self.member.loyalty_claim_reward(self.reward.id)
        self.assertEqual(self.member.loyalty_balance, 200)

    def test_catalog_affordable_for_a_member(self):
        Reward = self.env["loyalty.reward"]
        expensive = Reward.create(
            {
                "program_id": self.program.id,
                "reward_type": "experience",
                "description": "Weekend away",
                "required_points": 1000,
            }
        )
        self.reward.tier_ids = self.gold
        found = Reward.search([("loyalty_affordable_for", "=", self.member.id)])
        self.assertIn(self.spa, found)
        self.assertNotIn(expensive, found)
        self.assertNotIn(self.reward, found)
        by_name = Reward.search([("loyalty_affordable_for", "ilike", "Martha Mem")])
        self.assertEqual(by_name, found)
        self.assertEqual(self.spa.loyalty_claim_count, 0)
        self.member.loyalty_claim_reward(self.spa.id)
        self.spa.invalidate_recordset(["loyalty_claim_count"])
        self.assertEqual(self.spa.loyalty_claim_count, 1)

    # ------------------------------------------------------------------
    # Cancellation, fulfilment, types
    # ------------------------------------------------------------------
    def test_cancelled_claim_refunds_once(self):
        claim = self.Claim.browse(self.member.loyalty_claim_reward(self.reward.id))
        self.assertEqual(self.member.loyalty_balance, 200)
        claim.action_cancel()
        claim.action_cancel()
        self.assertEqual(claim.state, "cancelled")
        self.assertRecordValues(
            claim.refund_line_id,
            [
                {
                    "entry_type": "reversal",
                    "points": 100,
                    "reversed_line_id": claim.ledger_line_id.id,
                }
            ],
        )
        self.assertEqual(len(self._lines(entry_type="reversal")), 1)
        self.assertEqual(self.member.loyalty_balance, 300)
        # The coupon it issued is void.
        self.assertEqual(claim.coupon_id.points, 0)
        # A cancelled claim frees its unit of stock.
        self.reward.loyalty_stock = 1
        self.other.loyalty_claim_reward(self.reward.id)
        self.assertLedgerMatches()

    def test_a_used_coupon_cannot_be_cancelled(self):
        claim = self.Claim.browse(self.member.loyalty_claim_reward(self.reward.id))
        claim.coupon_id.points = 0
        with self.assertRaisesRegex(UserError, "already used"):
            claim.action_cancel()
        self.assertEqual(self.member.loyalty_balance, 200)

    def test_experience_creates_an_activity_for_the_responsible(self):
        responsible = self.env["res.users"].create(
            {"name": "Rita Responsible", "login": "rita_catalog"}
        )
        self.program.loyalty_responsible_id = responsible
        claim = self.Claim.browse(self.member.loyalty_claim_reward(self.spa.id))
        self.assertEqual(claim.state, "requested")
        self.assertEqual(claim.activity_ids.user_id, responsible)
        self.assertIn("Spa afternoon", claim.activity_ids.summary)
        claim.with_context(tracking_disable=False, mail_notrack=False).action_fulfil()
        self.assertEqual(claim.state, "fulfilled")
        self.assertFalse(claim.activity_ids)
        self.assertEqual(self.member.loyalty_balance, 150)
        # The state change is in the chatter.
        self.env.flush_all()
        self.env.cr.precommit.run()
        self.assertTrue(claim.message_ids.tracking_value_ids)

    def test_credit_reward_tops_up_the_ewallet(self):
        ewallet = self.env["loyalty.program"].create(
            {"name": "Wallet", "program_type": "ewallet"}
        )
        credit = self.env["loyalty.reward"].create(
            {
                "program_id": self.program.id,
                "reward_type": "credit",
                "loyalty_credit_program_id": ewallet.id,
                "loyalty_credit_amount": 20,
                "required_points": 200,
            }
        )
        claim = self.Claim.browse(self.member.loyalty_claim_reward(credit.id))
        self.assertEqual(claim.coupon_id.program_id, ewallet)
        self.assertEqual(claim.coupon_id.points, 20)
        self.assertEqual(claim.state, "fulfilled")
        again = self.Claim.browse(self.other.loyalty_claim_reward(credit.id))
        self.assertNotEqual(again.coupon_id, claim.coupon_id)
        self.assertEqual(self.member.loyalty_balance, 100)
        # Catalog-only rewards are never applied on an order.
        order = self._order()
        self.assertIn("error", order._apply_program_reward(credit, self.card))
        self.assertIn("error", order._apply_program_reward(self.spa, self.card))

    def test_credit_reward_issues_a_gift_card(self):
        gift_cards = self.env.ref("loyalty.gift_card_program")
        gift_cards.active = True
        credit = self.env["loyalty.reward"].create(
            {
                "program_id": self.program.id,
                "reward_type": "credit",
                "loyalty_credit_program_id": gift_cards.id,
                "loyalty_credit_amount": 25,
                "required_points": 250,
            }
        )
        self.assertTrue(credit.description)
        claim = self.Claim.browse(self.member.loyalty_claim_reward(credit.id))
        self.assertRecordValues(
            claim.coupon_id,
            [{"program_id": gift_cards.id, "partner_id": self.member.id, "points": 25}],
        )
        self.assertTrue(claim.coupon_code)
        # Cancelling voids the unused gift card and refunds the points.
        claim.action_cancel()
        self.assertEqual(claim.coupon_id.points, 0)
        self.assertEqual(self.member.loyalty_balance, 300)

    # ------------------------------------------------------------------
    # Contact form
    # ------------------------------------------------------------------
    def test_contact_wizard_gives_a_coupon_code(self):
        action = self.member.action_open_loyalty_claim_wizard()
        wizard = Form(
            self.env["loyalty.reward.claim.wizard"].with_context(**action["context"])
        )
        self.assertEqual(wizard.balance, 300)
        wizard.reward_id = self.reward
        result = wizard.save().action_claim()
        claim = self.Claim.browse(result["res_id"])
        self.assertEqual(claim.channel, "contact")
        self.assertTrue(claim.coupon_code)
        self.assertRecordValues(
            claim.ledger_line_id, [{"points": -100, "source": "catalog"}]
        )
        self.assertEqual(self.member.loyalty_claim_count, 1)
        self.assertLedgerMatches()

    def test_contact_wizard_adds_the_reward_to_a_quotation(self):
        order = self._order()
        wizard = self.env["loyalty.reward.claim.wizard"].create(
            {
                "partner_id": self.member.id,
                "reward_id": self.reward.id,
                "sale_order_id": order.id,
            }
        )
        claim = self.Claim.browse(wizard.action_claim()["res_id"])
        line = order.order_line.filtered("reward_id")
        self.assertEqual(line.coupon_id, claim.coupon_id)
        self.assertAlmostEqual(line.price_subtotal, -5.0)
        self.assertEqual(self.member.loyalty_balance, 200)
        # Confirming the order does not spend the member's points again.
        order.action_confirm()
        self.assertEqual(len(self._lines(entry_type="redeem")), 1)
        self.assertGreater(self.member.loyalty_balance, 200)
        self.assertEqual(len(self._claims()), 1)
        self.assertLedgerMatches()

    def test_contact_wizard_experience_activity(self):
        wizard = self.env["loyalty.reward.claim.wizard"].create(
            {"partner_id": self.member.id, "reward_id": self.spa.id}
        )
        claim = self.Claim.browse(wizard.action_claim()["res_id"])
        self.assertTrue(claim.activity_ids)
        self.assertFalse(claim.coupon_id)

    # ------------------------------------------------------------------
    # Sales orders
    # ------------------------------------------------------------------
    def _order_with_reward(self, partner=None, card=None):
        order = self._order(partner)
        order._update_programs_and_rewards()
        result = order._apply_program_reward(self.reward, card or self.card)
        self.assertNotIn("error", result)
        return order

    def test_sales_order_claim_recorded_on_confirmation(self):
        order = self._order_with_reward()
        self.assertFalse(self._claims())
        order.action_confirm()
        claim = self._claims()
        self.assertRecordValues(
            claim,
            [
                {
                    "channel": "sale",
                    "sale_order_id": order.id,
                    "points": 100,
                    "state": "fulfilled",
                }
            ],
        )
        self.assertRecordValues(
            claim.ledger_line_id,
            [{"entry_type": "redeem", "points": -100, "sale_order_id": order.id}],
        )
        self.assertEqual(self.reward.loyalty_claim_count, 1)
        # Cancelling the order gives the points back once and cancels the claim.
        order._action_cancel()
        self.assertEqual(claim.state, "cancelled")
        self.assertEqual(self.member.loyalty_balance, 300)
        claim.action_cancel()
        self.assertEqual(self.member.loyalty_balance, 300)
        self.assertLedgerMatches()

    def test_sales_order_limits(self):
        self.reward.loyalty_stock = 1
        order = self._order_with_reward()
        # Another channel takes the last unit meanwhile.
        self.other.loyalty_claim_reward(self.reward.id)
        with self.assertRaisesRegex(UserError, "out of stock"):
            order.action_confirm()
        self.assertEqual(order.state, "draft")
        # Not offered any more on a new quotation.
        other_order = self._order()
        other_order._update_programs_and_rewards()
        self.assertNotIn(
            self.reward, other_order._get_claimable_rewards().get(self.card, [])
        )
        self.assertIn(
            "out of stock",
            other_order._apply_program_reward(self.reward, self.card)["error"],
        )

    def test_sales_order_limit_per_member(self):
        self.reward.loyalty_limit_per_member = 1
        self.member.loyalty_claim_reward(self.reward.id)
        order = self._order()
        order._update_programs_and_rewards()
        result = order._apply_program_reward(self.reward, self.card)
        self.assertIn("per member", result["error"])


@tagged("post_install", "-at_install")
class TestRewardCatalogMultiCompany(LoyaltyCrmCommon):
    def test_claims_of_another_company_are_hidden(self):
        self._give_points(200)
        claim = self.env["loyalty.reward.claim"].browse(
            self.member.loyalty_claim_reward(self.reward.id)
        )
        other_company = self.env["res.company"].create({"name": "Other Co"})
        claim._engine().company_id = other_company
        user = self.env["res.users"].create(
            {
                "name": "Loyalty clerk",
                "login": "clerk_catalog",
                "company_id": self.env.company.id,
                "company_ids": [Command.set(self.env.company.ids)],
                "groups_id": [
                    Command.link(
                        self.env.ref("loyalty_crm_addon.group_loyalty_user").id
                    )
                ],
            }
        )
        self.assertFalse(
            self.env["loyalty.reward.claim"]
            .with_user(user)
            .search([("id", "=", claim.id)])
        )
