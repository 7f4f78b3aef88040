# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from lxml import html

from odoo import Command, http
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, tagged

from .common import LoyaltyCrmCommon


@tagged("post_install", "-at_install")
class TestLoyaltyPortal(LoyaltyCrmCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.program.write(
            {
                "loyalty_pending_days": 10,
                "loyalty_referrer_points": 100,
                "loyalty_referee_points": 50,
                "loyalty_tier_ids": [
                    Command.create({"name": "Silver", "threshold": 50}),
                    Command.create({"name": "Gold", "threshold": 1000}),
                ],
                "reward_ids": [
                    Command.create(
                        {
                            "reward_type": "discount",
                            "discount": 15,
                            "discount_mode": "per_order",
                            "discount_applicability": "order",
                            "required_points": 300,
                            "description": "LCA fifteen off",
                        }
                    ),
                    Command.create(
                        {
                            "reward_type": "discount",
                            "discount": 25,
                            "discount_mode": "per_order",
                            "discount_applicability": "order",
                            "required_points": 500,
                            "description": "LCA twenty-five off",
                        }
                    ),
                ],
            }
        )
        portal = cls.env.ref("base.group_portal")
        cls.martha = cls.env["res.users"].create(
            {
                "login": "lca_martha",
                "password": "lca_martha_pw",
                "partner_id": cls.member.id,
                "groups_id": [Command.set(portal.ids)],
            }
        )
        cls.other_partner = cls.env["res.partner"].create(
            {"name": "Otto Other", "email": "otto@example.com"}
        )
        cls.other_partner.action_loyalty_enroll()
        cls.otto = cls.env["res.users"].create(
            {
                "login": "lca_otto",
                "password": "lca_otto_pw",
                "partner_id": cls.other_partner.id,
                "groups_id": [Command.set(portal.ids)],
            }
        )

    def _page(self, url="/my/loyalty"):
        response = self.url_open(url)
        self.assertEqual(response.status_code, 200)
        return html.fromstring(response.content)

    @staticmethod
    def _text(doc, element_id):
        return " ".join(doc.get_element_by_id(element_id).text_content().split())

    def test_member_page(self):
        self._give_points(250)
        order = self._confirmed_order(qty=1, price=100.0)  # 100 pending points
        self.assertEqual(order.loyalty_ledger_line_ids.state, "pending")
        self.authenticate("lca_martha", "lca_martha_pw")
        doc = self._page()
        self.assertEqual(self._text(doc, "o_loyalty_balance"), "250")
        self.assertEqual(self._text(doc, "o_loyalty_pending"), "100")
        tier = self._text(doc, "o_loyalty_tier")
        self.assertIn("Silver", tier)
        self.assertIn("900 points to Gold", tier)
        affordable = self._text(doc, "o_loyalty_rewards_affordable")
        self.assertIn("100 points", affordable)
        self.assertNotIn("LCA fifteen off", affordable)
        upcoming = self._text(doc, "o_loyalty_rewards_next")
        self.assertIn("LCA fifteen off 50 more points", upcoming)
        self.assertIn("LCA twenty-five off 250 more points", upcoming)
        self.assertEqual(
            self._text(doc, "o_loyalty_referral_code"),
            self.member.loyalty_referral_code,
        )
        self.assertTrue(
            doc.get_element_by_id("o_loyalty_referral_url")
            .get("value")
            .endswith("/loyalty/r/%s" % self.member.loyalty_referral_code)
        )
        # The same lines staff see, newest first.
        history = self._text(doc, "o_loyalty_history")
        self.assertIn("Order %s" % order.name, history)
        self.assertIn("Welcome gift", history)
        self.assertLess(history.index(order.name), history.index("Welcome gift"))

    def test_history_pages(self):
        for i in range(25):
            self.member.loyalty_adjust_points(1, "Gift %02d" % i)
        self.other_partner.loyalty_adjust_points(7, "Otto's own gift")
        self.authenticate("lca_martha", "lca_martha_pw")
        first = self._page()
        self.assertEqual(len(first.get_element_by_id("o_loyalty_history")), 20)
        self.assertIn("Gift 24", self._text(first, "o_loyalty_history"))
        second = self._page("/my/loyalty/page/2")
        rows = second.get_element_by_id("o_loyalty_history")
        self.assertEqual(len(rows), 5)
        self.assertIn("Gift 00", self._text(second, "o_loyalty_history"))
        self.assertNotIn("Otto", self._text(second, "o_loyalty_history"))

    def test_other_member_refused(self):
        self._give_points(250)
        self.authenticate("lca_otto", "lca_otto_pw")
        doc = self._page()
        self.assertEqual(self._text(doc, "o_loyalty_balance"), "0")
        page = html.tostring(doc).decode()
        self.assertNotIn(self.member.loyalty_referral_code, page)
        self.assertNotIn("Welcome gift", page)
        # The page takes no record from the URL: naming Martha changes nothing.
        doc = self._page(
            "/my/loyalty?partner_id=%d&card_id=%d" % (self.member.id, self.card.id)
        )
        self.assertEqual(self._text(doc, "o_loyalty_balance"), "0")
        self.assertNotIn(self.member.loyalty_referral_code, html.tostring(doc).decode())
        # Nor through the API: the ledger and another contact are closed.
        with self.assertRaises(AccessError):
            self.env["loyalty.ledger.line"].with_user(self.otto).search_read([])
        with self.assertRaises(AccessError):
            self.member.with_user(self.otto).read(["loyalty_balance"])
        with self.assertRaises(AccessError):
            self.env["loyalty.referral"].with_user(self.otto).search_read([])

    def test_portal_home_and_login(self):
        self.authenticate("lca_martha", "lca_martha_pw")
        home = self.url_open("/my/home")
        self.assertIn('href="/my/loyalty"', home.text)
        counters = self.make_jsonrpc_request(
            "/my/counters", {"counters": ["loyalty_count"]}
        )
        self.assertEqual(counters["loyalty_count"], 1)
        self.authenticate(None, None)
        response = self.url_open("/my/loyalty", allow_redirects=False)
        self.assertIn(response.status_code, (302, 303))
        self.assertIn("/web/login", response.headers["Location"])

    def test_referral_link_through_signup(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "auth_signup.invitation_scope", "b2c"
        )
        self.authenticate(None, None)
        self.assertEqual(self.url_open("/loyalty/r/NOPE-NOPE").status_code, 404)
        typed = self.member.loyalty_referral_code.lower().replace("-", "")
        response = self.url_open("/loyalty/r/%s" % typed, allow_redirects=False)
        self.assertIn("/web/signup", response.headers["Location"])
        response = self.url_open(
            "/web/signup",
            data={
                "login": "friend.signup@example.com",
                "name": "Sally Signup",
                "password": "sally-secret-1",
                "confirm_password": "sally-secret-1",
                "csrf_token": http.Request.csrf_token(self),
            },
        )
        self.assertEqual(response.status_code, 200)
        user = self.env["res.users"].search(
            [("login", "=", "friend.signup@example.com")]
        )
        self.assertTrue(user)
        self.assertEqual(user.partner_id.loyalty_referred_by_id, self.member)
        referral = self.env["loyalty.referral"].search(
            [("referee_id", "=", user.partner_id.id)]
        )
        self.assertEqual(referral.channel, "signup")
        self.assertEqual(referral.state, "pending")
        self.assertEqual(referral.referrer_id, self.member)
