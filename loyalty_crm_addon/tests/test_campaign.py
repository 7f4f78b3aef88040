# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError
from odoo.fields import Command
from odoo.tests import new_test_user, tagged

from .common import LoyaltyCrmCommon, LoyaltyPosCase


@tagged("post_install", "-at_install")
class TestLoyaltyCampaign(LoyaltyCrmCommon):
    """Earn campaigns multiply the points of the matching lines of a sales
    order, on top of the tier multiplier, while they run."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.seller = new_test_user(
            cls.env, login="camp_seller", groups="sales_team.group_sale_salesman"
        )
        cls.manager = new_test_user(
            cls.env,
            login="camp_manager",
            groups="sales_team.group_sale_manager,loyalty_crm_addon.group_loyalty_manager",
        )
        cls.today = fields.Date.context_today(cls.env["loyalty.campaign"])
        cls.other = cls.env["product.product"].create(
            {"name": "Other Product", "list_price": 50.0}
        )

    def _campaign(self, **values):
        return (
            self.env["loyalty.campaign"]
            .with_user(self.manager)
            .create(
                {
                    "name": "Double",
                    "program_id": self.program.id,
                    "date_from": self.today,
                    "date_to": self.today,
                    "multiplier": 2.0,
                    **values,
                }
            )
        )

    def _sell(self):
        """100.00 of the campaign's product and 50.00 of another, confirmed
        by the salesperson; returns the points earned."""
        order = (
            self.env["sale.order"]
            .create(
                {
                    "partner_id": self.member.id,
                    "user_id": self.seller.id,
                    "order_line": [
                        Command.create(
                            {
                                "product_id": self.product.id,
                                "product_uom_qty": 5,
                                "price_unit": 20.0,
                                "tax_id": False,
                            }
                        ),
                        Command.create(
                            {
                                "product_id": self.other.id,
                                "product_uom_qty": 1,
                                "price_unit": 50.0,
                                "tax_id": False,
                            }
                        ),
                    ],
                }
            )
            .with_user(self.seller)
        )
        order._update_programs_and_rewards()
        order.action_confirm()
        earn = order.sudo().loyalty_ledger_line_ids.filtered(
            lambda ln: ln.entry_type == "earn"
        )
        return sum(earn.mapped("points"))

    def test_rights(self):
        with self.assertRaises(AccessError):
            self.env["loyalty.campaign"].with_user(self.seller).create(
                {
                    "name": "Nope",
                    "program_id": self.program.id,
                    "date_from": self.today,
                    "date_to": self.today,
                }
            )
        campaign = self._campaign()
        self.assertEqual(
            self.env["loyalty.campaign"].with_user(self.seller).search([]), campaign
        )

    def test_no_campaign(self):
        self.assertEqual(self._sell(), 150.0)

    def test_matching_lines_only(self):
        self._campaign(product_ids=self.product.ids)
        self.assertEqual(self._sell(), 250.0)

    def test_category(self):
        self._campaign(product_category_ids=self.product.categ_id.ids, multiplier=3)
        # The other product is in another category.
        self.other.categ_id = self.env["product.category"].create({"name": "Else"})
        self.assertEqual(self._sell(), 350.0)

    def test_on_top_of_tier_multiplier(self):
        tier = self.env["loyalty.tier"].create(
            {
                "name": "Silver",
                "program_id": self.program.id,
                "threshold": 10000,
                "earn_multiplier": 1.5,
            }
        )
        self._set_tier(self.card, tier)
        self._campaign(product_ids=self.product.ids, tier_ids=tier.ids)
        self.assertEqual(self._sell(), (200.0 + 50.0) * 1.5)

    def test_other_tier_not_matching(self):
        tier = self.env["loyalty.tier"].create(
            {"name": "Gold", "program_id": self.program.id, "threshold": 10000}
        )
        self._campaign(product_ids=self.product.ids, tier_ids=tier.ids)
        self.assertEqual(self._sell(), 150.0)

    def test_highest_multiplier_wins(self):
        self._campaign(product_ids=self.product.ids, multiplier=2)
        self._campaign(multiplier=3)
        # Every line x3 (the highest of the matching campaigns).
        self.assertEqual(self._sell(), 450.0)

    def test_not_outside_dates_nor_channel(self):
        yesterday = self.today - timedelta(days=1)
        self._campaign(date_from=yesterday - timedelta(days=5), date_to=yesterday)
        self._campaign(
            date_from=self.today + timedelta(days=1),
            date_to=self.today + timedelta(days=5),
        )
        self._campaign(channel="pos", multiplier=5)
        self.assertEqual(self._sell(), 150.0)

    def _add_order_rule(self):
        self.env["loyalty.rule"].create(
            {
                "program_id": self.program.id,
                "reward_point_mode": "order",
                "reward_point_amount": 10,
                "minimum_amount": 0,
            }
        )

    def test_points_per_order_with_a_product_campaign(self):
        """Points a rule gives per order are not of a line: a campaign on
        some products leaves them alone."""
        self._add_order_rule()
        self._campaign(product_ids=self.product.ids)
        self.assertEqual(self._sell(), 250.0 + 10.0)

    def test_points_per_order_with_a_campaign_on_everything(self):
        self._add_order_rule()
        self._campaign()
        self.assertEqual(self._sell(), (150.0 + 10.0) * 2)

    def test_active_campaigns(self):
        campaign = self._campaign(channel="sale", product_ids=self.product.ids)
        self._campaign(channel="pos", name="Till only")
        Campaign = self.env["loyalty.campaign"].with_user(self.seller)
        found = Campaign.get_active_campaigns(self.program.id, "sale")
        self.assertEqual([c["id"] for c in found], campaign.ids)
        self.assertEqual(found[0]["product_ids"], self.product.ids)
        self.assertEqual(len(Campaign.get_active_campaigns(self.program.id, "all")), 2)
        tomorrow = fields.Date.to_string(self.today + timedelta(days=1))
        self.assertFalse(
            Campaign.get_active_campaigns(self.program.id, "all", tomorrow)
        )


@tagged("post_install", "-at_install")
class TestLoyaltyCampaignPos(LoyaltyPosCase):
    """A till order paid and synced: the server multiplies the points of the
    campaign's lines."""

    def _earned(self, partner):
        data = self._order_data(partner, qty=2)
        result = self.env["pos.order"].with_user(self.pos_user).sync_from_ui([data])
        order = self.env["pos.order"].browse(result["pos.order"][0]["id"])
        self.assertEqual(order.state, "paid")
        earn = order.loyalty_ledger_line_ids.filtered(
            lambda ln: ln.entry_type == "earn"
        )
        return sum(earn.mapped("points"))

    def _campaign(self, **values):
        # The till's day is the cashier's (their time zone): the order's.
        today = fields.Date.context_today(
            self.env["loyalty.campaign"].with_user(self.pos_user)
        )
        Campaign = self.env["loyalty.campaign"].with_user(self.admin)
        return Campaign.with_company(self.company).create(
            {
                "name": "Triple at the till",
                "program_id": self.program.id,
                "date_from": today,
                "date_to": today,
                "multiplier": 3.0,
                **values,
            }
        )

    def test_till_campaign(self):
        self._campaign(channel="pos", product_ids=self.product.ids)
        self.assertEqual(self._earned(self.earn_member), 300.0)

    def test_till_other_product_or_channel(self):
        other = self.env["product.product"].create({"name": "Not on the till"})
        self._campaign(channel="pos", product_ids=other.ids)
        self._campaign(channel="sale", multiplier=5)
        self.assertEqual(self._earned(self.earn_member), 100.0)
