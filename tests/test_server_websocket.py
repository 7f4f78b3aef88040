"""The multi-worker server of the setup has its live channel: the websocket
worker (``odoo-bin gevent``, started by the prefork server) comes up once and
stays up, and answers a websocket handshake.

Without it the till's and Discuss's live updates are gone, and a worker that
crash-loops (as it did with the zope.interface the setup installed) eats CPU
in every multi-worker test and benchmark.
"""

import json
import os
import time
from pathlib import Path
from urllib.parse import urlparse

import websocket

import odoo

WS_TIMEOUT = 60  # seconds for the gevent worker to accept connections


def _log_path(pytestconfig):
    conf = pytestconfig.getoption("--odoo-config") or odoo.tools.config.rcfile
    log_dir = Path(os.environ.get("LOYALTY_LOG_DIR") or Path(conf).resolve().parent)
    return log_dir / "test-rpc-server.log"


def _connect(url):
    """A websocket to the gevent worker of the server at ``url``."""
    http = urlparse(url)
    ws_url = f"ws://{http.hostname}:{http.port + 1}/websocket"
    deadline = time.monotonic() + WS_TIMEOUT
    while True:
        try:
            return websocket.create_connection(
                ws_url, timeout=10, origin=f"http://{http.hostname}:{http.port + 1}"
            )
        except (OSError, websocket.WebSocketException):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_websocket_worker_answers_and_stays_up(odoo_server, pytestconfig):
    conn = _connect(odoo_server)
    try:
        # A subscription is the first thing a browser tab sends; the worker
        # keeps the connection open and answers pings.
        conn.send(
            json.dumps(
                {
                    "event_name": "subscribe",
                    "data": {"channels": [], "last": 0},
                }
            )
        )
        conn.ping("loyalty")
        assert conn.connected
    finally:
        conn.close()
    # Give a crash loop the time to show, then read the server's log: the
    # gevent worker started once and never died.
    time.sleep(3)
    log = _log_path(pytestconfig).read_text(errors="replace")
    assert "DistributionNotFound" not in log, "the websocket worker failed to start"
    started = log.count("Evented Service (longpolling) running on")
    assert started == 1, f"websocket worker started {started} times (crash loop)"
    second = _connect(odoo_server)
    second.close()
