# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Start, wait for and stop a real Odoo server (prefork mode) on one database,
on the loopback interface; used by the RPC benchmarks and the reliability
tests (tests/test_reliability.py), which kill it on purpose."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

ODOO_SRC = os.environ.get("ODOO_SRC", os.path.expanduser("~/odoo-18.0"))


def free_port(preferred=0):
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


def start(
    db,
    conf,
    log_path,
    *,
    port=0,
    workers=2,
    cron_threads=0,
    odoo_bin=None,
    extra=(),
    timeout=120,
):
    """Start ``odoo-bin`` in its own process group; returns ``(proc, url)``
    once ``/web/health`` answers."""
    odoo_bin = odoo_bin or os.path.join(ODOO_SRC, "odoo-bin")
    port = free_port(port)
    cmd = [
        sys.executable,
        odoo_bin,
        f"--config={conf}",
        f"--database={db}",
        f"--db-filter=^{db}$",
        f"--workers={workers}",
        f"--max-cron-threads={cron_threads}",
        f"--http-port={port}",
        f"--gevent-port={port + 1}",
        "--http-interface=127.0.0.1",
        f"--logfile={log_path}",
        "--log-level=info",
        *extra,
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
        wait_until_up(url, proc, log_path, timeout)
    except BaseException:
        stop(proc, kill=True)
        raise
    return proc, url


def wait_until_up(url, proc, log_path, timeout=120):
    deadline = time.monotonic() + timeout
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
        time.sleep(0.3)
    raise RuntimeError(f"Odoo server not up after {timeout}s; see {log_path}")


def stop(proc, kill=False, timeout=20):
    """Stop the server and all its processes (master, workers): SIGTERM and a
    grace period, or at once with SIGKILL when ``kill``."""
    if proc.poll() is not None:
        return
    pgid = os.getpgid(proc.pid)
    if not kill:
        os.killpg(pgid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout)
