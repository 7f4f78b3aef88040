# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.exceptions import UserError
from odoo.fields import Command
from odoo.tests import Form, new_test_user, tagged

from .common import LoyaltyCrmCommon


@tagged("post_install", "-at_install")
class TestQuotationStanding(LoyaltyCrmCommon):
    """What a salesperson sees of a member on a quotation, as that
    salesperson (own documents only)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.seller = new_test_user(
            cls.env, login="qs_seller", groups="sales_team.group_sale_salesman"
        )
        cls.other_seller = new_test_user(
            cls.env, login="qs_other", groups="sales_team.group_sale_salesman"
        )
        cls.gold = cls.env["loyalty.tier"].create(
            {
                "name": "Gold",
                "program_id": cls.program.id,
                "threshold": 10000,
                "earn_multiplier": 2.0,
            }
        )
        cls.mug = cls.env["loyalty.reward"].create(
            {
                "program_id": cls.program.id,
                "reward_type": "discount",
                "discount": 20,
                "discount_mode": "per_order",
                "discount_applicability": "order",
                "required_points": 300,
                "description": "20 off for 300",
            }
        )

    def _seller_order(self, partner=None, qty=5, price=20.0):
        return (
            self.env["sale.order"]
            .with_user(self.seller)
            .create(
                {
                    "partner_id": (partner or self.member).id,
                    "order_line": [
                        Command.create(
                            {
                                "product_id": self.product.id,
                                "product_uom_qty": qty,
                                "price_unit": price,
                            }
                        )
                    ],
                }
            )
        )

    def test_member_standing_earnings_and_rewards_within_reach(self):
        self._give_points(150)
        self._set_tier(self.card, self.gold)
        order = self._seller_order()  # 100.00 at x2
        self.assertEqual(order.loyalty_member_state, "member")
        self.assertEqual(order.loyalty_member_balance, 150)
        self.assertEqual(order.loyalty_member_tier_id, self.gold)
        self.assertEqual(order.loyalty_order_points, 200)
        # 150 on the card and 200 this order earns (the program lets an
        # order spend its own points): both rewards.
        self.assertEqual(order.loyalty_affordable_reward_ids, self.mug | self.reward)
        self.assertEqual(
            order.loyalty_affordable_reward_ids.with_context(
                loyalty_reward_cost=True
            ).mapped("display_name"),
            [f"{self.reward.description} (100 Points)", "20 off for 300 (300 Points)"],
        )
        # What the quotation announced is what confirmation posts.
        order._update_programs_and_rewards()
        order.action_confirm()
        earn = order.sudo().loyalty_ledger_line_ids
        self.assertEqual((earn.points, earn.multiplier), (200, 2.0))

    def test_rewards_within_reach_follow_the_order(self):
        self.program.loyalty_pending_days = 0
        self._give_points(120)
        order = self._seller_order(qty=1, price=10.0)
        self.assertEqual(order.loyalty_order_points, 10)
        self.assertEqual(order.loyalty_affordable_reward_ids, self.reward)
        order._update_programs_and_rewards()
        self.assertNotIn("error", order._apply_program_reward(self.reward, self.card))
        order.invalidate_recordset()
        # The discount is on the order: nothing else within reach (30 left).
        self.assertFalse(order.loyalty_affordable_reward_ids)

    def test_non_member_hint(self):
        stranger = self.env["res.partner"].create({"name": "Stan Stranger"})
        order = self._seller_order(stranger)
        self.assertEqual(order.loyalty_member_state, "joining")
        self.assertEqual(order.loyalty_order_points, 100)
        self.assertFalse(order.loyalty_member_balance)
        self.program.loyalty_auto_enroll = False
        order.invalidate_recordset()
        self.assertEqual(order.loyalty_member_state, "closed")
        self.assertEqual(order.loyalty_order_points, 0)

    def test_company_contact_reads_the_company_card(self):
        company = self.env["res.partner"].create(
            {"name": "Acme Corp", "is_company": True}
        )
        buyer = self.env["res.partner"].create(
            {"name": "Bea Buyer", "parent_id": company.id}
        )
        company.action_loyalty_enroll()
        company.loyalty_adjust_points(400, "Opening")
        order = self._seller_order(buyer)
        self.assertEqual(order.loyalty_member_balance, 400)
        self.assertEqual(order.loyalty_affordable_reward_ids, self.mug | self.reward)

    def test_figures_of_a_member_who_bought_from_another_salesperson(self):
        """The member's earlier orders are another salesperson's: the
        seller quotes, sees the figures and confirms without access error."""
        self._give_points(150)
        past = self._order()
        past.user_id = self.other_seller
        past._update_programs_and_rewards()
        past.action_confirm()
        order = self._seller_order()
        self.assertEqual(order.user_id, self.seller)
        self.assertEqual(order.loyalty_member_balance, 250)
        self.assertEqual(order.loyalty_affordable_reward_ids, self.mug | self.reward)
        order.action_open_reward_wizard()
        order.action_confirm()
        self.assertEqual(order.state, "sale")

    def test_member_followed_by_another_salesperson(self):
        """Odoo makes the customer's salesperson the quotation's: a seller
        limited to their own documents is told so in plain words, on the
        form before saving and when saving, not by an access error."""
        self.member.user_id = self.other_seller
        with self.assertRaisesRegex(UserError, "followed by qs_other"):
            self._seller_order()
        form = Form(self.env["sale.order"].with_user(self.seller))
        form.partner_id = self.member
        self.assertIn(
            "choose yourself as Salesperson", form.loyalty_salesperson_warning
        )
        form.user_id = self.seller
        self.assertFalse(form.loyalty_salesperson_warning)
        with form.order_line.new() as line:
            line.product_id = self.product
        order = form.save()
        self.assertEqual(order.user_id, self.seller)
        self.assertEqual(order.loyalty_member_state, "member")
        # A sales manager (all documents) quotes for the other salesperson.
        manager = new_test_user(
            self.env, login="qs_manager", groups="sales_team.group_sale_manager"
        )
        order = (
            self.env["sale.order"]
            .with_user(manager)
            .create({"partner_id": self.member.id})
        )
        self.assertEqual(order.user_id, self.other_seller)

    def test_reward_dialog_shows_costs_and_points_to_spend(self):
        self._give_points(350)
        order = self._seller_order()
        wizard = (
            self.env["sale.loyalty.reward.wizard"]
            .with_user(self.seller)
            .with_context(active_id=order.id)
            .create({})
        )
        order.action_open_reward_wizard()
        wizard.invalidate_recordset()
        self.assertEqual(wizard.loyalty_member_id, self.member)
        self.assertEqual(wizard.loyalty_points_available, 450)
        names = wizard.reward_ids.with_context(loyalty_reward_cost=True).mapped(
            "display_name"
        )
        self.assertIn("20 off for 300 (300 Points)", names)
        # The contact's dialog names the rewards with their cost too.
        claim_wizard = self.env["loyalty.reward.claim.wizard"].with_user(self.seller)
        self.assertIn(
            "20 off for 300 (300 Points)",
            [
                name
                for _id, name in claim_wizard.env["loyalty.reward"]
                .with_context(loyalty_reward_cost=True)
                .name_search("20 off")
            ],
        )

    def test_confirmation_does_not_compute_the_quotation_figures(self):
        order = self._seller_order()
        # Confirming computes none of the quotation's figures.
        calls = []
        SaleOrder = type(self.env["sale.order"])
        original = SaleOrder._loyalty_quotation_standing

        def spy(order_self):
            calls.append(order_self)
            return original(order_self)

        self.patch(SaleOrder, "_loyalty_quotation_standing", spy)
        order._update_programs_and_rewards()
        order.action_confirm()
        self.assertFalse(calls)
        # A confirmed order shows no quotation figures.
        self.assertFalse(order.loyalty_member_state)
