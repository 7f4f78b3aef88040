"""Fixtures of the top-level test suite (run by ``./dev test`` through pytest-odoo).

pytest-odoo loads the registry of ``--odoo-database`` in the pytest process, so
Odoo test cases (``TransactionCase`` ...) can be collected here too. Their data
lives in a transaction that is never committed.

``odoo_server`` starts a *separate* Odoo server process (prefork mode,
``--workers=2``) on the same database, for end-to-end tests over RPC. Keep in
mind:

* the server is another process: it only sees committed data, and whatever an
  RPC call writes is committed by the server as soon as the call returns. RPC
  tests create the records they need through RPC (unique names, so a re-run on
  the same database does not collide) and must not rely on data created by a
  ``TransactionCase`` in this process (it is invisible to the server);
* do not hold row locks in this process (e.g. a ``TransactionCase`` writing the
  admin user) while calling the server: the call would wait on the lock;
* ``./dev test`` recreates the database on each run, so RPC tests need not undo
  what they committed; they only clean up what they can and must (nothing that
  the ledger forbids deleting, for instance).
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import xmlrpc.client
from pathlib import Path

import pytest

import odoo

ADMIN_LOGIN = "admin"
ADMIN_PASSWORD = "admin"
START_TIMEOUT = 120  # seconds for the server to answer /web/health
STOP_TIMEOUT = 20  # seconds for a graceful stop before SIGKILL


def _free_port(preferred=18069):
    """``preferred`` if it and the next port are free, else two free ports."""
    for port in (preferred, 0):
        try:
            with socket.socket() as s1, socket.socket() as s2:
                s1.bind(("127.0.0.1", port))
                port = s1.getsockname()[1]
                s2.bind(("127.0.0.1", port + 1))  # gevent (longpolling) port
                return port
        except OSError:
            continue
    raise RuntimeError("no free port for the Odoo server")


class OdooRPC:
    """Minimal XML-RPC client logged in as admin."""

    def __init__(self, url, db, login=ADMIN_LOGIN, password=ADMIN_PASSWORD):
        self.url = url
        self.db = db
        self.login = login
        self.password = password
        proxy = xmlrpc.client.ServerProxy
        self.common = proxy(f"{url}/xmlrpc/2/common", allow_none=True)
        self.models = proxy(f"{url}/xmlrpc/2/object", allow_none=True)
        self.uid = self.common.authenticate(db, login, password, {})
        if not self.uid:
            raise RuntimeError(f"cannot log in as {login!r} on database {db!r}")

    def execute(self, model, method, *args, **kwargs):
        """``execute_kw`` as the logged-in user; each call is its own committed
        transaction on the server side."""
        return self.models.execute_kw(
            self.db, self.uid, self.password, model, method, list(args), kwargs
        )


def xmlid(rpc, module, name):
    """The database id of ``module.name``."""
    rows = rpc.execute(
        "ir.model.data",
        "search_read",
        [("module", "=", module), ("name", "=", name)],
        fields=["res_id"],
    )
    return rows[0]["res_id"]


def membership_program(rpc, name, **values):
    """A new membership program (a point per currency unit spent, plus
    ``values``) made the main one of the caller's company; returns its id.
    RPC tests each make their own, so that reruns on one database do not
    collide."""
    program_id = rpc.execute(
        "loyalty.program",
        "create",
        {
            "name": name,
            "program_type": "loyalty",
            "trigger": "auto",
            "applies_on": "both",
            "rule_ids": [
                (5, 0, 0),
                (0, 0, {"reward_point_mode": "money", "reward_point_amount": 1}),
            ],
            **values,
        },
    )
    company_id = rpc.execute("res.users", "read", [rpc.uid], ["company_id"])[0][
        "company_id"
    ][0]
    rpc.execute(
        "res.company",
        "write",
        [company_id],
        {"loyalty_membership_program_id": program_id},
    )
    return program_id


def _wait_until_up(url, proc, log_path):
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"Odoo server exited with {proc.returncode} while starting;"
                f" see {log_path}"
            )
        try:
            with urllib.request.urlopen(f"{url}/web/health", timeout=5) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"Odoo server not up after {START_TIMEOUT}s; see {log_path}")


def _stop(proc):
    if proc.poll() is not None:
        return
    # the server leads its own process group: master, HTTP workers, gevent worker
    pgid = os.getpgid(proc.pid)
    os.killpg(pgid, signal.SIGTERM)
    try:
        proc.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(STOP_TIMEOUT)


@pytest.fixture(scope="session")
def odoo_server(pytestconfig):
    """A real multi-worker Odoo server on the test database; yields its base URL."""
    db = pytestconfig.getoption("--odoo-database") or odoo.tools.config["db_name"]
    conf = pytestconfig.getoption("--odoo-config") or odoo.tools.config.rcfile
    if not db or not conf:
        pytest.fail("run with --odoo-database and --odoo-config (./dev test does)")
    odoo_bin = Path(odoo.__file__).resolve().parent.parent / "odoo-bin"
    log_dir = Path(os.environ.get("LOYALTY_LOG_DIR") or Path(conf).resolve().parent)
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / "test-rpc-server.log"
    log_path.unlink(missing_ok=True)  # this session's server only
    port = _free_port()
    cmd = [
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
        f"--logfile={log_path}",
        "--log-level=info",
    ]
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, proc, log_path)
        yield url
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def rpc(odoo_server, pytestconfig):
    """XML-RPC helper (``url``, ``db``, ``uid``, ``execute()``) logged in as admin."""
    db = pytestconfig.getoption("--odoo-database") or odoo.tools.config["db_name"]
    return OdooRPC(odoo_server, db)
