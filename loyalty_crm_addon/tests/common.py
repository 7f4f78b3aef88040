# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.fields import Command

from odoo.addons.sale.tests.common import SaleCommon

from ..engine.ledger import ENGINE


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
