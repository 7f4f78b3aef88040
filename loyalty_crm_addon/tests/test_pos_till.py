# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

import odoo.tests
from odoo import Command, fields

from .common import LoyaltyPosCase


@odoo.tests.tagged("post_install", "-at_install")
class TestLoyaltyPosTill(LoyaltyPosCase):
    """The cashier's till: member search, member panel, per-point choice,
    enrollment, receipt, cards of archived programs.

    The tours are in static/tests/tours/loyalty_crm_till_tour.js.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The till preloads two customers only: the others are searched.
        cls.env["ir.config_parameter"].sudo().set_param(
            "point_of_sale.limited_customer_count", 2
        )
        cls.redeem_member.with_user(cls.admin).with_company(
            cls.company
        ).loyalty_adjust_points(150, "More points")
        cls.searched = cls.env["res.partner"].create(
            {
                "name": "Zed Searchable Member",
                "phone": "+32 470 55 12 34",
                "email": "zed.searchable@example.com",
            }
        )
        as_admin = cls.searched.with_user(cls.admin).with_company(cls.company)
        as_admin.action_loyalty_enroll()
        as_admin.loyalty_adjust_points(75, "Welcome points")
        cls.searched.loyalty_card_id.sudo().code = "LCAZED2024"

    def _till_search(self, query, **kwargs):
        return (
            self.env["res.partner"]
            .with_user(self.pos_user)
            .loyalty_pos_search(query, self.main_pos_config.id, **kwargs)
        )

    def test_member_search_keys(self):
        for query in (
            "Zed Searcha",
            "searchable",
            "+32 470 55",
            "zed.searchable@",
            "LCAZED2024",
        ):
            self.assertIn(self.searched.id, self._till_search(query), query)
        self.assertNotIn(self.searched.id, self._till_search("LCAZED"))
        self.assertEqual(self._till_search("   "), [])
        # A word of the name: the second, the third (a surname), any other
        # only when nothing else matched.
        self.assertIn(self.searched.id, self._till_search("member"))
        self.assertIn(self.searched.id, self._till_search("mem"))
        # A barcode of the till's company, whole.
        self.searched.with_company(self.company).barcode = "2400012345678"
        self.assertEqual(self._till_search("2400012345678"), [self.searched.id])
        self.assertNotIn(self.searched.id, self._till_search("240001234567"))
        # Whole codes first, then what starts with the query, by what matched.
        coded = self.env["res.partner"].create({"name": "LCAZED2024 Namesake"})
        self.assertEqual(self._till_search("LCAZED2024"), [self.searched.id, coded.id])
        self.assertEqual(self._till_search("LCAZED2024", limit=1), [self.searched.id])
        self.assertEqual(self._till_search("LCAZED2024", offset=1, limit=1), [coded.id])
        # Another company's customers are not the till's.
        other = self.env["res.company"].create({"name": "LCA Other Co"})
        self.env["res.partner"].create(
            {"name": "Zed Other Company", "company_id": other.id}
        )
        self.assertEqual(self._till_search("Zed Other"), [])
        # One call gives the till the partners and their standing.
        found = (
            self.env["res.partner"]
            .with_user(self.pos_user)
            .loyalty_pos_find("Zed Searcha", self.main_pos_config.id)
        )
        self.assertEqual(found["ids"], [self.searched.id])
        self.assertEqual(found["partners"][0]["name"], "Zed Searchable Member")
        member = found["members"][str(self.searched.id)]
        self.assertTrue(member["is_member"])
        self.assertEqual(member["balance"], 75.0)
        self.searched.active = False
        self.assertNotIn(self.searched.id, self._till_search("Zed Searcha"))

    def test_pos_member_search_tour(self):
        self.start_pos_tour("loyalty_crm_till_search")

    def test_pos_member_search_referral_tour(self):
        if "loyalty_referral_code" not in self.env["res.partner"]._fields:
            self.skipTest("referral codes are not installed")
        self.searched.sudo().loyalty_referral_code = "ZEDREF77"
        self.assertIn(self.searched.id, self._till_search("ZEDREF77"))
        self.start_pos_tour("loyalty_crm_till_search_referral")

    def test_pos_member_panel_tour(self):
        Tier = self.env["loyalty.tier"].sudo()
        silver = Tier.create(
            {"name": "Silver", "program_id": self.program.id, "threshold": 100}
        )
        Tier.create({"name": "Gold", "program_id": self.program.id, "threshold": 2000})
        member = self._make_member("AAA LCA Panel Member", 0)
        card = self._card(member)
        today = fields.Date.today()
        self.Ledger._post(
            [
                self.Ledger._prepare_line(
                    card, "bonus", 1200, source="manual", description="Welcome"
                ),
                self.Ledger._prepare_line(
                    card,
                    "bonus",
                    34.5,
                    source="manual",
                    description="Soon gone",
                    expiry_date=today + timedelta(days=10),
                ),
                self.Ledger._prepare_line(
                    card,
                    "earn",
                    40,
                    source="manual",
                    description="Pending",
                    state="pending",
                    release_date=today + timedelta(days=14),
                ),
            ]
        )
        info = member.with_user(self.pos_user).loyalty_pos_member_info(
            self.main_pos_config.id
        )[str(member.id)]
        self.assertEqual(info["tier"], "Silver")
        self.assertEqual(member.loyalty_tier_id, silver)
        self.assertAlmostEqual(info["balance"], 1234.5)
        self.assertAlmostEqual(info["pending"], 40)
        self.assertAlmostEqual(info["expiring"], 34.5)
        self.assertEqual(info["next_tier"], "Gold")
        # Qualifying points count the pending ones: 2000 - 1274.50.
        self.assertAlmostEqual(info["points_to_next_tier"], 725.5)

        self.start_pos_tour("loyalty_crm_till_panel")

    def test_pos_partial_points_redemption_tour(self):
        self.program.sudo().reward_ids = [
            Command.create(
                {
                    "reward_type": "discount",
                    "discount_mode": "per_point",
                    "discount": 0.1,
                    "discount_applicability": "order",
                    "required_points": 1,
                    "description": "LCA points discount",
                }
            )
        ]
        self.assertLedgerMatches(self.redeem_member, 300)

        self.start_pos_tour("loyalty_crm_till_partial")

        order = self._member_order(self.redeem_member)
        self.assertAlmostEqual(order.amount_total, 38.0)
        redeem = order.loyalty_ledger_line_ids.filtered(
            lambda ln: ln.entry_type == "redeem"
        )
        self.assertRecordValues(redeem, [{"points": -120.0}])
        # The order earns on its items (50.00): its own discount is not
        # deducted, as the server computes till points.
        earn = order.loyalty_ledger_line_ids.filtered(
            lambda ln: ln.entry_type == "earn"
        )
        self.assertRecordValues(earn, [{"points": 50.0}])
        self.assertLedgerMatches(self.redeem_member, 300 - 120 + 50)

    def test_pos_enroll_tour(self):
        walk_in = self.env["res.partner"].create({"name": "AAA LCA Walk-in"})
        self.assertFalse(walk_in.loyalty_card_id)

        self.start_pos_tour("loyalty_crm_till_enroll")

        card = self._card(walk_in)
        order = self._member_order(walk_in)
        self.assertRecordValues(
            order.loyalty_ledger_line_ids, [{"entry_type": "earn", "points": 50.0}]
        )
        self.assertLedgerMatches(walk_in, 50)
        self.assertEqual(card.program_id, self.program)

    def test_pos_offline_retry_tour(self):
        """The till loses its connection (Odoo's offline handling): the
        enrollment and the member search fail with a message, the cashier
        goes on with the order, and both succeed when retried online."""
        walk_in = self.env["res.partner"].create({"name": "AAA LCA Walk-in"})

        self.start_pos_tour("loyalty_crm_till_offline")

        card = self._card(walk_in)
        self.assertEqual(card.program_id, self.program)
        order = self._member_order(walk_in)
        self.assertRecordValues(
            order.loyalty_ledger_line_ids, [{"entry_type": "earn", "points": 50.0}]
        )
        self.assertLedgerMatches(walk_in, 50)

    def test_pos_card_of_archived_program_tour(self):
        old = self.env["loyalty.program"].create(
            {
                "name": "LCA Old Club",
                "program_type": "loyalty",
                "company_id": self.company.id,
                "pos_ok": True,
                "pos_config_ids": [Command.link(self.main_pos_config.id)],
                "reward_ids": [
                    Command.create(
                        {
                            "reward_type": "discount",
                            "discount_mode": "per_order",
                            "discount": 5,
                            "required_points": 10,
                            "description": "LCA Old 5 off",
                        }
                    )
                ],
            }
        )
        old_card = self.env["loyalty.card"].create(
            {"program_id": old.id, "partner_id": self.redeem_member.id}
        )
        # A draft order of the session points at the old program's card.
        self.env["pos.order"].create(
            {
                "session_id": self.main_pos_config.current_session_id.id,
                "partner_id": self.redeem_member.id,
                "amount_tax": 0,
                "amount_total": 45,
                "amount_paid": 0,
                "amount_return": 0,
                "lines": [
                    Command.create(
                        {
                            "product_id": self.product.id,
                            "qty": 1,
                            "price_unit": 50,
                            "price_subtotal": 50,
                            "price_subtotal_incl": 50,
                        }
                    ),
                    Command.create(
                        {
                            "product_id": old.reward_ids.discount_line_product_id.id,
                            "qty": 1,
                            "price_unit": -5,
                            "price_subtotal": -5,
                            "price_subtotal_incl": -5,
                            "is_reward_line": True,
                            "reward_id": old.reward_ids.id,
                            "coupon_id": old_card.id,
                            "points_cost": 10,
                        }
                    ),
                ],
            }
        )
        old.active = False

        self.start_pos_tour("loyalty_crm_till_archived")

        self.assertLedgerMatches(self.redeem_member, 350)
