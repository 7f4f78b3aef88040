"""A streaming read replica of the PostgreSQL cluster the tests use, on this
machine (Debian's postgresql-common tools): cluster ``VERSION/replica`` on
port 5433 (``LOYALTY_REPLICA_PORT``), a ``pg_basebackup -R`` of the primary
that streams from it. Made when missing, started when stopped, rebuilt when
it cannot catch up; stopped again by ``stop()``.

Root (or sudo) is needed, as for ``./dev setup``'s PostgreSQL steps."""

import os
import subprocess
import time

import psycopg2

NAME = "replica"
PORT = int(os.environ.get("LOYALTY_REPLICA_PORT", "5433"))
SOCKET_DIR = "/var/run/postgresql"
CATCH_UP_TIMEOUT = 300  # seconds


def _run(*cmd, user=None, check=True):
    if user:
        cmd = ("runuser", "-u", user, "--", *cmd)
    if os.geteuid() != 0:
        cmd = ("sudo", *cmd)
    proc = subprocess.run(
        cmd, cwd="/", check=False, capture_output=True, text=True, timeout=1800
    )
    if check and proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)}: {proc.stderr.strip() or proc.returncode}")
    return proc


def clusters():
    """``{(version, name): (port, status, log_file)}`` of ``pg_lsclusters``."""
    out = subprocess.run(
        ["pg_lsclusters", "-h"], check=True, capture_output=True, text=True
    ).stdout
    found = {}
    for line in out.splitlines():
        ver, name, port, status, _owner, _data, log = line.split(None, 6)
        found[(ver, name)] = (int(port), status, log)
    return found


def primary():
    """``(version, name, port, log_file)`` of the cluster the tests use."""
    port = int(os.environ.get("PGPORT", "5432"))
    for (ver, name), (cport, status, log) in clusters().items():
        if cport == port and name != NAME and status.startswith("online"):
            return ver, name, port, log
    raise RuntimeError(f"no online PostgreSQL cluster on port {port}")


def connect(port, dbname="postgres"):
    return psycopg2.connect(host=SOCKET_DIR, port=port, dbname=dbname)


def _query(port, sql, dbname="postgres"):
    with connect(port, dbname) as cnx, cnx.cursor() as cr:
        cr.execute(sql)
        return cr.fetchone()[0]


def _build(version, primary_port):
    if (version, NAME) in clusters():
        _run("pg_dropcluster", "--stop", version, NAME)
    _run("pg_createcluster", version, NAME, "--port", str(PORT))
    data = f"/var/lib/postgresql/{version}/{NAME}"
    _run("find", data, "-mindepth", "1", "-delete")
    # the replication connection: local socket, peer authentication of the
    # postgres superuser (Debian's default pg_hba "local replication all peer")
    _run(
        "pg_basebackup",
        "-D",
        data,
        "-R",  # standby.signal + primary_conninfo: a streaming standby
        "-X",
        "stream",
        "--checkpoint=fast",  # not waiting for the primary's next checkpoint
        "-h",
        SOCKET_DIR,
        "-p",
        str(primary_port),
        "-U",
        "postgres",
        user="postgres",
    )
    # pg_ctl's own wait may end before the first start's fsync of the copy
    # does: wait_caught_up() is the check
    _run("pg_ctlcluster", version, NAME, "start", check=False)


def wait_caught_up(primary_port, timeout=CATCH_UP_TIMEOUT):
    """Wait until the replica replayed everything the primary wrote so far."""
    target = _query(primary_port, "SELECT pg_current_wal_lsn()::text")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if _query(
                PORT,
                "SELECT pg_is_in_recovery() AND pg_last_wal_replay_lsn()"
                f" >= '{target}'::pg_lsn",
            ):
                return True
        except psycopg2.OperationalError:
            pass
        time.sleep(0.5)
    return False


def ensure():
    """The replica, online and caught up; returns ``(version, port, log)``."""
    version, _name, primary_port, _log = primary()
    state = clusters().get((version, NAME))
    if state and state[0] != PORT:
        raise RuntimeError(f"cluster {version}/{NAME} exists on port {state[0]}")
    if state and not state[1].startswith("online"):
        _run("pg_ctlcluster", version, NAME, "start", check=False)
    if not state or not wait_caught_up(primary_port):
        _build(version, primary_port)
        if not wait_caught_up(primary_port, timeout=600):
            raise RuntimeError(f"the replica {version}/{NAME} does not catch up")
    return version, PORT, clusters()[(version, NAME)][2]


def stop():
    version = primary()[0]
    if (version, NAME) in clusters():
        _run("pg_ctlcluster", version, NAME, "stop", check=False)
