# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta
from urllib.parse import quote

from lxml import html

from odoo import Command, fields, http
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, tagged
from odoo.tools import format_date

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
    def _visible_text(content):
        doc = html.fromstring(content)
        for element in doc.xpath("//head|//script|//style|//template"):
            element.drop_tree()
        return " ".join(doc.text_content().split())

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
        self._give_points(250)
        self.authenticate("lca_martha", "lca_martha_pw")
        home = self.url_open("/my/home")
        self.assertIn('href="/my/loyalty"', home.text)
        # The balance is on the entry itself, not only in the side column
        # a phone hides.
        [entry] = html.fromstring(home.content).xpath(
            "//a[@href='/my/loyalty']//strong[hasclass('o_loyalty_home_balance')]"
        )
        self.assertEqual(" ".join(entry.text_content().split()), "250 points to spend")
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
        # An unknown code: a friendly page (404), still a way to sign up.
        response = self.url_open("/loyalty/r/NOPE-NOPE")
        self.assertEqual(response.status_code, 404)
        doc = html.fromstring(response.content)
        self.assertIn("does not work", self._text(doc, "o_loyalty_invitation_unknown"))
        self.assertEqual(
            doc.xpath("//a[hasclass('o_loyalty_invitation_signup')]/@href"),
            ["/web/signup"],
        )
        # A code as a friend types it: the page names who invites (first
        # name only) and what both get, and leads to the sign-up form.
        typed = self.member.loyalty_referral_code.lower().replace("-", "")
        response = self.url_open("/loyalty/r/%s" % typed, allow_redirects=False)
        self.assertEqual(response.status_code, 200)
        doc = html.fromstring(response.content)
        self.assertEqual(
            self._text(doc, "o_loyalty_invitation_title"),
            "Martha invites you to join %s" % self.env.company.name,
        )
        self.assertNotIn("Martha Member", response.text)
        benefits = self._text(doc, "o_loyalty_invitation_benefits")
        self.assertIn("You get 50 points with your first order", benefits)
        self.assertIn("Martha gets 100 points as a thank-you", benefits)
        self.assertEqual(
            doc.xpath("//a[hasclass('o_loyalty_invitation_signup')]/@href"),
            ["/web/signup"],
        )
        signup = self.url_open("/web/signup")
        self.assertIn("Martha invited you", signup.text)
        self.assertIn("50 points", signup.text)
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

    def test_referral_link_without_open_signup(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "auth_signup.invitation_scope", "b2b"
        )
        self.authenticate(None, None)
        response = self.url_open("/loyalty/r/%s" % self.member.loyalty_referral_code)
        self.assertEqual(response.status_code, 200)
        doc = html.fromstring(response.content)
        self.assertEqual(
            doc.xpath("//a[hasclass('o_loyalty_invitation_signup')]/@href"),
            ["/web/login"],
        )
        # A member opening a link goes to their own page.
        self.authenticate("lca_otto", "lca_otto_pw")
        response = self.url_open(
            "/loyalty/r/%s" % self.member.loyalty_referral_code,
            allow_redirects=False,
        )
        self.assertIn("/my/loyalty", response.headers["Location"])

    def test_every_reward_shown_locked_ones_say_why(self):
        gold = self.program.loyalty_tier_ids.filtered(lambda t: t.name == "Gold")
        self.program.write(
            {
                "reward_ids": [
                    Command.create(
                        {
                            "reward_type": "discount",
                            "discount": 30,
                            "discount_mode": "per_order",
                            "discount_applicability": "order",
                            "required_points": 200,
                            "description": "LCA Gold dinner",
                            "tier_ids": [Command.set(gold.ids)],
                        }
                    ),
                ]
            }
        )
        self._give_points(250)
        self.authenticate("lca_martha", "lca_martha_pw")
        doc = self._page()
        locked = self._text(doc, "o_loyalty_rewards_next")
        # Affordable, but kept for Gold: shown, with what unlocks it.
        self.assertIn("LCA Gold dinner Reach Gold to unlock", locked)
        self.assertIn("LCA fifteen off 50 more points", locked)
        self.assertNotIn("every reward", locked)
        self.assertNotIn(
            "LCA Gold dinner", self._text(doc, "o_loyalty_rewards_affordable")
        )
        # The catalog shows every reward too; only the claimable one has a
        # Claim button, which opens a confirmation, not the claim itself.
        page = html.fromstring(self.url_open("/my/loyalty/rewards").content)
        cards = {
            " ".join(card.xpath(".//h5")[0].text_content().split()): card
            for card in page.xpath("//div[hasclass('o_loyalty_reward_card')]")
        }
        self.assertEqual(
            set(cards),
            {"LCA Gold dinner", "LCA fifteen off", "LCA twenty-five off"}
            | {
                " ".join(r.description.split())
                for r in self.program.reward_ids
                if r.required_points <= 250 and not r.tier_ids
            },
        )
        gold_card = cards["LCA Gold dinner"]
        self.assertIn("o_loyalty_offer_tier", gold_card.get("class"))
        self.assertIn("Reach Gold to unlock", gold_card.text_content())
        self.assertFalse(gold_card.xpath(".//button[hasclass('o_loyalty_claim')]"))
        self.assertIn("50 more points", cards["LCA fifteen off"].text_content())
        [claimable] = [
            card
            for card in cards.values()
            if "o_loyalty_offer_available" in card.get("class")
        ]
        [button] = claimable.xpath(".//button[hasclass('o_loyalty_claim')]")
        self.assertEqual(button.get("type"), "button")
        self.assertEqual(button.get("data-bs-toggle"), "modal")
        [modal] = page.xpath("//div[@id=$id]", id=button.get("data-bs-target")[1:])
        [form] = modal.xpath(".//form")
        self.assertEqual(form.get("method"), "post")
        self.assertTrue(form.xpath(".//input[@name='csrf_token']"))
        self.assertIn(
            "you will have 150 points left", " ".join(modal.text_content().split())
        )

    def test_plain_words(self):
        self._give_points(250)
        self._confirmed_order(qty=1, price=100.0)  # pending for 10 days
        release = self.card.ledger_line_ids.filtered(
            lambda line: line.state == "pending"
        ).release_date
        self.authenticate("lca_martha", "lca_martha_pw")
        response = self.url_open("/my/loyalty")
        doc = html.fromstring(response.content)
        history = self._text(doc, "o_loyalty_history")
        date = format_date(self.env, release)
        self.assertIn("Available from %s" % date, history)
        self.assertIn("Welcome gift Correction +250 Available", history)
        self.assertIn(
            "Available from %s" % date, self._text(doc, "o_loyalty_pending_date")
        )
        card_page = self._visible_text(
            self.url_open("/my/loyalty_card/%d/history" % self.card.id).content
        )
        for page in (self._visible_text(response.content), card_page):
            for jargon in ("Posted", "Pending", "pending", "Adjustment"):
                self.assertNotIn(jargon, page)
        self.assertIn("Available from %s" % date, card_page)
        # The points are a column of their own, also stacked on a phone.
        [cell] = doc.xpath(
            "//tbody[@id='o_loyalty_history']/tr[1]/td[@data-cell='points']"
        )
        self.assertEqual(" ".join(cell.text_content().split()), "+100")
        self.assertTrue(doc.xpath("//div[contains(@class, 'o_loyalty_stack')]//table"))

    def test_share_buttons(self):
        self.authenticate("lca_martha", "lca_martha_pw")
        doc = self._page()
        url = self.member.loyalty_referral_url
        [copy] = doc.xpath("//button[hasclass('o_loyalty_copy_link')]")
        self.assertEqual(copy.get("data-target"), "#o_loyalty_referral_url")
        [mail] = doc.xpath("//a[hasclass('o_loyalty_share_email')]/@href")
        self.assertTrue(mail.startswith("mailto:?subject="))
        self.assertIn(quote(url, safe=""), mail)
        [whatsapp] = doc.xpath("//a[hasclass('o_loyalty_share_whatsapp')]/@href")
        self.assertTrue(whatsapp.startswith("https://wa.me/?text="))
        self.assertIn(quote(url, safe=""), whatsapp)

    def test_wallet_and_coupons(self):
        Program = self.env["loyalty.program"]
        ewallet = Program.create(
            {"name": "LCA eWallet", "program_type": "ewallet", "trigger": "auto"}
        )
        gift = Program.create({"name": "LCA Gift Cards", "program_type": "gift_card"})
        coupons = Program.create(
            {"name": "LCA Coupons", "program_type": "coupons", "trigger": "with_code"}
        )
        Card = self.env["loyalty.card"]
        future = fields.Date.today() + timedelta(days=30)
        Card.create(
            [
                {"program_id": ewallet.id, "partner_id": self.member.id, "points": 35},
                {
                    "program_id": gift.id,
                    "partner_id": self.member.id,
                    "points": 20,
                    "code": "LCA-GIFT-0001",
                    "expiration_date": future,
                },
                {
                    "program_id": coupons.id,
                    "partner_id": self.member.id,
                    "points": 1,
                    "code": "LCA-COUPON-01",
                },
                # Used, expired or someone else's: not shown.
                {
                    "program_id": coupons.id,
                    "partner_id": self.member.id,
                    "points": 0,
                    "code": "LCA-USED-01",
                },
                {
                    "program_id": gift.id,
                    "partner_id": self.member.id,
                    "points": 20,
                    "code": "LCA-EXPIRED-1",
                    "expiration_date": fields.Date.today() - timedelta(days=1),
                },
                {
                    "program_id": gift.id,
                    "partner_id": self.other_partner.id,
                    "points": 20,
                    "code": "LCA-OTTO-0001",
                },
            ]
        )
        self.authenticate("lca_martha", "lca_martha_pw")
        doc = self._page()
        wallet = self._text(doc, "o_loyalty_wallet")
        self.assertIn("eWallet · LCA eWallet", wallet)
        self.assertIn("Gift card · LCA Gift Cards", wallet)
        self.assertIn("Code: LCA-GIFT-0001", wallet)
        self.assertIn("Valid until %s" % format_date(self.env, future), wallet)
        self.assertIn("Coupon · LCA Coupons", wallet)
        self.assertIn("LCA-COUPON-01", wallet)
        for hidden in ("LCA-USED-01", "LCA-EXPIRED-1", "LCA-OTTO-0001"):
            self.assertNotIn(hidden, wallet)
        values = [
            " ".join(v.text_content().split())
            for v in doc.xpath("//div[hasclass('o_loyalty_wallet_value')]")
        ]
        self.assertEqual(len(values), 3)
        self.assertTrue(any("35.00" in value for value in values), values)
        # Otto sees none of Martha's.
        self.authenticate("lca_otto", "lca_otto_pw")
        wallet = self._text(self._page(), "o_loyalty_wallet")
        self.assertIn("LCA-OTTO-0001", wallet)
        self.assertNotIn("LCA-GIFT-0001", wallet)
