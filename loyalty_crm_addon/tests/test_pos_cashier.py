# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import odoo.tests

from .common import LoyaltyPosCase


@odoo.tests.tagged("post_install", "-at_install")
class TestPosCashier(LoyaltyPosCase):
    """The cashier's day: a reward that spends points is given once the
    cashier said yes; the receipt prints the points block once; referral
    codes are checked at once.

    The tour is in static/tests/tours/loyalty_crm_cashier_tour.js.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.silver = (
            cls.env["loyalty.tier"]
            .sudo()
            .create(
                {"name": "LCA Silver", "program_id": cls.program.id, "threshold": 100}
            )
        )
        cls.coffee = cls.env["product.product"].create(
            {
                "name": "LCA Free Coffee",
                "available_in_pos": True,
                "list_price": 5.10,
                "taxes_id": False,
            }
        )
        cls.coffee_reward = cls.env["loyalty.reward"].create(
            {
                "program_id": cls.program.id,
                "reward_type": "product",
                "reward_product_id": cls.coffee.id,
                "reward_product_qty": 1,
                "required_points": 150,
            }
        )
        cls.member = cls._make_member("AAA LCA Cashier Member", 0)
        Ledger = cls.env["loyalty.ledger.line"]
        card = cls.member.loyalty_card_id
        Ledger._post(
            [
                Ledger._prepare_line(
                    card, "bonus", 400, source="manual", description="Welcome"
                )
            ]
        )

    def test_setting_on_by_default(self):
        config = self.env["pos.config"].create({"name": "LCA New Till"})
        self.assertTrue(config.loyalty_ask_before_spending)
        self.assertEqual(config.loyalty_membership_program_id, self.program)
        settings = self.env["res.config.settings"].create({"pos_config_id": config.id})
        self.assertTrue(settings.pos_loyalty_ask_before_spending)
        settings.pos_loyalty_ask_before_spending = False
        settings.execute()
        self.assertFalse(config.loyalty_ask_before_spending)

    def test_cashier_tour(self):
        self.assertTrue(self.main_pos_config.loyalty_ask_before_spending)
        self.assertEqual(self.member.loyalty_tier_id, self.silver)
        self.start_pos_tour("loyalty_crm_pos_cashier")
        order = self._member_order(self.member)
        reward_line = order.lines.filtered("is_reward_line")
        self.assertEqual(reward_line.reward_id, self.coffee_reward)
        self.assertAlmostEqual(reward_line.price_subtotal_incl, -5.10)
        coffees = order.lines.filtered(lambda ln: ln.product_id == self.coffee)
        self.assertEqual(len(coffees), 1)
        redeem = order.loyalty_ledger_line_ids.filtered(
            lambda ln: ln.entry_type == "redeem"
        )
        self.assertEqual(redeem.mapped("points"), [-150.0])
        self.assertLedgerMatches(self.member, 400 - 150 + order.loyalty_points_earned)
        info = order.sudo()._loyalty_receipt_info()
        self.assertEqual(info["tier"], "LCA Silver")
        self.assertTrue(info["new_member"], "the member's first order")

    def test_check_referral_code(self):
        self.program.sudo().write(
            {"loyalty_referee_points": 25, "loyalty_referrer_points": 50}
        )
        referrer = self.env["res.partner"].browse(self.earn_member.id)
        code = referrer.loyalty_referral_code
        self.assertTrue(code)
        friend = self.env["res.partner"].create({"name": "AAA LCA Friend"})
        Partner = self.env["res.partner"].with_user(self.pos_user)
        check = Partner.loyalty_pos_check_referral(
            code.replace("-", " ").lower(), friend.id, self.main_pos_config.id
        )
        self.assertEqual(
            (check["valid"], check["code"], check["referrer"], check["bonus"]),
            (True, code, referrer.name, 25.0),
        )
        unknown = Partner.loyalty_pos_check_referral(
            "ZZZZ-9999", friend.id, self.main_pos_config.id
        )
        self.assertFalse(unknown["valid"])
        self.assertIn("ZZZZ-9999", unknown["message"])
        own = Partner.loyalty_pos_check_referral(
            code, referrer.id, self.main_pos_config.id
        )
        self.assertFalse(own["valid"])
        # Nothing written.
        self.assertFalse(
            self.env["loyalty.referral"].search([("referee_id", "=", friend.id)])
        )

    def test_receipt_of_a_new_member(self):
        """A member's first order: the receipt names the card."""
        member = self._make_member("AAA LCA Newcomer", 0)
        Order = self.env["pos.order"].with_user(self.pos_user)
        result = Order.sync_from_ui([self._order_data(member)])
        order = Order.browse(result["pos.order"][0]["id"])
        card = self._card(member)
        receipt = order.confirm_coupon_programs(
            {
                str(card.id): {
                    "points": 50,
                    "program_id": self.program.id,
                    "coupon_id": card.id,
                    "barcode": False,
                    "partner_id": member.id,
                }
            }
        )["loyalty_crm_receipt"]
        self.assertEqual(
            (receipt["new_member"], receipt["card_code"], receipt["earned"]),
            (True, card.code, 50.0),
        )
        self.assertEqual(receipt["referral"], {})
