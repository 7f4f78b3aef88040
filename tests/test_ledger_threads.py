"""Concurrent redemptions inside one Odoo process: threads, each with its own
database connection and transaction, spend from the same card at the same
moment, the way two terminals served by one threaded server would."""

import random
import threading
import time
import uuid

import pytest
from psycopg2 import errorcodes
from psycopg2.errors import OperationalError

import odoo
from odoo import SUPERUSER_ID, api
from odoo.exceptions import UserError

RETRYABLE = {errorcodes.SERIALIZATION_FAILURE, errorcodes.LOCK_NOT_AVAILABLE}


@pytest.fixture
def registry(pytestconfig):
    db = pytestconfig.getoption("--odoo-database") or odoo.tools.config["db_name"]
    return odoo.modules.registry.Registry(db)


@pytest.fixture
def member_id(registry):
    """A member holding 100 points, committed so other connections see it."""
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        company = env.ref("base.main_company")
        previous = company.loyalty_membership_program_id
        program = env["loyalty.program"].create(
            {
                "name": f"Threads Club {uuid.uuid4().hex[:6]}",
                "program_type": "loyalty",
                "active": False,  # no order of other tests earns on it
            }
        )
        company.loyalty_membership_program_id = program
        partner = env["res.partner"].create({"name": "Busy Member"})
        partner.action_loyalty_enroll()
        partner.loyalty_adjust_points(100, "Opening")
        partner_id = partner.id
    yield partner_id
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        env.ref("base.main_company").loyalty_membership_program_id = previous


def _redeem(registry, partner_id, barrier, results, index):
    barrier.wait(timeout=30)
    for _attempt in range(30):
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            try:
                line_id = (
                    env["res.partner"]
                    .browse(partner_id)
                    .loyalty_redeem_points(30, f"Terminal {index}")
                )
                cr.commit()
                results.append(line_id)
                return
            except UserError as error:
                cr.rollback()
                results.append(str(error))
                return
            except OperationalError as exc:
                cr.rollback()
                if exc.pgcode not in RETRYABLE:
                    raise
        # Odoo's RPC layer retries a serialization failure the same way.
        time.sleep(random.uniform(0.01, 0.2))
    results.append("gave up")


def test_parallel_redemptions_on_separate_connections_never_overspend(
    registry, member_id
):
    results, barrier = [], threading.Barrier(5)
    threads = [
        threading.Thread(
            target=_redeem, args=(registry, member_id, barrier, results, i)
        )
        for i in range(5)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    granted = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, str)]
    assert len(granted) == 3, results
    assert len(refused) == 2 and all("Not enough points" in r for r in refused)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        card = env["res.partner"].browse(member_id).loyalty_card_id
        assert card.points == pytest.approx(10)
        posted = card.ledger_line_ids.filtered(lambda ln: ln.state == "posted")
        assert sum(posted.mapped("points")) == pytest.approx(10)
