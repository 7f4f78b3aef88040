# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import new_test_user, tagged

from .common import LoyaltyCrmCommon


@tagged("post_install", "-at_install")
class TestMemberStanding(LoyaltyCrmCommon):
    """The contact's balance and tier are searched, sorted and grouped as
    stored fields would be, by a salesperson (not the superuser).

    Members: Zed (0 points, no tier), Hugo (100, Silver), Sixtine (600,
    Gold), the company Acme (700, Gold) and its buyer, who reads Acme's card
    (the member is the commercial partner); Nemo has no card."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Thresholds out of reach: the tiers below are set by hand.
        cls.silver, cls.gold = cls.env["loyalty.tier"].create(
            [
                {"name": "Silver", "program_id": cls.program.id, "threshold": 10**6},
                {"name": "Gold", "program_id": cls.program.id, "threshold": 10**7},
            ]
        )
        cls.salesperson = new_test_user(
            cls.env, login="standing_seller", groups="sales_team.group_sale_salesman"
        )
        Partner = cls.env["res.partner"]
        cls.zed, cls.hugo, cls.sixtine, cls.nemo = Partner.create(
            [{"name": n} for n in ("Zed", "Hugo", "Sixtine", "Nemo")]
        )
        cls.acme = Partner.create({"name": "Acme", "is_company": True})
        cls.buyer = Partner.create({"name": "Acme Buyer", "parent_id": cls.acme.id})
        for partner, points, tier in (
            (cls.zed, 0, False),
            (cls.hugo, 100, cls.silver),
            (cls.sixtine, 600, cls.gold),
            (cls.acme, 700, cls.gold),
        ):
            card = cls.env["loyalty.card"].browse(partner.action_loyalty_enroll())
            if points:
                partner.loyalty_adjust_points(points, "Opening balance")
            if tier:
                cls._set_tier(cls, card, tier)
        cls.people = cls.zed | cls.hugo | cls.sixtine | cls.nemo | cls.acme | cls.buyer

    def _find(self, *domain, order=None):
        Partner = self.env["res.partner"].with_user(self.salesperson)
        return Partner.search([("id", "in", self.people.ids), *domain], order=order)

    def test_fields_show_the_cards(self):
        as_seller = self.people.with_user(self.salesperson)
        self.assertEqual(
            as_seller.mapped("loyalty_balance"), [0.0, 100.0, 600.0, 0.0, 700.0, 700.0]
        )
        self.assertEqual(
            [p.loyalty_tier_id for p in as_seller],
            [
                self.silver.browse(),
                self.silver,
                self.gold,
                self.silver.browse(),
                self.gold,
                self.gold,
            ],
        )

    def test_search_balance_with_every_operator(self):
        zed, hugo, six = self.zed, self.hugo, self.sixtine
        nemo, acme, buyer = self.nemo, self.acme, self.buyer
        cases = [
            (">", 500, six | acme | buyer),
            (">=", 600, six | acme | buyer),
            (">", 0, hugo | six | acme | buyer),
            ("<", 100, zed | nemo),
            ("<=", 100, zed | nemo | hugo),
            ("=", 100, hugo),
            ("=", 0, zed | nemo),
            ("=", False, zed | nemo),
            ("!=", 0, hugo | six | acme | buyer),
            ("!=", 100, zed | nemo | six | acme | buyer),
            ("in", [100, 600], hugo | six),
            ("in", [0, 700], zed | nemo | acme | buyer),
            ("not in", [100, 600], zed | nemo | acme | buyer),
        ]
        for operator, value, expected in cases:
            with self.subTest(operator=operator, value=value):
                self.assertEqual(
                    self._find(("loyalty_balance", operator, value)), expected
                )

    def test_search_tier_with_every_operator(self):
        zed, hugo, six = self.zed, self.hugo, self.sixtine
        nemo, acme, buyer = self.nemo, self.acme, self.buyer
        cases = [
            ("=", self.silver.id, hugo),
            ("=", self.gold.id, six | acme | buyer),
            ("!=", self.gold.id, zed | nemo | hugo),
            ("=", False, zed | nemo),
            ("!=", False, hugo | six | acme | buyer),
            ("in", [self.silver.id, self.gold.id], hugo | six | acme | buyer),
            ("not in", [self.gold.id], zed | nemo | hugo),
            ("ilike", "gol", six | acme | buyer),
            ("not ilike", "gol", zed | nemo | hugo),
        ]
        for operator, value, expected in cases:
            with self.subTest(operator=operator, value=value):
                self.assertEqual(
                    self._find(("loyalty_tier_id", operator, value)), expected
                )

    def test_a_domain_on_the_balance_is_never_ignored(self):
        Partner = self.env["res.partner"].with_user(self.salesperson)
        rich = Partner.search([("loyalty_balance", ">", 500)])
        self.assertTrue(rich)
        self.assertLess(len(rich), Partner.search_count([]))
        self.assertEqual(Partner.search_count([("loyalty_balance", ">", 10**8)]), 0)

    def test_sort_by_balance_and_tier(self):
        zed, hugo, six = self.zed, self.hugo, self.sixtine
        nemo, acme, buyer = self.nemo, self.acme, self.buyer
        self.assertEqual(
            list(self._find(order="loyalty_balance desc, id")),
            list(acme | buyer | six | hugo | zed | nemo),
        )
        self.assertEqual(
            list(self._find(order="loyalty_balance, id")),
            list(zed | nemo | hugo | six | acme | buyer),
        )
        # Tiers in the program's order (Silver, Gold), members without last.
        self.assertEqual(
            list(self._find(order="loyalty_tier_id, id")),
            list(hugo | six | acme | buyer | zed | nemo),
        )

    def test_group_by_tier_and_by_balance(self):
        Partner = self.env["res.partner"].with_user(self.salesperson)
        domain = [("id", "in", self.people.ids)]
        by_tier = {
            tier: (count, points)
            for tier, count, points in Partner._read_group(
                domain, ["loyalty_tier_id"], ["__count", "loyalty_balance:sum"]
            )
        }
        self.assertEqual(
            by_tier,
            {
                self.silver.browse(): (2, 0.0),
                self.silver: (1, 100.0),
                self.gold: (3, 2000.0),
            },
        )
        by_balance = dict(Partner._read_group(domain, ["loyalty_balance"], ["__count"]))
        self.assertEqual(by_balance, {0.0: 2, 100.0: 1, 600.0: 1, 700.0: 2})
        # The web client's call, and the columns it offers to sort and group.
        groups = Partner.web_read_group(
            domain,
            ["loyalty_balance:sum"],
            ["loyalty_tier_id"],
            orderby="loyalty_tier_id",
        )["groups"]
        self.assertEqual(
            [(g["loyalty_tier_id"], g["loyalty_balance"]) for g in groups],
            [
                ((self.silver.id, "Silver"), 100.0),
                ((self.gold.id, "Gold"), 2000.0),
                (False, 0.0),
            ],
        )
        described = Partner.fields_get(
            ["loyalty_balance", "loyalty_tier_id"], ["sortable", "groupable"]
        )
        for fname in ("loyalty_balance", "loyalty_tier_id"):
            self.assertTrue(described[fname]["sortable"], fname)
            self.assertTrue(described[fname]["groupable"], fname)

    def test_another_company_reads_its_own_program(self):
        """The standing is the card of the current company's program: a
        company without a membership program has no member."""
        other = self.env["res.company"].create({"name": "No Club Ltd"})
        self.salesperson.write({"company_ids": [(4, other.id)]})
        Partner = (
            self.env["res.partner"].with_user(self.salesperson).with_company(other)
        )
        domain = [("id", "in", self.people.ids)]
        self.assertFalse(Partner.search([*domain, ("loyalty_balance", ">", 0)]))
        self.assertFalse(Partner.search([*domain, ("loyalty_tier_id", "!=", False)]))
        self.assertEqual(len(Partner.search([*domain, ("loyalty_balance", "=", 0)])), 6)
