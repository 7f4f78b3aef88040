# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Demo referrals, made through the real flows; plain Python run once from
the demo data (demo/loyalty_referral_demo.xml), not a model."""

from odoo import fields


def populate_referrals(env):
    """Referrals in every state; the demo portal user is a member who
    referred a friend (see /my/loyalty)."""
    env = env(su=True)
    program = env.ref(
        "loyalty_crm_addon.loyalty_program_rewards_club", raise_if_not_found=False
    )
    portal = env.ref("base.partner_demo_portal", raise_if_not_found=False)
    product = env.ref("product.product_product_9", raise_if_not_found=False)
    if not (program and portal and product) or env["loyalty.referral"].search_count(
        [], limit=1
    ):
        return False
    Partner, Referral = env["res.partner"], env["loyalty.referral"]

    def confirmed_order(partner, price, code=False):
        order = env["sale.order"].create(
            {
                "partner_id": partner.id,
                "loyalty_referral_code": code,
                "order_line": [
                    fields.Command.create(
                        {"product_id": product.id, "price_unit": price}
                    )
                ],
            }
        )
        order._update_programs_and_rewards()
        order.action_confirm()
        return order

    confirmed_order(portal, 240.0)
    members = Partner.search(
        [
            ("loyalty_referral_code", "!=", False),
            ("is_company", "=", False),
            ("id", "!=", portal.id),
        ],
        limit=4,
        order="id",
    )
    friends = Partner.create(
        [
            {"name": "Nina Newcomer", "email": "nina.newcomer@example.com"},
            {"name": "Paul Prospect", "email": "paul.prospect@example.com"},
            {"name": "Olga Outlet", "email": "olga.outlet@example.com"},
            {"name": "Sam Sibling", "email": members[:1].email},
            {"name": "Vera Visitor", "email": "vera.visitor@example.com"},
        ]
    )
    nina, paul, olga, sam, vera = friends
    # Converted: a code on the contact, then a first order.
    nina.loyalty_referred_by_id = portal
    confirmed_order(nina, 180.0)
    # Converted through a code given on the sales order.
    confirmed_order(olga, 95.0, code=portal.loyalty_referral_code)
    # Pending: no order yet.
    vera.loyalty_referred_by_id = portal
    if members:
        paul.loyalty_referred_by_id = members[0]
        # Rejected: the same email as the referrer.
        Referral._loyalty_register(sam, members[0], "contact")
        # Rejected: a member referring themselves.
        Referral._loyalty_register(members[-1], members[-1], "contact")
    # Some rewards within reach, others a few points away.
    portal.loyalty_redeem_points(300, "Cinema tickets (partner offer)")
    return True
