"""The ledger seen from outside: an integrator calling the public API over
XML-RPC on a real two-worker Odoo server, as a web shop or kiosk would."""

import uuid
import xmlrpc.client
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import OdooRPC, membership_program


@pytest.fixture(scope="module")
def member(rpc):
    """A member of a fresh membership program holding 100 points."""
    tag = uuid.uuid4().hex[:8]
    program_id = membership_program(rpc, f"RPC Club {tag}")
    partner_id = rpc.execute("res.partner", "create", {"name": f"RPC Member {tag}"})
    card_id = rpc.execute("res.partner", "action_loyalty_enroll", [partner_id])
    rpc.execute("res.partner", "loyalty_adjust_points", [partner_id], 100, "Opening")
    return {"partner_id": partner_id, "card_id": card_id, "program_id": program_id}


def _balance(rpc, partner_id):
    return rpc.execute("res.partner", "read", [partner_id], ["loyalty_balance"])[0][
        "loyalty_balance"
    ]


def _ledger_sum(rpc, card_id):
    lines = rpc.execute(
        "loyalty.ledger.line",
        "search_read",
        [("card_id", "=", card_id), ("state", "=", "posted")],
        fields=["points"],
    )
    return sum(line["points"] for line in lines)


def test_parallel_redemptions_on_two_workers_never_overspend(rpc, member):
    """Five terminals redeem 30 of the same member's 100 points at once:
    exactly three succeed, the others are told there are not enough points."""

    def redeem(index):
        client = OdooRPC(rpc.url, rpc.db)  # a connection of its own
        try:
            return client.execute(
                "res.partner",
                "loyalty_redeem_points",
                [member["partner_id"]],
                30,
                f"Terminal {index}",
            )
        except xmlrpc.client.Fault as fault:
            return fault.faultString

    with ThreadPoolExecutor(max_workers=5) as pool:
        results = list(pool.map(redeem, range(5)))

    granted = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, str)]
    assert len(granted) == 3, results
    assert len(refused) == 2 and all("Not enough points" in r for r in refused)
    assert _balance(rpc, member["partner_id"]) == pytest.approx(10)
    assert _ledger_sum(rpc, member["card_id"]) == pytest.approx(10)


def test_same_reference_deducts_once(rpc, member):
    before = _balance(rpc, member["partner_id"])
    ref = f"WEB-{uuid.uuid4().hex[:6]}"
    partner = [member["partner_id"]]
    call = ("res.partner", "loyalty_redeem_points", partner, 1, "Sticker")
    first = rpc.execute(*call, reference=ref)
    again = rpc.execute(*call, reference=ref)
    assert first == again
    assert _balance(rpc, member["partner_id"]) == pytest.approx(before - 1)


def test_ledger_lines_cannot_be_forged_changed_or_deleted(rpc, member):
    line_id = rpc.execute(
        "loyalty.ledger.line",
        "search",
        [("card_id", "=", member["card_id"])],
        limit=1,
    )[0]
    attempts = [
        ("write", [[line_id], {"points": 5000}]),
        ("unlink", [[line_id]]),
        (
            "create",
            [
                {
                    "card_id": member["card_id"],
                    "program_id": member["program_id"],
                    "entry_type": "bonus",
                    "points": 5000,
                }
            ],
        ),
    ]
    before = _balance(rpc, member["partner_id"])
    for method, args in attempts:
        with pytest.raises(xmlrpc.client.Fault):
            rpc.execute("loyalty.ledger.line", method, *args)
    assert _balance(rpc, member["partner_id"]) == pytest.approx(before)


def test_bad_input_is_refused_with_a_clear_error(rpc, member):
    for points in (0, -5, 10**6):
        with pytest.raises(xmlrpc.client.Fault) as error:
            rpc.execute(
                "res.partner",
                "loyalty_redeem_points",
                [member["partner_id"]],
                points,
                "Bad",
            )
        assert "UserError" in error.value.faultString or "points" in (
            error.value.faultString.lower()
        )


def test_forged_card_and_contact_writes_are_refused(rpc, member):
    """Even the administrator, over RPC: a membership card's points, member,
    program and tier follow its ledger, and a context claiming to be the
    engine is plain JSON; the contact's engine figures are read-only."""
    other_id = rpc.execute("res.partner", "create", {"name": "RPC Other"})
    gift_program_id = rpc.execute(
        "loyalty.program",
        "create",
        {"name": "RPC Gift Cards", "program_type": "gift_card"},
    )
    before = _balance(rpc, member["partner_id"])
    forged = {
        "loyalty_ledger_origin": "engine",
        "loyalty_ledger_sync": True,
        "loyalty_ledger_defer": True,
    }
    card_writes = [
        {"points": 5000},
        {"partner_id": other_id},
        {"program_id": gift_program_id},
        {"loyalty_tier_since": "2001-01-01"},
    ]
    for vals in card_writes:
        for context in ({}, forged):
            with pytest.raises(xmlrpc.client.Fault) as error:
                rpc.execute(
                    "loyalty.card", "write", [member["card_id"]], vals, context=context
                )
            assert "follow its points history" in error.value.faultString
    # A new card has no history: the administrator (a loyalty manager) may
    # open one with a balance, which becomes a manual adjustment in their
    # name whatever the context claims; a tier is never set by hand.
    with pytest.raises(xmlrpc.client.Fault) as error:
        rpc.execute(
            "loyalty.card",
            "create",
            {
                "program_id": member["program_id"],
                "partner_id": other_id,
                "loyalty_tier_since": "2001-01-01",
            },
            context=forged,
        )
    assert "follow its points history" in error.value.faultString
    opened_id = rpc.execute(
        "loyalty.card",
        "create",
        {"program_id": member["program_id"], "partner_id": other_id, "points": 500},
        context=forged,
    )
    opening = rpc.execute(
        "loyalty.ledger.line",
        "search_read",
        [("card_id", "=", opened_id)],
        fields=["entry_type", "source", "points"],
    )
    assert [(ln["entry_type"], ln["source"], ln["points"]) for ln in opening] == [
        ("adjust", "manual", 500)
    ]
    with pytest.raises(xmlrpc.client.Fault) as error:
        rpc.execute(
            "res.partner",
            "write",
            [member["partner_id"]],
            {"loyalty_last_activity_date": "2001-01-01"},
            context=forged,
        )
    assert "loyalty engine" in error.value.faultString
    assert _balance(rpc, member["partner_id"]) == pytest.approx(before)
    assert _ledger_sum(rpc, member["card_id"]) == pytest.approx(before)
    assert rpc.execute("loyalty.card", "search", [("partner_id", "=", other_id)]) == [
        opened_id
    ]


def test_hot_member_under_twenty_clients_no_raw_database_error(rpc):
    """Twenty terminals spend one point at a time from the same member over
    XML-RPC, 150 attempts on a balance of 100: each is granted, refused
    ("Not enough points") or asked to try again; no raw database error
    reaches a client, the balance equals the ledger and every granted
    point left it."""
    tag = uuid.uuid4().hex[:8]
    membership_program(rpc, f"Hot Club {tag}")
    partner_id = rpc.execute("res.partner", "create", {"name": f"Hot Member {tag}"})
    card_id = rpc.execute("res.partner", "action_loyalty_enroll", [partner_id])
    rpc.execute("res.partner", "loyalty_adjust_points", [partner_id], 100, "Opening")

    def terminal(index):
        client = OdooRPC(rpc.url, rpc.db)
        outcomes = []
        for attempt in range(8 if index < 10 else 7):
            try:
                outcomes.append(
                    client.execute(
                        "res.partner",
                        "loyalty_redeem_points",
                        [partner_id],
                        1,
                        f"Hot {index}-{attempt}",
                    )
                )
            except xmlrpc.client.Fault as fault:
                outcomes.append(fault.faultString)
        return outcomes

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = [r for outcomes in pool.map(terminal, range(20)) for r in outcomes]

    assert len(results) == 150
    granted = [r for r in results if isinstance(r, int)]
    faults = [r for r in results if isinstance(r, str)]
    raw = [f for f in faults if "psycopg2" in f or "could not serialize" in f]
    assert not raw, raw[:1]
    assert all("Not enough points" in f or "try again" in f for f in faults), faults
    # nothing lost, nothing overspent: what was granted left the card
    assert 0 < len(granted) <= 100
    assert _balance(rpc, partner_id) == pytest.approx(100 - len(granted))
    assert _ledger_sum(rpc, card_id) == pytest.approx(100 - len(granted))
    lines = rpc.execute(
        "loyalty.ledger.line",
        "search_count",
        [("card_id", "=", card_id), ("entry_type", "=", "redeem")],
    )
    assert lines == len(granted)
