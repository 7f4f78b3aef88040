"""The members' balance over XML-RPC, as an integrator or the web client
asks for it: a domain on it, a sort by it and a group-by on it."""

import uuid

import pytest
from conftest import membership_program


@pytest.fixture(scope="module")
def members(rpc):
    """Three members of a fresh membership program holding 0, 100 and 600
    points, and a contact without a card."""
    tag = uuid.uuid4().hex[:8]
    membership_program(rpc, f"RPC Standing Club {tag}")
    ids = {}
    for name, points in (("zero", 0), ("hundred", 100), ("six", 600)):
        partner_id = rpc.execute(
            "res.partner", "create", {"name": f"RPC Standing {name} {tag}"}
        )
        rpc.execute("res.partner", "action_loyalty_enroll", [partner_id])
        if points:
            rpc.execute(
                "res.partner", "loyalty_adjust_points", [partner_id], points, "Opening"
            )
        ids[name] = partner_id
    ids["nobody"] = rpc.execute(
        "res.partner", "create", {"name": f"RPC Standing nobody {tag}"}
    )
    return ids


def test_search_sort_and_group_by_balance(rpc, members):
    scope = [("id", "in", list(members.values()))]
    rich = rpc.execute("res.partner", "search", [*scope, ("loyalty_balance", ">", 500)])
    assert rich == [members["six"]]
    # Never ignored: nobody holds a billion points.
    assert (
        rpc.execute("res.partner", "search_count", [("loyalty_balance", ">", 10**9)])
        == 0
    )

    ordered = rpc.execute(
        "res.partner", "search", scope, order="loyalty_balance desc, id"
    )
    assert ordered == [
        members["six"],
        members["hundred"],
        members["zero"],
        members["nobody"],
    ]

    groups = rpc.execute(
        "res.partner",
        "read_group",
        scope,
        ["loyalty_balance"],
        ["loyalty_balance"],
        orderby="loyalty_balance desc",
        lazy=False,
    )
    assert [(g["loyalty_balance"], g["__count"]) for g in groups] == [
        (600.0, 1),
        (100.0, 1),
        (0.0, 2),
    ]
