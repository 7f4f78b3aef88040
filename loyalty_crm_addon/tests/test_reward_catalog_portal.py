# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import re

from odoo.fields import Command
from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestRewardCatalogPortal(HttpCase):
    """A portal member sees the rewards of their own membership and claims
    them through the same server checks as staff."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.program = cls.env["loyalty.program"].create(
            {
                "name": "Portal Club",
                "program_type": "loyalty",
                "reward_ids": [
                    Command.clear(),
                    Command.create(
                        {
                            "reward_type": "discount",
                            "discount": 5,
                            "discount_mode": "per_order",
                            "required_points": 100,
                            "description": "Five off for portal members",
                        }
                    ),
                    Command.create(
                        {
                            "reward_type": "experience",
                            "required_points": 50,
                            "description": "Gold lounge access",
                        }
                    ),
                ],
            }
        )
        cls.reward, cls.lounge = cls.program.reward_ids.sorted("required_points")[::-1]
        cls.gold = cls.env["loyalty.tier"].create(
            {"name": "Gold", "program_id": cls.program.id, "threshold": 5000}
        )
        cls.lounge.tier_ids = cls.gold
        cls.env.company.loyalty_membership_program_id = cls.program
        cls.user = cls.env["res.users"].create(
            {
                "name": "Paula Portal",
                "login": "paula_rewards",
                "password": "paula_rewards",
                "email": "paula@example.com",
                "groups_id": [Command.set([cls.env.ref("base.group_portal").id])],
            }
        )
        cls.member = cls.user.partner_id
        cls.member.action_loyalty_enroll()
        cls.member.loyalty_adjust_points(150, "Welcome")

    def _login(self):
        """Log in; the CSRF token of the session, from the rewards page."""
        self.authenticate("paula_rewards", "paula_rewards")
        page = self.url_open("/my/loyalty/rewards")
        self.token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]
        return page

    def _claim(self, reward, reference):
        return self.url_open(
            f"/my/loyalty/rewards/{reward.id}/claim",
            data={"csrf_token": self.token, "reference": reference},
        )

    def test_portal_member_claims_a_reward(self):
        page = self._login()
        self.assertEqual(page.status_code, 200)
        self.assertIn("Five off for portal members", page.text)
        self.assertIn('href="/my/loyalty"', page.text)
        # The member's loyalty page links to it.
        self.assertIn('href="/my/loyalty/rewards"', self.url_open("/my/loyalty").text)
        # A tier-only reward is shown to a member below the tier, locked...
        self.assertIn("Gold lounge access", page.text)
        self.assertIn("Reach Gold to unlock", page.text)
        response = self._claim(self.reward, "portal-1")
        self.assertEqual(response.status_code, 200)
        self.assertIn("is yours", response.text)
        claim = self.env["loyalty.reward.claim"].search(
            [("partner_id", "=", self.member.id)]
        )
        self.assertRecordValues(
            claim, [{"channel": "portal", "points": 100, "state": "fulfilled"}]
        )
        self.assertRecordValues(
            claim.ledger_line_id,
            [{"entry_type": "redeem", "points": -100, "source": "catalog"}],
        )
        self.assertIn(claim.coupon_code, response.text)
        # The same form sent twice claims once.
        self._claim(self.reward, "portal-1")
        self.assertEqual(self.member.loyalty_balance, 50)
        # ...and refused when posted anyway.
        response = self._claim(self.lounge, "portal-2")
        self.assertIn("kept for members of Gold", response.text)
        self.assertEqual(
            self.env["loyalty.reward.claim"].search_count(
                [("partner_id", "=", self.member.id)]
            ),
            1,
        )
        self.assertEqual(self.member.loyalty_balance, 50)

    def test_portal_claim_needs_the_csrf_token(self):
        self.authenticate("paula_rewards", "paula_rewards")
        response = self.url_open(
            f"/my/loyalty/rewards/{self.reward.id}/claim", data={"reference": "x"}
        )
        self.assertEqual(response.status_code, 400)
        self.assertEqual(self.member.loyalty_balance, 150)

    def test_portal_refuses_what_the_member_cannot_afford(self):
        self.lounge.write({"tier_ids": [Command.clear()], "required_points": 500})
        page = self._login()
        self.assertIn("350 more points", page.text)
        response = self._claim(self.lounge, "p-3")
        self.assertEqual(self.member.loyalty_balance, 150)
        self.assertIn("Not enough points", response.text)
