"""Two members claim the last unit of a reward at the same moment, from two
connections (two terminals, two workers): exactly one gets it."""

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
def last_unit(registry):
    """A reward with one unit left and two members able to pay for it,
    committed so other connections see them."""
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        program = env["loyalty.program"].create(
            {
                "name": f"Last Unit Club {uuid.uuid4().hex[:6]}",
                "program_type": "loyalty",
                "sale_ok": False,  # no order of other tests earns on it
                "pos_ok": False,
                "reward_ids": [
                    odoo.Command.clear(),
                    odoo.Command.create(
                        {
                            "reward_type": "experience",
                            "description": "Last backstage pass",
                            "required_points": 30,
                            "loyalty_stock": 1,
                        }
                    ),
                ],
            }
        )
        partners = env["res.partner"].create(
            [{"name": "Fast Member"}, {"name": "Faster Member"}]
        )
        cards = partners._loyalty_enroll(program)
        Ledger = env["loyalty.ledger.line"]
        Ledger._post(
            [
                Ledger._prepare_line(
                    card, "adjust", 100, source="manual", description="Opening"
                )
                for card in cards.values()
            ]
        )
        ids = (program.reward_ids.id, partners.ids)
    return ids


def _claim(registry, reward_id, partner_id, barrier, results):
    barrier.wait(timeout=30)
    for _attempt in range(30):
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            try:
                claim_id = (
                    env["res.partner"]
                    .browse(partner_id)
                    .loyalty_claim_reward(reward_id)
                )
                cr.commit()
                results.append(claim_id)
                return
            except UserError as error:
                cr.rollback()
                results.append(str(error))
                return
            except OperationalError as exc:
                cr.rollback()
                if exc.pgcode not in RETRYABLE:
                    raise
        time.sleep(random.uniform(0.01, 0.2))
    results.append("gave up")


def test_two_claims_of_the_last_unit_exactly_one_wins(registry, last_unit):
    reward_id, partner_ids = last_unit
    results, barrier = [], threading.Barrier(len(partner_ids))
    threads = [
        threading.Thread(
            target=_claim, args=(registry, reward_id, pid, barrier, results)
        )
        for pid in partner_ids
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    granted = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, str)]
    assert len(granted) == 1, results
    assert len(refused) == 1 and "out of stock" in refused[0], results
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        claims = env["loyalty.reward.claim"].search([("reward_id", "=", reward_id)])
        assert claims.ids == granted
        spent = env["loyalty.ledger.line"].search(
            [("partner_id", "in", partner_ids), ("entry_type", "=", "redeem")]
        )
        assert sum(spent.mapped("points")) == pytest.approx(-30)
