"""No context key an RPC caller can send changes what the engine does: each
key the addon reads, sent as a string or a flag over RPC, leaves the
engine's checks as they are (docs/architecture.md, "Context keys the addon reads")."""

import base64
import uuid
import xmlrpc.client

import pytest
from conftest import membership_program

# The keys whose real values are Python objects of the engine; an RPC
# caller can only send JSON.
FORGED = [
    {key: value}
    for key in (
        "loyalty_ledger_origin",
        "loyalty_ledger_engine",
        "loyalty_claim_engine",
        "loyalty_referral_sync",
        "loyalty_event_mute",
        "loyalty_event_processing",
    )
    for value in (True, "engine")
]


@pytest.fixture(scope="module")
def club(rpc):
    """A membership program celebrating every order, with a reward; a
    member (the referrer) holding 100 points; a product."""
    tag = uuid.uuid4().hex[:8]
    program_id = membership_program(
        rpc,
        f"RPC Keys Club {tag}",
        loyalty_nth_order=1,
        loyalty_points_milestone=0,
        reward_ids=[
            (5, 0, 0),
            (
                0,
                0,
                {
                    "reward_type": "discount",
                    "discount": 5,
                    "discount_mode": "per_order",
                    "required_points": 50,
                },
            ),
        ],
    )
    member_id = rpc.execute("res.partner", "create", {"name": f"RPC Keys {tag}"})
    card_id = rpc.execute("res.partner", "action_loyalty_enroll", [member_id])
    rpc.execute("res.partner", "loyalty_adjust_points", [member_id], 100, "Opening")
    reward_id = rpc.execute("loyalty.program", "read", [program_id], ["reward_ids"])[0][
        "reward_ids"
    ][0]
    product_id = rpc.execute(
        "product.product",
        "create",
        {"name": f"RPC Keys {tag}", "taxes_id": [(5, 0, 0)]},
    )
    return {
        "tag": tag,
        "program_id": program_id,
        "member_id": member_id,
        "card_id": card_id,
        "reward_id": reward_id,
        "product_id": product_id,
    }


def _sell(rpc, club, partner_id, context=None):
    order_id = rpc.execute(
        "sale.order",
        "create",
        {
            "partner_id": partner_id,
            "order_line": [
                (0, 0, {"product_id": club["product_id"], "price_unit": 20.0})
            ],
        },
    )
    rpc.execute("sale.order", "action_confirm", [order_id], context=context or {})
    return order_id


def _balance(rpc, club):
    return rpc.execute("res.partner", "read", [club["member_id"]], ["loyalty_balance"])[
        0
    ]["loyalty_balance"]


def test_engine_writes_are_refused_whatever_the_context(rpc, club):
    """Card points, ledger lines and reward claims: refused to the
    administrator with any forged key, the balance unchanged."""
    attempts = [
        ("loyalty.card", "write", [[club["card_id"]], {"points": 5000}]),
        (
            "loyalty.ledger.line",
            "create",
            [
                {
                    "card_id": club["card_id"],
                    "program_id": club["program_id"],
                    "entry_type": "bonus",
                    "points": 5000,
                }
            ],
        ),
        (
            "loyalty.reward.claim",
            "create",
            [
                {
                    "partner_id": club["member_id"],
                    "card_id": club["card_id"],
                    "reward_id": club["reward_id"],
                    "points": 1,
                }
            ],
        ),
    ]
    for context in FORGED:
        for model, method, args in attempts:
            with pytest.raises(xmlrpc.client.Fault):
                rpc.execute(model, method, *args, context=context)
    assert _balance(rpc, club) == pytest.approx(100.0)


def test_referral_sync_key_does_not_skip_the_referral_checks(rpc, club):
    customer_id = rpc.execute(
        "res.partner", "create", {"name": f"RPC Keys Customer {club['tag']}"}
    )
    _sell(rpc, club, customer_id)
    for context in FORGED:
        with pytest.raises(xmlrpc.client.Fault) as error:
            rpc.execute(
                "res.partner",
                "write",
                [customer_id],
                {"loyalty_referred_by_id": club["member_id"]},
                context=context,
            )
        assert "already ordered" in error.value.faultString
    customer = rpc.execute(
        "res.partner", "read", [customer_id], ["loyalty_referred_by_id"]
    )[0]
    assert not customer["loyalty_referred_by_id"]
    # A contact created with a referrer is registered (and checked) as a
    # referral, the flag or not.
    newcomer_id = rpc.execute(
        "res.partner",
        "create",
        {
            "name": f"RPC Keys Newcomer {club['tag']}",
            "loyalty_referred_by_id": club["member_id"],
        },
        context={"loyalty_referral_sync": True},
    )
    referrals = rpc.execute(
        "loyalty.referral",
        "search_read",
        [("referee_id", "=", newcomer_id)],
        fields=["referrer_id", "state"],
    )
    assert [(r["referrer_id"][0], r["state"]) for r in referrals] == [
        (club["member_id"], "pending")
    ]


def test_sale_records_its_events_whatever_the_context(rpc, club):
    for context in FORGED:
        customer_id = rpc.execute(
            "res.partner", "create", {"name": f"RPC Keys Buyer {club['tag']}"}
        )
        order_id = _sell(rpc, club, customer_id, context=context)
        order = rpc.execute("sale.order", "read", [order_id], ["state"])[0]
        assert order["state"] == "sale"
        events = rpc.execute(
            "loyalty.member.event",
            "search_read",
            [("partner_id", "=", customer_id), ("program_id", "=", club["program_id"])],
            fields=["event_type", "state"],
        )
        assert [(e["event_type"], e["state"]) for e in events] == [
            ("nth_order", "pending")
        ], context


def test_enrolment_note_whatever_the_context(rpc, club):
    """The "Enrolled in" note of a new member (only the import leaves it
    out, through a parameter of the engine, not a context key)."""
    partner_id = rpc.execute(
        "res.partner", "create", {"name": f"RPC Keys Enrolled {club['tag']}"}
    )
    rpc.execute(
        "res.partner",
        "action_loyalty_enroll",
        [partner_id],
        context={"loyalty_enroll_nolog_ids": [partner_id]},
    )
    notes = rpc.execute(
        "mail.message",
        "search_count",
        [
            ("model", "=", "res.partner"),
            ("res_id", "=", partner_id),
            ("body", "ilike", "Enrolled in"),
        ],
    )
    assert notes == 1


def test_import_button_is_not_a_scheduled_run_whatever_the_context(rpc, club):
    """A scheduled job's keys (its progress, its id) sent with the import's
    button: the import runs as any, neither reporting nor committing as
    that job."""
    cron_id = rpc.execute(
        "ir.model.data",
        "search_read",
        [
            ("module", "=", "loyalty_crm_addon"),
            ("name", "=", "ir_cron_loyalty_balance_import"),
        ],
        fields=["res_id"],
    )[0]["res_id"]
    progress_id = rpc.execute("ir.cron.progress", "create", {"cron_id": cron_id})
    email = f"rpc-keys-import-{club['tag']}@example.com"
    data = (
        "email,name,phone,ref,points,lifetime_points,earned_on,expires_on,consent\n"
        f"{email},RPC Keys Imported,,,25,,,,\n"
    )
    job_id = rpc.execute(
        "loyalty.balance.import",
        "create",
        {
            "data_file": base64.b64encode(data.encode()).decode(),
            "filename": "members.csv",
            "program_id": club["program_id"],
        },
    )
    rpc.execute(
        "loyalty.balance.import",
        "action_import",
        [job_id],
        context={"ir_cron_progress_id": progress_id, "cron_id": cron_id},
    )
    job = rpc.execute("loyalty.balance.import", "read", [job_id], ["state"])[0]
    assert job["state"] == "done"
    progress = rpc.execute(
        "ir.cron.progress", "read", [progress_id], ["done", "remaining"]
    )[0]
    assert (progress["done"], progress["remaining"]) == (0, 0)
