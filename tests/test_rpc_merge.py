"""Odoo's standard Merge action on two members, as the administrator over
XML-RPC on a two-worker server: one card left with both balances, through
ledger lines, every line kept."""

import uuid

from conftest import membership_program


def test_merge_members_as_administrator(rpc):
    tag = uuid.uuid4().hex[:8]
    program_id = membership_program(rpc, f"RPC Merge Club {tag}")
    email = f"merge-{tag}@example.com"
    kept_id = rpc.execute(
        "res.partner", "create", {"name": f"RPC Merge {tag}", "email": email}
    )
    twin_id = rpc.execute(
        "res.partner", "create", {"name": f"RPC Merge {tag} (dup)", "email": email}
    )
    card_id = rpc.execute("res.partner", "action_loyalty_enroll", [kept_id])
    twin_card_id = rpc.execute("res.partner", "action_loyalty_enroll", [twin_id])
    rpc.execute("res.partner", "loyalty_adjust_points", [kept_id], 100, "Opening")
    rpc.execute("res.partner", "loyalty_adjust_points", [twin_id], 30, "Opening")
    code = rpc.execute("res.partner", "read", [kept_id], ["loyalty_referral_code"])[0][
        "loyalty_referral_code"
    ]
    line_ids = rpc.execute(
        "loyalty.ledger.line", "search", [("card_id", "in", [card_id, twin_card_id])]
    )

    wizard_id = rpc.execute(
        "base.partner.merge.automatic.wizard",
        "create",
        {"partner_ids": [(6, 0, [kept_id, twin_id])], "dst_partner_id": kept_id},
    )
    rpc.execute("base.partner.merge.automatic.wizard", "action_merge", [wizard_id])

    assert not rpc.execute("res.partner", "search", [("id", "=", twin_id)])
    partner = rpc.execute(
        "res.partner",
        "read",
        [kept_id],
        ["loyalty_balance", "loyalty_card_id", "loyalty_referral_code"],
    )[0]
    assert partner["loyalty_balance"] == 130
    assert partner["loyalty_card_id"][0] == card_id
    assert partner["loyalty_referral_code"] == code
    active = rpc.execute(
        "loyalty.card",
        "search",
        [("partner_id", "=", kept_id), ("program_id", "=", program_id)],
    )
    assert active == [card_id]
    lines = rpc.execute(
        "loyalty.ledger.line",
        "search_read",
        [("id", "in", line_ids)],
        fields=["partner_id"],
    )
    assert len(lines) == len(line_ids)
    assert {line["partner_id"][0] for line in lines} == {kept_id}
    merged = rpc.execute(
        "loyalty.ledger.line",
        "search_read",
        [("card_id", "=", card_id), ("source", "=", "import")],
        fields=["points", "description"],
    )
    assert [(m["points"], m["description"]) for m in merged] == [
        (30, f"Contacts merged into RPC Merge {tag}")
    ]
