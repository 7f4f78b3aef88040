"""Over XML-RPC, as a salesperson limited to their own documents: a
member's quotation gives the member's standing (balance, what the order
earns, the rewards within reach) even when the member bought from another
salesperson, and quoting a customer another salesperson follows is refused
in plain words (a UserError), not by Odoo's access error.
"""

import uuid
import xmlrpc.client

import pytest
from conftest import OdooRPC, membership_program, xmlid


@pytest.fixture(scope="module")
def shop(rpc):
    tag = uuid.uuid4().hex[:8]
    program_id = membership_program(rpc, f"RPC Quote Club {tag}")
    reward_id = rpc.execute(
        "loyalty.reward",
        "create",
        {
            "program_id": program_id,
            "reward_type": "discount",
            "discount": 5,
            "discount_mode": "per_order",
            "discount_applicability": "order",
            "required_points": 100,
            "description": f"RPC 5 off {tag}",
        },
    )
    product_id = rpc.execute(
        "product.product",
        "create",
        {"name": f"RPC Quote Widget {tag}", "type": "service", "taxes_id": [(5, 0, 0)]},
    )
    users = {}
    for role in ("own", "other"):
        login = f"rpc_quote_{role}_{tag}"
        password = f"rpc-quote-{tag}-password"
        user_id = rpc.execute(
            "res.users",
            "create",
            {
                "name": f"RPC Quote {role} {tag}",
                "login": login,
                "password": password,
                "groups_id": [
                    (6, 0, [xmlid(rpc, "sales_team", "group_sale_salesman")])
                ],
            },
        )
        users[role] = (user_id, OdooRPC(rpc.url, rpc.db, login, password))
    return {
        "tag": tag,
        "program_id": program_id,
        "reward_id": reward_id,
        "product_id": product_id,
        **users,
    }


def _quote(client, shop, partner_id, **values):
    return client.execute(
        "sale.order",
        "create",
        {
            "partner_id": partner_id,
            "order_line": [
                (
                    0,
                    0,
                    {
                        "product_id": shop["product_id"],
                        "product_uom_qty": 1,
                        "price_unit": 80.0,
                    },
                )
            ],
            **values,
        },
    )


STANDING = [
    "loyalty_member_state",
    "loyalty_member_balance",
    "loyalty_order_points",
    "loyalty_affordable_reward_ids",
]


def test_member_of_another_salesperson(rpc, shop):
    tag = shop["tag"]
    own_uid, own = shop["own"]
    other_uid, other = shop["other"]
    member_id = rpc.execute("res.partner", "create", {"name": f"RPC Quoted {tag}"})
    # The member bought from the other salesperson: 80 points.
    past = _quote(other, shop, member_id)
    other.execute("sale.order", "action_confirm", [past])

    # The seller quotes them: the member's standing, no access error.
    order_id = _quote(own, shop, member_id)
    [order] = own.execute("sale.order", "read", [order_id], STANDING + ["user_id"])
    assert order["user_id"][0] == own_uid
    assert order["loyalty_member_state"] == "member"
    assert order["loyalty_member_balance"] == 80.0
    assert order["loyalty_order_points"] == 80.0
    # 80 on the card and 80 this order earns: the 100-point reward.
    assert order["loyalty_affordable_reward_ids"] == [shop["reward_id"]]
    own.execute("sale.order", "action_confirm", [order_id])

    # Once the other salesperson follows the member, Odoo makes the
    # quotation theirs: refused in plain words, nothing written.
    rpc.execute("res.partner", "write", [member_id], {"user_id": other_uid})
    with pytest.raises(xmlrpc.client.Fault) as refused:
        _quote(own, shop, member_id)
    # Odoo's code for a UserError (an AccessError is 4).
    assert refused.value.faultCode == 2
    assert "is followed by" in refused.value.faultString
    assert "top-secret" not in refused.value.faultString
    # Choosing themselves as the salesperson, they quote the member.
    order_id = _quote(own, shop, member_id, user_id=own_uid)
    [order] = own.execute("sale.order", "read", [order_id], STANDING)
    assert order["loyalty_member_balance"] == 160.0
