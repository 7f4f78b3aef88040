# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.fields import Command
from odoo.tests import HttpCase, new_test_user, tagged

from .common import LoyaltyCrmCommon


@tagged("post_install", "-at_install")
class TestLoyaltyManagerTour(LoyaltyCrmCommon, HttpCase):
    """A loyalty manager walks through every menu of the Loyalty app in a
    real browser; each screen shows the shop's members, points and rules
    (static/tests/tours/loyalty_crm_manager_tour.js)."""

    browser_size = "1920x1080"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env,
            login="loyalty_tour_manager",
            groups="base.group_user,base.group_system,"
            "loyalty_crm_addon.group_loyalty_manager,sales_team.group_sale_manager",
        )
        # The shop uses pricelists (SaleCommon made some): the settings page
        # opens without Odoo's "deactivating the pricelist feature" warning.
        cls.env.ref("base.group_user").implied_ids |= cls.env.ref(
            "product.group_product_pricelist"
        )
        cls.program.write(
            {
                "name": "LCA Tour Club",
                "loyalty_tier_ids": [
                    Command.create({"name": "Silver", "threshold": 0}),
                    Command.create({"name": "Gold", "threshold": 1000}),
                ],
            }
        )
        cls.reward.description = "LCA Tour Voucher"
        cls.member.name = "LCA Tour Gold Member"
        order = LoyaltyCrmCommon._order(cls, None, 1, 1300)
        order._update_programs_and_rewards()
        order.action_confirm()
        cls.member.loyalty_adjust_points(50, "Welcome gift")
        cls.member.loyalty_claim_reward(cls.reward.id, "LCA-TOUR-1")
        half = cls.env["res.partner"].create(
            {"name": "LCA Tour Half Member", "email": "half@example.com"}
        )
        half.action_loyalty_enroll()
        half.loyalty_adjust_points(12.5, "Welcome gift")
        cls.env["res.partner"].create(
            {
                "name": "LCA Tour Friend",
                "email": "friend@example.com",
                "loyalty_referred_by_id": cls.member.id,
            }
        )
        cls.env["loyalty.member.event"]._cron_process_events()
        cls.env.flush_all()
        # The daily segment job found the member at risk.
        cls.env.cr.execute(
            "INSERT INTO loyalty_member_score (id, partner_id, segment)"
            " VALUES (%s, %s, 'at_risk')",
            [cls.member.id, cls.member.id],
        )
        cls.env.invalidate_all()

    def test_manager_walks_through_the_loyalty_menu(self):
        self.assertEqual(self.member.loyalty_balance, 1250)
        self.assertEqual(self.member.loyalty_member_tier_id.name, "Gold")
        self.start_tour("/odoo", "loyalty_crm_manager_menu", login=self.manager.login)
