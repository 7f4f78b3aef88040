"""Over XML-RPC against the multi-worker server, as the people concerned:

* a company's buyer: her sales order earns on the company's membership card
  (the member is the commercial partner), and a credit note of that order
  takes the points back from the same card;
* a salesperson limited to their own documents: the loyalty KPIs (which
  count every order) are refused with a clear error, and the Member Revenue
  report shows them their own orders only.
"""

import uuid
import xmlrpc.client

import pytest
from conftest import OdooRPC, membership_program, xmlid


@pytest.fixture(scope="module")
def shop(rpc):
    tag = uuid.uuid4().hex[:8]
    program_id = membership_program(rpc, f"RPC Company Club {tag}")
    product_id = rpc.execute(
        "product.product",
        "create",
        {
            "name": f"RPC Company Widget {tag}",
            "type": "service",
            "invoice_policy": "order",
            "taxes_id": [(5, 0, 0)],
        },
    )
    users = {}
    for role, group in (
        ("own", "group_sale_salesman"),
        ("other", "group_sale_salesman"),
    ):
        login = f"rpc_rights_{role}_{tag}"
        password = f"rpc-rights-{tag}-password"
        user_id = rpc.execute(
            "res.users",
            "create",
            {
                "name": f"RPC Rights {role} {tag}",
                "login": login,
                "password": password,
                "groups_id": [(6, 0, [xmlid(rpc, "sales_team", group)])],
            },
        )
        users[role] = (user_id, OdooRPC(rpc.url, rpc.db, login, password))
    return {"tag": tag, "program_id": program_id, "product_id": product_id, **users}


def _sell(client, shop, partner_id, amount):
    order_id = client.execute(
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
                        "price_unit": amount,
                    },
                )
            ],
        },
    )
    client.execute("sale.order", "action_confirm", [order_id])
    return order_id


def _native(rpc, model, method, ids, context):
    """Call one of Odoo's own buttons; those returning an action with a None
    in it fail to marshal over XML-RPC once their work is committed."""
    try:
        rpc.execute(model, method, ids, context=context)
    except xmlrpc.client.Fault as fault:
        if "cannot marshal None" not in fault.faultString:
            raise


def _card(rpc, shop, partner_id):
    return rpc.execute(
        "loyalty.card",
        "search_read",
        [("program_id", "=", shop["program_id"]), ("partner_id", "=", partner_id)],
        fields=["points"],
    )


def test_buyer_earns_on_the_company_card_and_a_credit_note_takes_it_back(rpc, shop):
    tag = shop["tag"]
    company_id = rpc.execute(
        "res.partner", "create", {"name": f"RPC Buyer Co {tag}", "is_company": True}
    )
    buyer_id = rpc.execute(
        "res.partner", "create", {"name": f"RPC Buyer {tag}", "parent_id": company_id}
    )
    _uid, sales = shop["own"]
    order_id = _sell(sales, shop, buyer_id, 120.0)

    [company_card] = _card(rpc, shop, company_id)
    assert company_card["points"] == 120.0
    assert _card(rpc, shop, buyer_id) == [], "the buyer gets no card of her own"
    # Her contact shows the company's standing.
    [buyer] = rpc.execute("res.partner", "read", [buyer_id], ["loyalty_balance"])
    assert buyer["loyalty_balance"] == 120.0

    # Invoice, then a full credit note: the points go back from the same card.
    context = {"active_model": "sale.order", "active_ids": [order_id]}
    wizard_id = rpc.execute(
        "sale.advance.payment.inv",
        "create",
        {"advance_payment_method": "delivered"},
        context=context,
    )
    _native(rpc, "sale.advance.payment.inv", "create_invoices", [wizard_id], context)
    [order] = rpc.execute("sale.order", "read", [order_id], ["invoice_ids"])
    invoice_ids = order["invoice_ids"]
    rpc.execute("account.move", "action_post", invoice_ids)
    context = {"active_model": "account.move", "active_ids": invoice_ids}
    journal = rpc.execute("account.move", "read", invoice_ids, ["journal_id"])
    wizard_id = rpc.execute(
        "account.move.reversal",
        "create",
        {"reason": "RPC return", "journal_id": journal[0]["journal_id"][0]},
        context=context,
    )
    _native(rpc, "account.move.reversal", "modify_moves", [wizard_id], context)
    [company_card] = _card(rpc, shop, company_id)
    assert company_card["points"] == 0.0


def test_own_documents_salesperson_sees_only_own_figures(rpc, shop):
    tag = shop["tag"]
    own_uid, own = shop["own"]
    _other_uid, other = shop["other"]
    mine = rpc.execute("res.partner", "create", {"name": f"RPC Mine {tag}"})
    theirs = rpc.execute("res.partner", "create", {"name": f"RPC Theirs {tag}"})
    my_order = _sell(own, shop, mine, 40.0)
    their_order = _sell(other, shop, theirs, 70.0)

    with pytest.raises(xmlrpc.client.Fault) as refused:
        own.execute(
            "loyalty.program",
            "get_loyalty_kpis",
            [shop["program_id"]],
            "2020-01-01",
            "2099-12-31",
        )
    # Odoo's code for an AccessError, with the way to the figures they may see.
    assert refused.value.faultCode == 4
    assert "Member Revenue report" in refused.value.faultString

    rows = own.execute(
        "loyalty.report.order",
        "search_read",
        [("user_id", "!=", False)],
        fields=["user_id", "name"],
    )
    assert rows, "their own orders are there"
    assert {row["user_id"][0] for row in rows} == {own_uid}
    names = rpc.execute("sale.order", "read", [my_order, their_order], ["name"])
    seen = {row["name"] for row in rows}
    assert names[0]["name"] in seen
    assert names[1]["name"] not in seen
