"""Reports on a read replica: with Odoo's ``db_replica_host`` set, the KPI
API, the dashboard and the reports run on the replica, so a month-end report
never slows the tills.

A real streaming replica of the test cluster is made on this machine
(tests/_replica.py: ``VERSION/replica`` on port 5433, ``pg_basebackup -R``)
and an Odoo server started on the test database with ``--db_replica_host``
and ``--db_replica_port``. Every statement of that server's connections is
logged by both PostgreSQL clusters (``log_statement = 'all'`` on the test
database, for the length of the test); each call reads a period no other
query names (its dates are the marker): the replica's log has the marker,
the primary's none. The web client's JSON-RPC (``/web/dataset/call_kw``)
takes a read-only cursor for methods marked ``@api.readonly`` (Odoo 18);
XML-RPC always takes a read/write one (Odoo 18's odoo/service/model.py)."""

import datetime
import os
import subprocess
import sys
import time
from pathlib import Path

import _replica
import psycopg2
import pytest
import requests
from conftest import (
    ADMIN_LOGIN,
    ADMIN_PASSWORD,
    OdooRPC,
    _free_port,
    _stop,
    _wait_until_up,
    membership_program,
)

import odoo


@pytest.fixture(scope="module")
def replica():
    version, port, log = _replica.ensure()
    try:
        yield {"version": version, "port": port, "log": Path(log)}
    finally:
        _replica.stop()


@pytest.fixture(scope="module")
def replica_server(replica, pytestconfig):
    """An Odoo server on the test database with the replica configured; the
    statements of its connections logged by both clusters."""
    db = pytestconfig.getoption("--odoo-database") or odoo.tools.config["db_name"]
    conf = pytestconfig.getoption("--odoo-config") or odoo.tools.config.rcfile
    odoo_bin = Path(odoo.__file__).resolve().parent.parent / "odoo-bin"
    log_dir = Path(os.environ.get("LOYALTY_LOG_DIR") or Path(conf).resolve().parent)
    log_path = log_dir / "test-replica-server.log"
    log_path.unlink(missing_ok=True)
    primary_port = _replica.primary()[2]
    with _replica.connect(primary_port) as cnx, cnx.cursor() as cr:
        cr.execute(f"ALTER DATABASE \"{db}\" SET log_statement = 'all'")
    port = _free_port(18169)
    proc = subprocess.Popen(
        [
            sys.executable,
            str(odoo_bin),
            f"--config={conf}",
            f"--database={db}",
            f"--db-filter=^{db}$",
            "--workers=2",
            "--max-cron-threads=0",
            f"--http-port={port}",
            f"--gevent-port={port + 1}",
            "--http-interface=127.0.0.1",
            f"--db_replica_host={_replica.SOCKET_DIR}",
            f"--db_replica_port={replica['port']}",
            f"--logfile={log_path}",
            "--log-level=info",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, proc, log_path)
        yield {"url": url, "db": db, "log": log_path}
    finally:
        _stop(proc)
        with _replica.connect(primary_port) as cnx, cnx.cursor() as cr:
            cr.execute(f'ALTER DATABASE "{db}" RESET log_statement')


class Web:
    """The web client's JSON-RPC, with a session."""

    def __init__(self, url, db):
        self.url = url
        self.session = requests.Session()
        res = self._post(
            "/web/session/authenticate",
            {"db": db, "login": ADMIN_LOGIN, "password": ADMIN_PASSWORD},
        )
        assert res["uid"], "admin could not log in"

    def _post(self, path, params):
        resp = self.session.post(
            f"{self.url}{path}",
            json={"jsonrpc": "2.0", "method": "call", "params": params, "id": 1},
            timeout=120,
        )
        resp.raise_for_status()
        body = resp.json()
        assert "error" not in body, body.get("error")
        return body["result"]

    def call_kw(self, model, method, args, kwargs=None):
        return self._post(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": args, "kwargs": kwargs or {}},
        )


def _log_size(path):
    return path.stat().st_size


def _log_since(path, offset):
    with open(path, "rb") as fh:
        fh.seek(offset)
        return fh.read().decode(errors="replace")


def _marker_period():
    """A period of the last century no other query names: its end date is
    the run's marker in the statement logs."""
    day = datetime.date(1950, 1, 1) + datetime.timedelta(days=int(time.time()) % 18000)
    return (day - datetime.timedelta(days=30)).isoformat(), day.isoformat()


def test_reports_are_served_by_the_replica(replica, replica_server):
    db, url = replica_server["db"], replica_server["url"]
    primary_version, _name, primary_port, primary_log = _replica.primary()
    primary_log = Path(primary_log)
    rpc = OdooRPC(url, db)
    program_id = membership_program(rpc, f"Replica club {time.time_ns()}")
    date_from, date_to = _marker_period()
    # XML-RPC runs on the primary: the figures to compare with
    expected = rpc.execute(
        "loyalty.program", "get_loyalty_kpis", [program_id], date_from, date_to
    )
    assert _replica.wait_caught_up(primary_port), "the replica lags"

    web = Web(url, db)
    primary_offset = _log_size(primary_log)
    replica_offset = _log_size(replica["log"])
    server_offset = _log_size(replica_server["log"])
    date_from, date_to = _marker_period()
    kpis = web.call_kw(
        "loyalty.program", "get_loyalty_kpis", [[program_id], date_from, date_to]
    )
    assert kpis == expected, "the replica gives the primary's figures"
    dashboard = web.call_kw(
        "loyalty.program",
        "get_loyalty_dashboard_data",
        [],
        {"program_id": program_id, "date_from": date_from, "date_to": date_to},
    )
    assert dashboard["kpis"] == expected
    report = web.call_kw(
        "loyalty.report.order",
        "web_read_group",
        [],
        {
            "domain": [
                ("date", ">=", date_from),
                ("date", "<=", f"{date_to} 23:59:59"),
            ],
            "fields": ["amount:sum"],
            "groupby": ["channel"],
        },
    )
    assert report["length"] == 0, "nothing sold in the marker period"
    time.sleep(1)  # the clusters' log writes

    on_replica = _log_since(replica["log"], replica_offset)
    on_primary = _log_since(primary_log, primary_offset)
    assert on_replica.count(date_to) >= 3, "the replica ran the three reports"
    assert "loyalty_kpi_order" in on_replica or "sale_order" in on_replica
    assert date_to not in on_primary, "no query of the reports on the primary"
    server_log = _log_since(replica_server["log"], server_offset)
    assert "retrying with a read/write cursor" not in server_log, (
        "the read path wrote something"
    )
    assert primary_version == replica["version"]


def test_the_replica_refuses_writes(replica, replica_server):
    db = replica_server["db"]
    with (
        psycopg2.connect(
            host=_replica.SOCKET_DIR, port=replica["port"], dbname=db
        ) as cnx,
        cnx.cursor() as cr,
    ):
        cr.execute("SELECT pg_is_in_recovery()")
        assert cr.fetchone()[0], "the replica is a standby"
        with pytest.raises(psycopg2.errors.ReadOnlySqlTransaction):
            cr.execute("UPDATE loyalty_card SET points = points WHERE id = 0")
