# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import HttpCase, new_test_user, tagged

from .common import LoyaltyCrmCommon


@tagged("post_install", "-at_install")
class TestQuotationTour(LoyaltyCrmCommon, HttpCase):
    """A salesperson (own documents only) quotes a member in a real browser
    (static/tests/tours/loyalty_crm_quotation_tour.js)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.seller = new_test_user(
            cls.env,
            login="lca_quote_seller",
            groups="base.group_user,sales_team.group_sale_salesman",
        )
        cls.product.product_tmpl_id.write(
            {"name": "LCA Quote Lamp", "list_price": 50.0, "taxes_id": False}
        )
        cls.reward.description = "LCA 5 off"
        cls.env["loyalty.reward"].create(
            {
                "program_id": cls.program.id,
                "reward_type": "discount",
                "discount": 20,
                "discount_mode": "per_order",
                "discount_applicability": "order",
                "required_points": 300,
                "description": "LCA 20 off",
            }
        )
        gold = cls.env["loyalty.tier"].create(
            {
                "name": "Gold",
                "program_id": cls.program.id,
                "threshold": 10000,
                "earn_multiplier": 2.0,
            }
        )
        cls.member.name = "LCA Quote Member"
        cls.member.loyalty_adjust_points(350, "Welcome gift")
        LoyaltyCrmCommon._set_tier(cls, cls.card, gold)

    def test_salesperson_quotes_a_member(self):
        self.start_tour(
            "/odoo/action-sale.action_quotations_with_onboarding/new",
            "loyalty_crm_quotation",
            login=self.seller.login,
        )
        order = self.env["sale.order"].search([("partner_id", "=", self.member.id)])
        self.assertEqual(order.user_id, self.seller)
        self.assertEqual(order.order_line.reward_id.description, "LCA 20 off")
