# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo import fields
from odoo.fields import Command
from odoo.tests import new_test_user, tagged

from .common import LoyaltyCrmCommon


@tagged("post_install", "-at_install")
class TestQuotationCampaign(LoyaltyCrmCommon):
    """The campaigns running for sales orders on a quotation's lines, as
    the salesperson sees them, and the points the quotation announces
    (campaign included) are what confirmation posts."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.seller = new_test_user(
            cls.env, login="qc_seller", groups="sales_team.group_sale_salesman"
        )
        cls.garden = cls.env["product.category"].create({"name": "Garden"})
        cls.chair = cls.env["product.product"].create(
            {"name": "Garden chair", "list_price": 40.0, "categ_id": cls.garden.id}
        )
        cls.other = cls.env["product.product"].create(
            {"name": "Lamp", "list_price": 50.0}
        )
        today = fields.Date.context_today(cls.env["loyalty.campaign"])
        Campaign = cls.env["loyalty.campaign"].sudo()
        cls.campaign = Campaign.create(
            {
                "name": "Double points on Garden furniture",
                "program_id": cls.program.id,
                "date_from": today - timedelta(days=1),
                "date_to": today + timedelta(days=2),
                "multiplier": 2.0,
                "channel": "sale",
                "product_category_ids": cls.garden.ids,
            }
        )
        Campaign.create(
            {
                "name": "Till only",
                "program_id": cls.program.id,
                "date_from": today - timedelta(days=1),
                "date_to": today,
                "multiplier": 4.0,
                "channel": "pos",
            }
        )

    def _quotation(self, *products):
        return (
            self.env["sale.order"]
            .with_user(self.seller)
            .create(
                {
                    "partner_id": self.member.id,
                    "order_line": [
                        Command.create(
                            {
                                "product_id": product.id,
                                "product_uom_qty": 1,
                                "price_unit": product.list_price,
                                "tax_id": False,
                            }
                        )
                        for product in products
                    ],
                }
            )
        )

    def test_campaign_on_the_quotation(self):
        order = self._quotation(self.chair, self.other)
        self.assertIn("Double points on Garden furniture", order.loyalty_campaign_note)
        self.assertNotIn("Till only", order.loyalty_campaign_note)
        # 40.00 of garden at x2 and 50.00 of another product.
        self.assertEqual(order.loyalty_order_points, 130)
        # What the quotation announced is what confirmation posts.
        order._update_programs_and_rewards()
        order.action_confirm()
        earn = order.sudo().loyalty_ledger_line_ids.filtered(
            lambda ln: ln.entry_type == "earn"
        )
        self.assertEqual(sum(earn.mapped("points")), 130)

    def test_no_campaign_on_other_lines(self):
        order = self._quotation(self.other)
        self.assertFalse(order.loyalty_campaign_note)
        self.assertEqual(order.loyalty_order_points, 50)
        order.write(
            {
                "order_line": [
                    Command.create(
                        {
                            "product_id": self.chair.id,
                            "price_unit": 40.0,
                            "tax_id": False,
                        }
                    )
                ]
            }
        )
        self.assertTrue(order.loyalty_campaign_note)
        self.assertEqual(order.loyalty_order_points, 130)

    def test_campaign_of_another_tier(self):
        tier = (
            self.env["loyalty.tier"]
            .sudo()
            .create({"name": "Gold", "program_id": self.program.id, "threshold": 10000})
        )
        self.campaign.tier_ids = tier
        order = self._quotation(self.chair)
        self.assertFalse(order.loyalty_campaign_note)
        self.assertEqual(order.loyalty_order_points, 40)
