"""Rules staff add on member events run after the business transaction, in
the events' processing: an administrator's broken rule, made over RPC with
Odoo's default trigger, does not stop a salesperson's sale on a two-worker
server (the other worker reloads the rule as any rule)."""

import uuid

import pytest
from conftest import OdooRPC, membership_program, xmlid


@pytest.fixture(scope="module")
def shop(rpc):
    """A membership program celebrating every order, a product and a
    salesperson logged in over RPC."""
    tag = uuid.uuid4().hex[:8]
    program_id = membership_program(
        rpc,
        f"RPC Rules Club {tag}",
        loyalty_nth_order=1,
        loyalty_points_milestone=0,
    )
    product_id = rpc.execute(
        "product.product",
        "create",
        {"name": f"RPC Rules Widget {tag}", "taxes_id": [(5, 0, 0)]},
    )
    login = f"rpc_rules_sales_{tag}"
    password = f"rpc-rules-{tag}-password"
    rpc.execute(
        "res.users",
        "create",
        {
            "name": f"RPC Rules Salesperson {tag}",
            "login": login,
            "password": password,
            "groups_id": [(6, 0, [xmlid(rpc, "sales_team", "group_sale_salesman")])],
        },
    )
    return {
        "tag": tag,
        "program_id": program_id,
        "product_id": product_id,
        "sales": OdooRPC(rpc.url, rpc.db, login, password),
    }


def _sell(shop, partner_id, context=None):
    sales = shop["sales"]
    order_id = sales.execute(
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
                        "product_uom_qty": 5,
                        "price_unit": 20.0,
                    },
                )
            ],
        },
    )
    sales.execute("sale.order", "action_confirm", [order_id], context=context or {})
    return order_id


def _events(rpc, partner_id):
    """The partner's events (of every active membership program: other
    tests' programs may be active too)."""
    return rpc.execute(
        "loyalty.member.event",
        "search_read",
        [("partner_id", "=", partner_id)],
        fields=["event_type", "state", "error"],
        order="id",
    )


def test_broken_rule_with_default_trigger_blocks_no_sale(rpc, shop):
    partner_id = rpc.execute(
        "res.partner", "create", {"name": f"RPC Rules Customer {shop['tag']}"}
    )
    model_id = rpc.execute(
        "ir.model", "search", [("model", "=", "loyalty.member.event")]
    )[0]
    # Odoo's default trigger, no condition: it would run on every event
    # recorded, inside the sale; it fails for this customer's events.
    rule_id = rpc.execute(
        "base.automation",
        "create",
        {
            "name": f"RPC broken rule {shop['tag']}",
            "model_id": model_id,
            "trigger": "on_create_or_write",
        },
    )
    try:
        rpc.execute(
            "ir.actions.server",
            "create",
            {
                "name": "Broken code",
                "model_id": model_id,
                "base_automation_id": rule_id,
                "usage": "base_automation",
                "state": "code",
                "code": f"if record.partner_id.id == {partner_id}:\n"
                '    raise UserError("Broken rule")',
            },
        )
        orders = [
            _sell(shop, partner_id),
            # The processing's mark sent as a flag runs no rule either.
            _sell(shop, partner_id, context={"loyalty_event_processing": True}),
        ]
        for order in rpc.execute("sale.order", "read", orders, ["state"]):
            assert order["state"] == "sale"
        lines = rpc.execute(
            "loyalty.ledger.line",
            "search_read",
            [("sale_order_id", "in", orders), ("program_id", "=", shop["program_id"])],
            fields=["points"],
        )
        assert [line["points"] for line in lines] == [100.0, 100.0]
        events = _events(rpc, partner_id)
        assert [e["event_type"] for e in events].count("nth_order") >= 2
        assert {e["state"] for e in events} == {"pending"}

        # The processing (run by hand here: the test server has no cron
        # thread) marks them failed with the error.
        cron_id = xmlid(rpc, "loyalty_crm_addon", "ir_cron_loyalty_process_events")
        rpc.execute("ir.cron", "method_direct_trigger", [cron_id])
        events = _events(rpc, partner_id)
        assert {e["state"] for e in events} == {"failed"}
        assert all("Broken rule" in e["error"] for e in events)
    finally:
        rpc.execute("base.automation", "unlink", [rule_id])
    # Fixed (removed): a retry processes them.
    event_ids = [e["id"] for e in events]
    rpc.execute("loyalty.member.event", "action_retry", event_ids)
    rpc.execute("ir.cron", "method_direct_trigger", [cron_id])
    assert {e["state"] for e in _events(rpc, partner_id)} == {"done"}
