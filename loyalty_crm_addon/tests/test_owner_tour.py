# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.fields import Command
from odoo.tests import HttpCase, new_test_user, tagged

from .common import LoyaltyCrmCommon


@tagged("post_install", "-at_install")
class TestLoyaltyOwnerTour(LoyaltyCrmCommon, HttpCase):
    """The shop owner's main path on a laptop screen: find the top members,
    then edit the program's rewards and see a card for each of them
    (static/tests/tours/loyalty_crm_owner_tour.js)."""

    browser_size = "1366x900"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.owner = new_test_user(
            cls.env,
            login="loyalty_tour_owner",
            groups="base.group_user,loyalty_crm_addon.group_loyalty_manager,"
            "sales_team.group_sale_manager",
        )
        gift_cards = cls.env["loyalty.program"].create(
            {"name": "LCA Owner Gift Cards", "program_type": "gift_card"}
        )
        cls.program.write(
            {
                "name": "LCA Owner Club",
                "loyalty_tier_ids": [
                    Command.create({"name": "Silver", "threshold": 0}),
                    Command.create({"name": "Gold", "threshold": 1000}),
                ],
                "reward_ids": [
                    Command.create(
                        {
                            "reward_type": "credit",
                            "description": "LCA 20 Gift Card",
                            "loyalty_credit_program_id": gift_cards.id,
                            "loyalty_credit_amount": 20,
                            "required_points": 400,
                        }
                    ),
                    Command.create(
                        {
                            "reward_type": "experience",
                            "description": "LCA Cooking Class",
                            "required_points": 900,
                        }
                    ),
                ],
            }
        )
        cls.member.name = "LCA Owner Small Member"
        cls.member.loyalty_adjust_points(30, "Welcome gift")
        top = cls.env["res.partner"].create({"name": "LCA Owner Top Member"})
        top.action_loyalty_enroll()
        top.loyalty_adjust_points(5000, "Opening balance")
        cls.env.flush_all()

    def test_owner_finds_top_members_and_edits_rewards(self):
        self.start_tour("/odoo", "loyalty_crm_owner_main_path", login=self.owner.login)
        self.assertTrue(
            self.program.reward_ids.filtered(
                lambda r: r.description == "LCA Cooking Class for Two"
            )
        )
