"""Two servers' job runners against one on the same backlog: the same
results, nothing done twice (queue_job and loyalty_crm_queue_job installed:
``./dev test`` runs this on its OCA database). See _runners.py."""

import os
from pathlib import Path

import pytest
from _runners import Servers, check, make_backlog, process

import odoo
from odoo import SUPERUSER_ID, api

MEMBERS = 40
BATCH = 4


@pytest.fixture(scope="module")
def setup(pytestconfig):
    db = pytestconfig.getoption("--odoo-database") or odoo.tools.config["db_name"]
    conf = pytestconfig.getoption("--odoo-config") or odoo.tools.config.rcfile
    log_dir = Path(os.environ.get("LOYALTY_LOG_DIR") or Path(conf).resolve().parent)
    registry = odoo.modules.registry.Registry(db)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        bridge = env["ir.module.module"].search(
            [("name", "=", "loyalty_crm_queue_job")]
        )
        assert bridge.state == "installed", "run on a db with queue_job installed"
    return db, conf, log_dir, registry


def _run(setup, servers_count):
    db, conf, log_dir, registry = setup
    with registry.cursor() as cr:
        event_ids = make_backlog(api.Environment(cr, SUPERUSER_ID, {}), MEMBERS)
    with Servers(conf, db, servers_count, log_dir) as servers:
        seconds = process(servers, event_ids, BATCH)
        per_server = servers.runjob_counts()
    with registry.cursor() as cr:
        result = check(api.Environment(cr, SUPERUSER_ID, {}), event_ids)
    return seconds, per_server, result


def test_one_and_two_runners_same_results_nothing_twice(setup):
    one_s, one_servers, one = _run(setup, 1)
    two_s, two_servers, two = _run(setup, 2)
    for states, mails, with_mail in (one, two):
        assert states == {"done": MEMBERS}, states
        assert (mails, with_mail) == (MEMBERS, MEMBERS), "one email per event"
    jobs = -(-MEMBERS // BATCH)
    assert sum(one_servers) >= jobs
    assert all(count > 0 for count in two_servers), (
        f"both servers ran jobs: {two_servers}"
    )
    print(
        f"\none server {one_s:.1f}s, two servers {two_s:.1f}s"
        f" (jobs per server: {two_servers})"
    )
