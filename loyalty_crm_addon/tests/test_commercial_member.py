# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date

from odoo import fields
from odoo.exceptions import UserError
from odoo.fields import Command
from odoo.tests import new_test_user, tagged

from .common import LoyaltyCrmCommon, LoyaltyPosCase


@tagged("post_install", "-at_install")
class TestCommercialMember(LoyaltyCrmCommon):
    """The member is the commercial partner, and Odoo's own operations on
    contacts (merge, duplicate, archive, change of company) work on
    members, as the people who do them: a salesperson, the administrator."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesperson = new_test_user(
            cls.env, "cm_sales", groups="sales_team.group_sale_salesman"
        )
        cls.admin = cls.env.ref("base.user_admin")
        cls.gold = cls.env["loyalty.tier"].create(
            {"name": "Gold", "program_id": cls.program.id, "threshold": 500}
        )
        cls.acme = cls.env["res.partner"].create(
            {"name": "Acme Corp", "is_company": True, "email": "acme@example.com"}
        )
        cls.acme_card = cls.env["loyalty.card"].browse(cls.acme.action_loyalty_enroll())
        cls.buyer = cls.env["res.partner"].create(
            {"name": "Bob Buyer", "parent_id": cls.acme.id, "email": "bob@acme.com"}
        )

    def _cards(self, partner):
        return (
            self.env["loyalty.card"]
            .with_context(active_test=False)
            .search(
                [("program_id", "=", self.program.id), ("partner_id", "=", partner.id)]
            )
        )

    # ------------------------------------------------------------------
    # Merge (Odoo's Merge action, as the administrator)
    # ------------------------------------------------------------------
    def _merge_as_admin(self, partners, dst):
        wizard = (
            self.env["base.partner.merge.automatic.wizard"]
            .with_user(self.admin)
            .create(
                {
                    "partner_ids": [Command.set(partners.ids)],
                    "dst_partner_id": dst.id,
                }
            )
        )
        wizard.action_merge()

    def test_merge_as_administrator(self):
        twin = self.env["res.partner"].create(
            {"name": "Martha Member (dup)", "email": "martha@example.com"}
        )
        twin_card = self.env["loyalty.card"].browse(
            twin.with_user(self.admin).action_loyalty_enroll()
        )
        self._confirmed_order(qty=10)  # Martha earns 200
        twin_order = self._confirmed_order(twin, qty=10, price=35.0)  # 350
        twin.with_user(self.admin).loyalty_adjust_points(30, "Goodwill")
        self.assertEqual((self.card.points, twin_card.points), (200, 380))
        self.assertFalse(self.card.loyalty_tier_id, "200 qualifying points")
        lines = self.Ledger.search([("card_id", "in", (self.card | twin_card).ids)])
        code = self.member.loyalty_referral_code
        self.assertTrue(code and twin.loyalty_referral_code)
        # Martha's last activity is older than her twin's.
        self.env.cr.execute(
            "UPDATE res_partner SET loyalty_last_activity_date = '2020-01-01'"
            " WHERE id = %s",
            [self.member.id],
        )
        self.member.invalidate_recordset(["loyalty_last_activity_date"])

        self._merge_as_admin(self.member | twin, self.member)

        self.assertFalse(twin.exists())
        self.env.invalidate_all()
        cards = self._cards(self.member)
        self.assertEqual(cards.filtered("active"), self.card, "one card left")
        self.assertEqual(self.card.points, 580, "the balances are added")
        self.assertEqual(self.member.loyalty_balance, 580)
        self.assertFalse(twin_card.active)
        self.assertEqual(twin_card.loyalty_merged_into_id, self.card)
        self.assertEqual(twin_card.points, 0)
        # Every line is kept, now the kept contact's.
        self.assertEqual(lines.exists(), lines)
        self.assertEqual(lines.partner_id, self.member)
        moved = self.Ledger.search(
            [("description", "=", "Contacts merged into Martha Member")]
        )
        self.assertEqual(
            sorted((ln.card_id.id, ln.points, ln.source) for ln in moved),
            sorted([(self.card.id, 380, "import"), (twin_card.id, -380, "import")]),
        )
        # 200 + 350 qualifying points: Gold, and the tier review agrees.
        self.assertEqual(self.card.loyalty_tier_id, self.gold)
        self.env["loyalty.tier"]._cron_review_tiers()
        self.assertEqual(self.card.loyalty_tier_id, self.gold)
        # Engine figures: the kept code, the later day.
        self.assertEqual(self.member.loyalty_referral_code, code)
        self.assertEqual(
            self.member.loyalty_last_activity_date,
            fields.Date.context_today(self.member),
        )
        self.assertLedgerMatches()
        self.assertLedgerMatches(twin_card)
        # A credit note of the twin's order takes back on the kept card.
        invoice = twin_order._create_invoices()
        invoice.action_post()
        invoice._reverse_moves().action_post()
        reversal = self._lines(entry_type="reversal")
        self.assertEqual(reversal.points, -350)
        self.assertEqual(self.card.points, 230)
        self.assertLedgerMatches()

    def test_merge_keeps_a_referral_code_and_pending_points(self):
        """The kept contact without a code takes the merged member's; the
        merged card's pending points wait on the kept card."""
        self.program.loyalty_pending_days = 14
        plain = self.env["res.partner"].create(
            {"name": "Martha M.", "email": "martha@example.com"}
        )
        self.assertFalse(plain.loyalty_referral_code)
        code = self.member.loyalty_referral_code
        self._confirmed_order(qty=5)  # 100 pending on Martha's card
        self._merge_as_admin(self.member | plain, plain)
        self.assertEqual(plain.loyalty_referral_code, code)
        self.env.invalidate_all()
        self.assertEqual(self.card.partner_id, plain, "her card is kept")
        self.assertEqual(plain.loyalty_pending_balance, 100)
        self.assertLedgerMatches()

    def test_merge_two_cards_pending_points_follow(self):
        self.program.loyalty_pending_days = 14
        twin = self.env["res.partner"].create({"name": "Martha (dup)"})
        twin.action_loyalty_enroll()
        twin_card = twin.loyalty_card_id
        self._confirmed_order(twin, qty=5)  # 100 pending on the twin's card
        self._merge_as_admin(self.member | twin, self.member)
        self.env.invalidate_all()
        self.assertEqual(self.member.loyalty_pending_balance, 100)
        # Released: on the kept card, none left on the merged one.
        self.env.cr.execute(
            "UPDATE loyalty_ledger_line SET release_date = %s WHERE state = 'pending'",
            [date(2000, 1, 1)],
        )
        self.env.invalidate_all()
        self.Ledger._cron_release_pending()
        self.env.invalidate_all()
        self.assertEqual((self.card.points, twin_card.points), (100, 0))
        self.assertLedgerMatches()
        self.assertLedgerMatches(twin_card)

    # ------------------------------------------------------------------
    # Duplicate, archive, change of company
    # ------------------------------------------------------------------
    def test_duplicate_member(self):
        self._confirmed_order()
        copy = self.member.with_user(self.salesperson).copy()
        self.assertFalse(copy.loyalty_card_ids)
        self.assertFalse(copy.loyalty_card_id)
        self.assertFalse(copy.loyalty_referral_code)
        self.assertFalse(copy.loyalty_last_activity_date)
        self.assertEqual(copy.loyalty_balance, 0)
        # A buyer's copy buys for the same company: the company's standing.
        buyer_copy = self.buyer.with_user(self.salesperson).copy()
        self.assertFalse(buyer_copy.loyalty_card_ids)
        self.assertEqual(buyer_copy.loyalty_card_id, self.acme_card)

    def test_archive_member(self):
        self._give_points(100)
        self.member.with_user(self.salesperson).action_archive()
        self.assertFalse(self.member.active)
        self.assertTrue(self.card.active)
        self.assertEqual(self.card.points, 100)
        with self.assertRaisesRegex(UserError, "archived"):
            self.member.loyalty_redeem_points(10, "Mug")
        self.member.with_user(self.salesperson).action_unarchive()
        self.member.loyalty_redeem_points(10, "Mug")
        self.assertLedgerMatches()

    def test_member_joins_a_company(self):
        """A member who joins a company keeps their card and its points
        (their history); they buy for the company from then on."""
        self._give_points(120)
        self.member.with_user(self.salesperson).parent_id = self.acme
        self.assertEqual(self.card.partner_id, self.member)
        self.assertEqual(self.card.points, 120)
        self.assertEqual(self.member.commercial_partner_id, self.acme)
        self.assertEqual(self.member.loyalty_card_id, self.acme_card)
        order = self._confirmed_order(qty=2)
        self.assertEqual(order.loyalty_ledger_line_ids.card_id, self.acme_card)
        self.assertEqual(self.card.points, 120)
        # Joining a company without a card: their own card shows until then.
        newco = self.env["res.partner"].create({"name": "Newco", "is_company": True})
        self.member.with_user(self.salesperson).parent_id = newco
        self.assertEqual(self.member.loyalty_card_id, self.card)
        self.assertEqual(self.member.loyalty_balance, 120)
        self.assertLedgerMatches()

    # ------------------------------------------------------------------
    # Sales: a company's buyer
    # ------------------------------------------------------------------
    def _buyer_order(self, qty=5, price=20.0, partner=None):
        order = (
            self.env["sale.order"]
            .with_user(self.salesperson)
            .create(
                {
                    "partner_id": (partner or self.buyer).id,
                    "order_line": [
                        Command.create(
                            {
                                "product_id": self.product.id,
                                "product_uom_qty": qty,
                                "price_unit": price,
                            }
                        )
                    ],
                }
            )
        )
        order._update_programs_and_rewards()
        return order

    def test_buyer_order_earns_on_company_card(self):
        order = self._buyer_order()
        # Updated again (a line changed): the company's card stays.
        order._update_programs_and_rewards()
        self.assertEqual(order.coupon_point_ids.coupon_id, self.acme_card)
        self.assertEqual(order.coupon_point_ids.points, 100)
        order.action_confirm()
        self.assertFalse(self._cards(self.buyer), "no card of the buyer's own")
        self.assertEqual(self.acme_card.points, 100)
        line = order.loyalty_ledger_line_ids
        self.assertEqual((line.card_id, line.partner_id), (self.acme_card, self.acme))
        self.assertEqual(self.buyer.loyalty_balance, 100)
        self.assertEqual(self.buyer.loyalty_card_id, self.acme_card)
        self.assertLedgerMatches(self.acme_card)

    def test_buyer_spends_company_points(self):
        self.acme.loyalty_adjust_points(150, "Welcome")
        order = self._buyer_order(qty=1)
        self.assertIn(self.acme_card, order.applied_coupon_ids)
        result = order._apply_program_reward(self.reward, self.acme_card)
        self.assertNotIn("error", result)
        order._update_programs_and_rewards()
        self.assertTrue(order.order_line.filtered("is_reward_line"))
        order.action_confirm()
        self.assertEqual(
            sorted(order.loyalty_ledger_line_ids.mapped("points")), [-100, 20]
        )
        self.assertEqual(self.acme_card.points, 70)
        self.assertLedgerMatches(self.acme_card)

    def test_buyer_credit_note_reverses_on_company_card(self):
        order = self._buyer_order(qty=4, price=25.0)
        order.action_confirm()
        self.assertEqual(self.acme_card.points, 100)
        invoice = order._create_invoices()
        invoice.action_post()
        refund = invoice._reverse_moves()
        refund.invoice_line_ids.quantity = 1
        refund.action_post()
        reversal = self._lines(self.acme_card, entry_type="reversal")
        self.assertEqual((reversal.points, reversal.move_id), (-25, refund))
        self.assertEqual(self.acme_card.points, 75)
        self.assertLedgerMatches(self.acme_card)

    def test_buyer_of_a_new_company_enrols_the_company(self):
        newco = self.env["res.partner"].create({"name": "Newco", "is_company": True})
        buyer = self.env["res.partner"].create(
            {"name": "Nina Newco", "parent_id": newco.id}
        )
        order = self._buyer_order(partner=buyer)
        order.action_confirm()
        self.assertFalse(self._cards(buyer))
        card = self._cards(newco)
        self.assertEqual(len(card), 1)
        self.assertEqual(card.points, 100)
        self.assertEqual(buyer.loyalty_card_id, card)
        self.assertLedgerMatches(card)


@tagged("post_install", "-at_install")
class TestCommercialMemberPos(LoyaltyPosCase):
    """A company's buyer at the till earns on the company's card."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.acme = cls._make_member("AAA LCA Acme", 100)
        cls.acme.is_company = True
        cls.buyer = cls.env["res.partner"].create(
            {"name": "AAA LCA Acme Buyer", "parent_id": cls.acme.id}
        )

    def _sync(self, data):
        result = self.env["pos.order"].with_user(self.pos_user).sync_from_ui([data])
        return self.env["pos.order"].browse(result["pos.order"][0]["id"])

    def _buyer_cards(self):
        return self.env["loyalty.card"].search([("partner_id", "=", self.buyer.id)])

    def test_buyer_till_order_earns_on_company_card(self):
        card = self._card(self.acme)
        data = self._order_data(self.acme, qty=2)
        data["partner_id"] = self.buyer.id
        order = self._sync(data)
        # The till shows and uses the company's card (member panel).
        result = order.with_user(self.pos_user).confirm_coupon_programs(
            {
                str(card.id): {
                    "points": 100.0,
                    "program_id": self.program.id,
                    "coupon_id": card.id,
                    "barcode": False,
                    "partner_id": self.buyer.id,
                }
            }
        )
        self.assertEqual(result["coupon_updates"][0]["id"], card.id)
        self.assertEqual(order.loyalty_ledger_line_ids.card_id, card)
        self.assertEqual(order.loyalty_ledger_line_ids.points, 100)
        self.assertFalse(self._buyer_cards())
        self.assertLedgerMatches(self.acme, 200)
        info = self.buyer.with_user(self.pos_user).loyalty_pos_member_info(
            self.main_pos_config.id
        )[str(self.buyer.id)]
        self.assertEqual((info["card_id"], info["balance"]), (card.id, 200))

    def test_till_new_card_of_a_buyer_is_the_company_card(self):
        """A till that made a card for the buyer (the company's unknown to
        it) gets the company's card back in its place."""
        card = self._card(self.acme)
        data = self._order_data(self.acme, qty=1)
        data["partner_id"] = self.buyer.id
        order = self._sync(data)
        result = order.with_user(self.pos_user).confirm_coupon_programs(
            {
                "-7": {
                    "points": 50.0,
                    "program_id": self.program.id,
                    "coupon_id": -7,
                    "barcode": False,
                    "partner_id": self.buyer.id,
                }
            }
        )
        update = result["coupon_updates"][0]
        self.assertEqual((update["old_id"], update["id"]), (-7, card.id))
        self.assertFalse(self._buyer_cards())
        self.assertLedgerMatches(self.acme, 150)

    def test_buyer_of_a_company_without_card(self):
        newco = self.env["res.partner"].create(
            {"name": "AAA LCA Newco", "is_company": True}
        )
        buyer = self.env["res.partner"].create(
            {"name": "AAA LCA Newco Buyer", "parent_id": newco.id}
        )
        data = self._order_data(self.earn_member, qty=1)
        data["partner_id"] = buyer.id
        order = self._sync(data)
        order.with_user(self.pos_user).confirm_coupon_programs(
            {
                "-8": {
                    "points": 50.0,
                    "program_id": self.program.id,
                    "coupon_id": -8,
                    "barcode": False,
                    "partner_id": buyer.id,
                }
            }
        )
        self.assertFalse(
            self.env["loyalty.card"].search([("partner_id", "=", buyer.id)])
        )
        self.assertLedgerMatches(newco, 50)
