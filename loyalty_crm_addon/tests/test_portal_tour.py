# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import Command
from odoo.tests import HttpCase, tagged

from .common import LoyaltyCrmCommon


@tagged("post_install", "-at_install")
class TestLoyaltyPortalTour(LoyaltyCrmCommon, HttpCase):
    """The member on a phone: a locked reward, a claim with confirmation,
    the share link; and the page a visitor of that link sees. The tours are
    in static/tests/tours/loyalty_crm_portal_tour.js."""

    browser_size = "390x844"
    touch_enabled = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.program.write(
            {
                "loyalty_referrer_points": 100,
                "loyalty_referee_points": 50,
                "loyalty_tier_ids": [
                    Command.create({"name": "Silver", "threshold": 50}),
                    Command.create({"name": "Gold", "threshold": 1000}),
                ],
            }
        )
        gold = cls.program.loyalty_tier_ids.filtered(lambda t: t.name == "Gold")
        discount = {
            "reward_type": "discount",
            "discount": 15,
            "discount_mode": "per_order",
            "discount_applicability": "order",
        }
        cls.program.write(
            {
                "reward_ids": [
                    Command.create(
                        dict(
                            discount, required_points=200, description="LCA fifteen off"
                        )
                    ),
                    Command.create(
                        dict(
                            discount,
                            required_points=100,
                            description="LCA Gold dinner",
                            tier_ids=[Command.set(gold.ids)],
                        )
                    ),
                ]
            }
        )
        cls.env["res.users"].create(
            {
                "login": "lca_martha",
                "password": "lca_martha_pw",
                "partner_id": cls.member.id,
                "groups_id": [Command.set(cls.env.ref("base.group_portal").ids)],
            }
        )

    def test_member_tour_on_a_phone(self):
        self._give_points(250)
        self.start_tour("/my", "loyalty_crm_portal_member", login="lca_martha")
        claim = self.env["loyalty.reward.claim"].search(
            [("partner_id", "=", self.member.id)]
        )
        self.assertEqual(claim.reward_id.description, "LCA fifteen off")
        self.assertEqual(claim.channel, "portal")
        self.assertEqual(self.member.loyalty_balance, 50)

    def test_visitor_landing_tour(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "auth_signup.invitation_scope", "b2c"
        )
        self.start_tour(
            "/loyalty/r/%s" % self.member.loyalty_referral_code,
            "loyalty_crm_referral_landing",
        )
