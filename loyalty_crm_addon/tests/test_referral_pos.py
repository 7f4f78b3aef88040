# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import Command
from odoo.tests import tagged

from odoo.addons.point_of_sale.tests.common import TestPoSCommon

from .common import LoyaltyPosCase, membership_program_vals


@tagged("post_install", "-at_install")
class TestReferralPos(TestPoSCommon):
    """A referral code sent by the till with a paid order converts the
    referral, as the till's referral button sends it (sync_from_ui)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.config = cls.basic_config
        cls.env["loyalty.program"].search([]).write({"active": False})
        cls.program = cls.env["loyalty.program"].create(
            membership_program_vals(
                "LCA Till Club",
                company_id=cls.env.company.id,
                pos_ok=True,
                pos_config_ids=[Command.link(cls.config.id)],
                loyalty_referrer_points=100,
                loyalty_referee_points=50,
                loyalty_referral_min_amount=50,
            )
        )
        cls.env.company.loyalty_membership_program_id = cls.program
        cls.member = cls.env["res.partner"].create(
            {"name": "Martha Member", "email": "martha@example.com"}
        )
        cls.member.action_loyalty_enroll()
        cls.widget = cls.create_product("LCA Referral Widget", cls.categ_basic, 40.0)
        cls.Referral = cls.env["loyalty.referral"]

    def _sync(self, partner, qty, code=False):
        data = self.create_ui_order_data([(self.widget, qty)], customer=partner)
        data["loyalty_referral_code"] = code
        result = self.env["pos.order"].sync_from_ui([data])
        return self.env["pos.order"].browse(result["pos.order"][0]["id"])

    def test_code_at_the_till_converts(self):
        self.open_new_session()
        friend = self.env["res.partner"].create(
            {"name": "Tim Till", "email": "tim@example.org"}
        )
        # One widget (40.00) is below the program's minimum of 50.
        small = self._sync(friend, 1, code=self.member.loyalty_referral_code.lower())
        self.assertEqual(small.state, "paid")
        self.assertEqual(
            small.loyalty_referral_code, self.member.loyalty_referral_code.lower()
        )
        referral = self.Referral.search([("referee_id", "=", friend.id)])
        self.assertEqual(referral.channel, "pos")
        self.assertEqual(referral.state, "pending")
        self.assertEqual(friend.loyalty_referred_by_id, self.member)

        order = self._sync(friend, 2)
        self.assertEqual(referral.state, "converted")
        self.assertEqual(referral.order_ref, order)
        self.assertEqual(
            sorted(referral.ledger_line_ids.mapped("points")), [50.0, 100.0]
        )
        self.assertEqual(self.member.loyalty_balance, 100.0)
        self.assertTrue(
            self.env["loyalty.member.event"].search(
                [
                    ("event_type", "=", "referral_converted"),
                    ("partner_id", "=", self.member.id),
                ]
            )
        )
        self.assertFalse(self.env["loyalty.ledger.line"]._get_inconsistent_cards())

    def test_unknown_code_does_not_block_the_till(self):
        self.open_new_session()
        friend = self.env["res.partner"].create({"name": "Una Unknown"})
        order = self._sync(friend, 2, code="NOPE-NOPE")
        self.assertEqual(order.state, "paid")
        self.assertFalse(self.Referral.search([("referee_id", "=", friend.id)]))

    def test_fraud_at_the_till(self):
        self.open_new_session()
        twin = self.env["res.partner"].create(
            {"name": "Martha Twin", "email": "MARTHA@example.com"}
        )
        self._sync(twin, 3, code=self.member.loyalty_referral_code)
        referral = self.Referral.search([("referee_id", "=", twin.id)])
        self.assertEqual(referral.state, "rejected")
        self.assertEqual(referral.reject_reason, "same_email")
        self.assertEqual(self.member.loyalty_balance, 0.0)


@tagged("post_install", "-at_install")
class TestReferralPosTour(LoyaltyPosCase):
    """The till's referral button: the cashier types the code, the paid
    order converts the referral."""

    pos_product_name = "LCA Referral Widget"

    def test_referral_button_tour(self):
        self.program.write(
            {"loyalty_referrer_points": 100, "loyalty_referee_points": 50}
        )
        member = self._make_member("AAA LCA Referrer", 0)
        member.sudo().loyalty_referral_code = "LCAA-2345"  # engine field
        friend = self.env["res.partner"].create({"name": "AAA LCA Referred Friend"})

        self.start_pos_tour("loyalty_crm_pos_referral")

        order = self.env["pos.order"].search([("partner_id", "=", friend.id)])
        # Checked at the till as it was typed: stored as the member's code.
        self.assertEqual(order.loyalty_referral_code, "LCAA-2345")
        referral = self.env["loyalty.referral"].search([("referee_id", "=", friend.id)])
        self.assertEqual(referral.channel, "pos")
        self.assertEqual(referral.state, "converted")
        self.assertEqual(referral.order_ref, order)
        self.assertEqual(member.loyalty_balance, 100.0)
