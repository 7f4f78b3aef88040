# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import odoo.tests
from odoo import Command
from odoo.exceptions import UserError

from odoo.addons.point_of_sale.tests.test_frontend import TestPointOfSaleHttpCommon

from .common import make_rule


class LoyaltyPosCase(TestPointOfSaleHttpCommon):
    """A membership program at the till and three members (fixtures)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Only our membership program runs at the till.
        cls.env["loyalty.program"].search([]).write({"active": False})

        cls.company = cls.main_pos_config.company_id
        cls.product = cls.env["product.product"].create(
            {
                "name": "LCA Tour Widget",
                "available_in_pos": True,
                "list_price": 50.0,
                "taxes_id": False,
            }
        )
        cls.program = cls.env["loyalty.program"].create(
            {
                "name": "LCA Membership",
                "portal_visible": True,
                "portal_point_name": "LCA Points",
                "program_type": "loyalty",
                "trigger": "auto",
                "applies_on": "both",
                "company_id": cls.company.id,
                "pos_ok": True,
                "pos_config_ids": [Command.link(cls.main_pos_config.id)],
                "rule_ids": [
                    Command.clear(),
                    Command.create(
                        {
                            "reward_point_mode": "money",
                            "reward_point_amount": 1,
                            "minimum_amount": 0,
                        }
                    ),
                ],
                "reward_ids": [
                    Command.clear(),
                    Command.create(
                        {
                            "reward_type": "discount",
                            "discount_mode": "per_order",
                            "discount": 10,
                            "discount_applicability": "order",
                            "required_points": 100,
                            "description": "LCA 10 off your order",
                        }
                    ),
                ],
            }
        )
        cls.reward = cls.program.reward_ids
        cls.company.loyalty_membership_program_id = cls.program
        cls.env.company.loyalty_membership_program_id = cls.program

        # Points are given by hand by the administrator (loyalty manager).
        cls.admin = cls.env.ref("base.user_admin")
        cls.admin.sudo().company_ids = [Command.link(cls.company.id)]
        cls.earn_member = cls._make_member("AAA LCA Earn Member", 200)
        cls.redeem_member = cls._make_member("AAA LCA Redeem Member", 150)
        cls.refund_member = cls._make_member("AAA LCA Refund Member", 0)
        cls.Ledger = cls.env["loyalty.ledger.line"]

    @classmethod
    def _make_member(cls, name, points):
        partner = cls.env["res.partner"].create({"name": name})
        as_admin = partner.with_user(cls.admin).with_company(cls.company)
        as_admin.action_loyalty_enroll()
        if points:
            as_admin.loyalty_adjust_points(points, "Welcome points")
        return partner

    def setUp(self):
        super().setUp()
        self.main_pos_config.write(
            {"tax_regime_selection": False, "use_pricelist": False}
        )
        self.main_pos_config.with_user(self.pos_user).open_ui()

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------
    def _card(self, partner):
        card = self.env["loyalty.card"].search(
            [("program_id", "=", self.program.id), ("partner_id", "=", partner.id)]
        )
        self.assertEqual(len(card), 1, "a member has one membership card")
        return card

    def _member_order(self, partner):
        order = self.env["pos.order"].search([("partner_id", "=", partner.id)])
        self.assertEqual(len(order), 1, "the tour made one order for the member")
        return order

    def assertLedgerMatches(self, partner, expected):
        """The card, the posted lines and the partner agree on ``expected``."""
        card = self._card(partner)
        self.env.invalidate_all()
        posted = self.Ledger.search(
            [("card_id", "=", card.id), ("state", "=", "posted")]
        )
        self.assertAlmostEqual(card.points, expected, places=2)
        self.assertAlmostEqual(sum(posted.mapped("points")), expected, places=2)
        self.assertAlmostEqual(partner.loyalty_balance, expected, places=2)
        self.assertEqual(partner.loyalty_card_id, card)

    def _pay(self, order):
        ctx = {"active_ids": order.ids, "active_id": order.id}
        self.env["pos.make.payment"].with_context(**ctx).create(
            {
                "amount": order.amount_total,
                "payment_method_id": self.main_pos_config.payment_method_ids.filtered(
                    "is_cash_count"
                )[:1].id,
            }
        ).with_context(**ctx).check()


@odoo.tests.tagged("post_install", "-at_install")
class TestLoyaltyPosTour(LoyaltyPosCase):
    """Points earned and spent at the till land in the ledger.

    The tours are in static/tests/tours/loyalty_crm_pos_tour.js.
    """

    # ------------------------------------------------------------------
    # Tours
    # ------------------------------------------------------------------
    def test_pos_earn_tour(self):
        self.assertLedgerMatches(self.earn_member, 200)

        self.start_pos_tour("loyalty_crm_pos_earn")

        order = self._member_order(self.earn_member)
        self.assertIn(order.state, ("paid", "done", "invoiced"))
        self.assertAlmostEqual(order.amount_total, 50.0)
        self.assertAlmostEqual(order.amount_paid, 50.0)
        card = self._card(self.earn_member)
        lines = order.loyalty_ledger_line_ids
        self.assertEqual(lines.mapped("entry_type"), ["earn"])
        self.assertRecordValues(
            lines,
            [
                {
                    "card_id": card.id,
                    "partner_id": self.earn_member.id,
                    "points": 50.0,
                    "state": "posted",
                    "source": "pos",
                    "reference": order.name,
                }
            ],
        )
        self.assertAlmostEqual(order.loyalty_points_earned, 50.0)
        self.assertAlmostEqual(order.loyalty_points_spent, 0.0)
        self.assertLedgerMatches(self.earn_member, 250)
        # today where the till's user is (New York), as the order was posted
        self.assertEqual(
            self.earn_member.loyalty_last_activity_date,
            odoo.fields.Date.context_today(
                self.earn_member.with_context(tz=self.pos_user.tz)
            ),
        )

    def test_pos_tier_multiplier_and_upgrade_tour(self):
        silver, gold = (
            self.env["loyalty.tier"]
            .sudo()
            .create(
                [
                    {
                        "name": "Silver",
                        "program_id": self.program.id,
                        "threshold": 30,
                        "earn_multiplier": 2.0,
                        "sequence": 1,
                    },
                    {
                        "name": "Gold",
                        "program_id": self.program.id,
                        "threshold": 200,
                        "sequence": 2,
                    },
                ]
            )
        )
        self.reward.sudo().tier_ids = gold
        member = self._make_member("AAA LCA Tier Member", 0)
        card = self._card(member)
        self.Ledger._post(
            [
                self.Ledger._prepare_line(
                    card, "bonus", 140, source="manual", description="Welcome"
                )
            ]
        )
        self.assertEqual(
            member.loyalty_tier_id, silver, "140 qualifying points: Silver"
        )
        # 140 points would pay the reward, but it is kept for Gold.
        self.assertEqual(card.points, 140)

        self.start_pos_tour("loyalty_crm_pos_tier")

        order = self._member_order(member)
        earn = order.loyalty_ledger_line_ids
        self.assertRecordValues(
            earn, [{"entry_type": "earn", "points": 100.0, "multiplier": 2.0}]
        )
        self.assertEqual(
            member.loyalty_tier_id, gold, "240 qualifying points: Gold at once"
        )
        event = self.env["loyalty.member.event"].search(
            [("partner_id", "=", member.id), ("event_type", "=", "tier_upgrade")],
            order="id desc",
            limit=1,
        )
        self.assertEqual((event.previous_tier_id, event.tier_id), (silver, gold))
        self.assertLedgerMatches(member, 240)

    def test_pos_refuses_tier_only_reward_to_lower_tier(self):
        gold = (
            self.env["loyalty.tier"]
            .sudo()
            .create({"name": "Gold", "program_id": self.program.id, "threshold": 1000})
        )
        self.reward.sudo().tier_ids = gold
        order = self.env["pos.order"].create(
            {
                "session_id": self.main_pos_config.current_session_id.id,
                "partner_id": self.redeem_member.id,
                "amount_tax": 0,
                "amount_total": 40,
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
                            "product_id": self.reward.discount_line_product_id.id,
                            "qty": 1,
                            "price_unit": -10,
                            "price_subtotal": -10,
                            "price_subtotal_incl": -10,
                            "is_reward_line": True,
                            "reward_id": self.reward.id,
                            "coupon_id": self._card(self.redeem_member).id,
                            "points_cost": 100,
                        }
                    ),
                ],
            }
        )
        with self.assertRaises(UserError):
            order._loyalty_check_tier_rewards()

    def test_pos_redeem_tour(self):
        self.assertLedgerMatches(self.redeem_member, 150)

        self.start_pos_tour("loyalty_crm_pos_redeem")

        order = self._member_order(self.redeem_member)
        self.assertIn(order.state, ("paid", "done", "invoiced"))
        self.assertAlmostEqual(order.amount_total, 40.0)
        reward_line = order.lines.filtered("is_reward_line")
        self.assertEqual(reward_line.reward_id, self.reward)
        self.assertAlmostEqual(reward_line.price_subtotal_incl, -10.0)
        card = self._card(self.redeem_member)
        self.assertEqual(reward_line.coupon_id, card)

        redeem = order.loyalty_ledger_line_ids.filtered(
            lambda ln: ln.entry_type == "redeem"
        )
        earn = order.loyalty_ledger_line_ids.filtered(
            lambda ln: ln.entry_type == "earn"
        )
        self.assertEqual(len(order.loyalty_ledger_line_ids), 2)
        self.assertRecordValues(
            redeem,
            [
                {
                    "card_id": card.id,
                    "points": -self.reward.required_points,
                    "state": "posted",
                    "source": "pos",
                }
            ],
        )
        # Points are won on the products, not on the program's own discount.
        self.assertRecordValues(
            earn, [{"card_id": card.id, "points": 50.0, "state": "posted"}]
        )
        self.assertAlmostEqual(order.loyalty_points_spent, 100.0)
        self.assertAlmostEqual(order.loyalty_points_earned, 50.0)
        self.assertLedgerMatches(self.redeem_member, 150 + 50 - 100)

    def test_pos_pending_points_tour(self):
        """Points the order earns are pending: the till does not offer the
        reward they would pay for."""
        self.program.sudo().loyalty_pending_days = 14
        self.start_pos_tour("loyalty_crm_pos_pending")
        order = self._member_order(self.refund_member)
        self.assertRecordValues(
            order.loyalty_ledger_line_ids,
            [{"entry_type": "earn", "points": 150.0, "state": "pending"}],
        )
        self.assertFalse(order.lines.filtered("is_reward_line"))
        self.assertLedgerMatches(self.refund_member, 0)

    def test_pos_held_points_tour(self):
        """Another till holds 120 of the member's 150 points: this till is
        told at validation, before the customer pays; nothing is written."""
        card = self._card(self.redeem_member)
        till2 = self.env["pos.config"].create({"name": "LCA Till 2"})
        self.env["loyalty.points.hold"]._create_holds(
            "other-till-order", {card: 120.0}, config=till2
        )
        self.start_pos_tour("loyalty_crm_pos_held")
        self.assertFalse(
            self.env["pos.order"].search(
                [("partner_id", "=", self.redeem_member.id), ("state", "!=", "draft")]
            )
        )
        self.assertEqual(
            self.env["loyalty.points.hold"]
            .search([("card_id", "=", card.id)])
            .mapped("order_uuid"),
            ["other-till-order"],
        )
        self.assertLedgerMatches(self.redeem_member, 150)

    # ------------------------------------------------------------------
    # Refund (no browser)
    # ------------------------------------------------------------------
    def _till_order(self, partner, qty):
        """A paid POS order for ``partner``, then the call the browser makes
        once the order is synced (pos_loyalty's _postProcessLoyalty)."""
        session = self.main_pos_config.current_session_id
        order = self.env["pos.order"].create(
            {
                "company_id": self.company.id,
                "session_id": session.id,
                "partner_id": partner.id,
                "lines": [
                    Command.create(
                        {
                            "name": "OL/0001",
                            "product_id": self.product.id,
                            "price_unit": 50.0,
                            "qty": qty,
                            "tax_ids": [Command.clear()],
                            "price_subtotal": 50.0 * qty,
                            "price_subtotal_incl": 50.0 * qty,
                        }
                    )
                ],
                "amount_total": 50.0 * qty,
                "amount_tax": 0.0,
                "amount_paid": 0.0,
                "amount_return": 0.0,
                "last_order_preparation_change": "{}",
            }
        )
        self._pay(order)
        self.assertEqual(order.state, "paid")
        card = self._card(partner)
        coupon_data = {
            str(card.id): {
                "points": 50.0 * qty,
                "program_id": self.program.id,
                "coupon_id": card.id,
                "barcode": False,
                "partner_id": partner.id,
            }
        }
        result = order.with_user(self.pos_user).confirm_coupon_programs(coupon_data)
        self.assertEqual(
            result["coupon_updates"],
            [
                {
                    "old_id": card.id,
                    "id": card.id,
                    "points": 50.0 * qty,
                    "code": card.code,
                    "program_id": self.program.id,
                    "partner_id": partner.id,
                }
            ],
        )
        return order

    def _refund(self, order):
        refund = self.env["pos.order"].browse(order.refund()["res_id"])
        return refund

    def test_pos_refund_reverses_points(self):
        order = self._till_order(self.refund_member, 2)
        earn = order.loyalty_ledger_line_ids
        self.assertRecordValues(earn, [{"entry_type": "earn", "points": 100.0}])
        self.assertLedgerMatches(self.refund_member, 100)

        refund = self._refund(order)
        self.assertAlmostEqual(refund.amount_total, -100.0)
        self.assertFalse(refund.loyalty_ledger_line_ids, "nothing before payment")
        self._pay(refund)
        self.assertEqual(refund.state, "paid")

        self.assertRecordValues(
            refund.loyalty_ledger_line_ids,
            [
                {
                    "entry_type": "reversal",
                    "points": -100.0,
                    "reversed_line_id": earn.id,
                    "state": "posted",
                    "source": "pos",
                    "reference": refund.name,
                }
            ],
        )
        self.assertFalse(order.loyalty_ledger_line_ids - earn)
        self.assertAlmostEqual(earn.points_residual, 0.0)
        self.assertLedgerMatches(self.refund_member, 0)

    def test_pos_partial_refund_reverses_in_proportion(self):
        order = self._till_order(self.refund_member, 2)
        earn = order.loyalty_ledger_line_ids
        self.assertLedgerMatches(self.refund_member, 100)

        # Give back one of the two widgets.
        refund = self._refund(order)
        refund.lines.write(
            {"qty": -1, "price_subtotal": -50.0, "price_subtotal_incl": -50.0}
        )
        refund._onchange_amount_all()
        self.assertAlmostEqual(refund.amount_total, -50.0)
        self._pay(refund)
        self.assertRecordValues(
            refund.loyalty_ledger_line_ids,
            [{"entry_type": "reversal", "points": -50.0, "reversed_line_id": earn.id}],
        )
        self.assertLedgerMatches(self.refund_member, 50)

        # A backend refund of the whole order again: only what is left of
        # the earned points can go, the card never goes below zero.
        refund2 = self._refund(order)
        self.assertAlmostEqual(refund2.amount_total, -100.0)
        self._pay(refund2)
        self.assertRecordValues(
            refund2.loyalty_ledger_line_ids,
            [{"entry_type": "reversal", "points": -50.0, "reversed_line_id": earn.id}],
        )
        self.assertLedgerMatches(self.refund_member, 0)

    # ------------------------------------------------------------------
    # Points won and spent by the same order (no browser)
    # ------------------------------------------------------------------
    def test_pos_spend_points_won_by_the_same_order(self):
        """A member with no points buys for 150 and, the program applying to
        the current order too, spends 100 of the points that order wins: the
        lots still open hold exactly the 50 points left (what expiry would
        take), not the 150 earned."""
        partner = self.refund_member
        card = self._card(partner)
        session = self.main_pos_config.current_session_id
        order = self.env["pos.order"].create(
            {
                "company_id": self.company.id,
                "session_id": session.id,
                "partner_id": partner.id,
                "lines": [
                    Command.create(
                        {
                            "name": "OL/0001",
                            "product_id": self.product.id,
                            "price_unit": 50.0,
                            "qty": 3,
                            "tax_ids": [Command.clear()],
                            "price_subtotal": 150.0,
                            "price_subtotal_incl": 150.0,
                        }
                    ),
                    Command.create(
                        {
                            "name": "OL/0002",
                            "product_id": self.reward.discount_line_product_id.id,
                            "price_unit": -10.0,
                            "qty": 1,
                            "tax_ids": [Command.clear()],
                            "price_subtotal": -10.0,
                            "price_subtotal_incl": -10.0,
                            "is_reward_line": True,
                            "reward_id": self.reward.id,
                            "coupon_id": card.id,
                            "points_cost": 100.0,
                            "reward_identifier_code": "lca-same-order",
                        }
                    ),
                ],
                "amount_total": 140.0,
                "amount_tax": 0.0,
                "amount_paid": 0.0,
                "amount_return": 0.0,
                "last_order_preparation_change": "{}",
            }
        )
        self._pay(order)
        # As pos_loyalty's PaymentScreen._postProcessLoyalty sends it.
        order.with_user(self.pos_user).confirm_coupon_programs(
            {
                str(card.id): {
                    "points": 150.0 - 100.0,
                    "program_id": self.program.id,
                    "coupon_id": card.id,
                    "barcode": False,
                    "partner_id": partner.id,
                    "line_codes": ["lca-same-order"],
                }
            }
        )
        lines = order.loyalty_ledger_line_ids
        self.assertEqual(
            sorted(lines.mapped(lambda ln: (ln.entry_type, ln.points))),
            [("earn", 150.0), ("redeem", -100.0)],
        )
        self.assertLedgerMatches(partner, 50)
        open_lots = self.Ledger.search(
            [("card_id", "=", card.id), ("points_residual", ">", 0)]
        )
        self.assertAlmostEqual(sum(open_lots.mapped("points_residual")), 50.0)

    # ------------------------------------------------------------------
    # Automation after the transaction
    # ------------------------------------------------------------------
    def test_pos_order_goes_through_a_broken_rule(self):
        """A rule that raises does not block the till: the order is paid
        and earns; the rule's event fails later, in the processing cron."""
        self.program.loyalty_nth_order = 1
        Event = self.env["loyalty.member.event"]
        make_rule(self.env, "nth_order", "records.no_such_method()")
        order = self._till_order(self.refund_member, 2)
        self.assertEqual(order.state, "paid")
        self.assertLedgerMatches(self.refund_member, 100)
        event = Event.search(
            [
                ("partner_id", "=", self.refund_member.id),
                ("event_type", "=", "nth_order"),
            ]
        )
        self.assertEqual(event.state, "pending")
        Event._cron_process_events()
        self.assertEqual(event.state, "failed")
        self.assertIn("no_such_method", event.sudo().error)
