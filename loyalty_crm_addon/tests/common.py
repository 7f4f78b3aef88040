# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import uuid

from odoo import fields
from odoo.fields import Command
from odoo.tools import SQL

from odoo.addons.point_of_sale.tests.test_frontend import TestPointOfSaleHttpCommon
from odoo.addons.sale.tests.common import SaleCommon

from ..engine.ledger import ENGINE
from ..kpi import order_facts


def membership_program_vals(name="Rewards Club", **values):
    """A membership program: 1 point per currency unit, 5.00 off an order
    for 100 points."""
    return {
        "name": name,
        "program_type": "loyalty",
        "trigger": "auto",
        "applies_on": "both",
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
                    "discount": 5,
                    "discount_mode": "per_order",
                    "discount_applicability": "order",
                    "required_points": 100,
                }
            ),
        ],
        **values,
    }


def kpi_order_facts(env):
    """The KPI order facts as stored (once this transaction's changes are
    in, as before a commit) and as recomputed from the orders and cards."""
    env["loyalty.kpi.order"]._flush_facts()
    env.cr.execute(
        SQL(
            "SELECT id, %(columns)s FROM loyalty_kpi_order ORDER BY id",
            columns=SQL(order_facts.COLUMNS),
        )
    )
    stored = env.cr.fetchall()
    env.cr.execute(
        SQL(
            "SELECT order_key, %(columns)s FROM (%(facts)s) f ORDER BY order_key",
            columns=SQL(order_facts.COLUMNS),
            facts=order_facts._facts(),
        )
    )
    return stored, env.cr.fetchall()


def make_rule(env, event_type, code):
    """An automation rule on member events of ``event_type`` running
    ``code``, as an administrator would make it in the rule's form."""
    model_id = env["ir.model"]._get_id("loyalty.member.event")
    state = env.ref("loyalty_crm_addon.field_loyalty_member_event__state")
    rule = env["base.automation"].create(
        {
            "name": f"Rule on {event_type}",
            "model_id": model_id,
            "trigger": "on_create_or_write",
            "trigger_field_ids": [Command.set(state.ids)],
            "filter_domain": repr(
                [("state", "=", "done"), ("event_type", "=", event_type)]
            ),
        }
    )
    action = env["ir.actions.server"].create(
        {
            "name": "Code",
            "model_id": model_id,
            "base_automation_id": rule.id,
            "usage": "base_automation",
            "state": "code",
            "code": code,
        }
    )
    return rule, action


class LoyaltyCrmCommon(SaleCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["loyalty.program"].search([]).sudo().write({"active": False})
        cls.program = cls.env["loyalty.program"].create(membership_program_vals())
        cls.reward = cls.program.reward_ids
        cls.env.company.loyalty_membership_program_id = cls.program
        cls.member = cls.env["res.partner"].create(
            {"name": "Martha Member", "email": "martha@example.com"}
        )
        cls.card = cls.env["loyalty.card"].browse(cls.member.action_loyalty_enroll())
        cls.Ledger = cls.env["loyalty.ledger.line"]

    def _order(self, partner=None, qty=5, price=20.0):
        return self.env["sale.order"].create(
            {
                "partner_id": (partner or self.member).id,
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

    def _confirmed_order(self, partner=None, qty=5, price=20.0):
        order = self._order(partner, qty, price)
        order._update_programs_and_rewards()
        order.action_confirm()
        return order

    def _give_points(self, points, partner=None):
        (partner or self.member).loyalty_adjust_points(points, "Welcome gift")

    def _set_tier(self, card, tier):
        """Put a card in a tier as the engine does (no chatter, no event)."""
        card.sudo().with_context(loyalty_ledger_origin=ENGINE).loyalty_tier_id = tier

    def _lines(self, card=None, **domain):
        return self.Ledger.search(
            [("card_id", "=", (card or self.card).id)]
            + [(key, "=", value) for key, value in domain.items()],
            order="id",
        )

    def assertLedgerMatches(self, card=None):
        """The invariant: a card holds exactly its posted lines."""
        card = card or self.card
        card.invalidate_recordset(["points"])
        posted = sum(self._lines(card, state="posted").mapped("points"))
        self.assertAlmostEqual(card.points, posted, places=2)
        self.assertFalse(self.Ledger._get_inconsistent_cards() & card)


class LoyaltyPosCase(TestPointOfSaleHttpCommon):
    """A membership program at the till and three members (fixtures), the
    till's session open as a POS user, and the order a till syncs."""

    # Names the tours look for.
    pos_product_name = "LCA Tour Widget"
    pos_program_name = "LCA Membership"
    pos_reward_description = "LCA 10 off your order"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Only our membership program runs at the till.
        cls.env["loyalty.program"].search([]).write({"active": False})

        cls.company = cls.main_pos_config.company_id
        cls.product = cls.env["product.product"].create(
            {
                "name": cls.pos_product_name,
                "available_in_pos": True,
                "list_price": 50.0,
                "taxes_id": False,
            }
        )
        vals = membership_program_vals(
            cls.pos_program_name,
            portal_visible=True,
            portal_point_name="LCA Points",
            company_id=cls.company.id,
            pos_ok=True,
            pos_config_ids=[Command.link(cls.main_pos_config.id)],
        )
        # 10.00 off the order for 100 points.
        vals["reward_ids"][1][2].update(
            discount=10, description=cls.pos_reward_description
        )
        cls.program = cls.env["loyalty.program"].create(vals)
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
        self.till_session = self.main_pos_config.current_session_id

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

    def _order_data(self, partner, qty=1, spend=None, order_uuid=None, reward=None):
        """A paid order as the till syncs it (sync_from_ui): ``qty`` widgets
        at 50.00 and, with ``spend`` (points the till claims), 10.00 off with
        ``reward`` (the program's reward) on the member's card."""
        reward = reward or self.reward
        card = self._card(partner)
        lines = [
            Command.create(
                {
                    "product_id": self.product.id,
                    "qty": qty,
                    "price_unit": 50.0,
                    "price_subtotal": 50.0 * qty,
                    "price_subtotal_incl": 50.0 * qty,
                    "tax_ids": [Command.clear()],
                }
            )
        ]
        total = 50.0 * qty
        if spend is not None:
            lines.append(
                Command.create(
                    {
                        "product_id": reward.discount_line_product_id.id,
                        "qty": 1,
                        "price_unit": -10.0,
                        "price_subtotal": -10.0,
                        "price_subtotal_incl": -10.0,
                        "tax_ids": [Command.clear()],
                        "is_reward_line": True,
                        "reward_id": reward.id,
                        "coupon_id": card.id,
                        "points_cost": spend,
                        "reward_identifier_code": "lca-%s" % uuid.uuid4().hex[:8],
                    }
                )
            )
            total -= 10.0
        cash = self.main_pos_config.payment_method_ids.filtered("is_cash_count")[:1]
        order_uuid = order_uuid or str(uuid.uuid4())
        return {
            "amount_paid": total,
            "amount_return": 0,
            "amount_tax": 0,
            "amount_total": total,
            "date_order": fields.Datetime.to_string(fields.Datetime.now()),
            "fiscal_position_id": False,
            "pricelist_id": self.main_pos_config.pricelist_id.id,
            "name": "Order %s" % order_uuid,
            "last_order_preparation_change": "{}",
            "lines": lines,
            "partner_id": partner.id,
            "session_id": self.till_session.id,
            "sequence_number": 2,
            "payment_ids": [
                Command.create(
                    {
                        "amount": total,
                        "name": fields.Datetime.now(),
                        "payment_method_id": cash.id,
                    }
                )
            ],
            "uuid": order_uuid,
            "user_id": self.pos_user.id,
            "to_invoice": False,
            "state": "paid",
        }
