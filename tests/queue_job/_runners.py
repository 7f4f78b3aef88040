"""Job runners on several servers sharing one backlog of loyalty jobs
(used by test_two_runners.py and benchmarks/bench_queue_job.py).

queue_job's runner is one per database (the others wait on an advisory
lock, to take over); it sends each job to ``host:port`` of its
``[queue_job]`` section, in production a load balancer in front of the
servers. Here: server A runs the job runner, the jobs go to a small
round-robin TCP proxy in front of servers A and B (B, started with
``queue_job`` too, has its runner waiting). With one server the proxy has
A alone. Each server has ``--workers=2``; the ``root.loyalty`` channel's
capacity is the number of servers: one job at a time per server.

The backlog: members of a new membership program with ``points_reached``
events pending (their shipped rule sends an email each), processed by the
"Run automation on member events" scheduled action, which with the bridge
enqueues one job per batch."""

import itertools
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import xmlrpc.client
from pathlib import Path

ODOO_SRC = Path(os.environ.get("ODOO_SRC", os.path.expanduser("~/odoo-18.0")))
ADMIN = ("admin", "admin")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proxy:
    """Round-robin TCP proxy: each connection to the next backend."""

    def __init__(self, backends):
        self.backends = itertools.cycle(backends)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                port = next(self.backends)
            try:
                upstream = socket.create_connection(("127.0.0.1", port))
            except OSError:
                client.close()
                continue
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(
                    target=self._pipe, args=(src, dst), daemon=True
                ).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.sock.close()


def _start(conf, db, port, log, env):
    cmd = [
        sys.executable,
        str(ODOO_SRC / "odoo-bin"),
        f"--config={conf}",
        f"--database={db}",
        f"--db-filter=^{db}$",
        "--workers=2",
        "--max-cron-threads=0",
        "--load=base,web,queue_job",
        f"--http-port={port}",
        f"--gevent-port={free_port()}",
        "--http-interface=127.0.0.1",
        f"--logfile={log}",
        "--log-level=info",
    ]
    return subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=env,
    )


def _wait_up(port, proc, log, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Odoo exited with {proc.returncode}; see {log}")
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{port}/web/health", timeout=5
            ):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"Odoo not up after {timeout}s; see {log}")


def _stop(proc):
    import signal

    if proc.poll() is None:
        os.killpg(os.getpgid(proc.pid), signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(os.getpgid(proc.pid), signal.SIGKILL)
            proc.wait(20)


class Servers:
    """``count`` servers on ``db``, the first one's job runner leading, jobs
    spread by the proxy; a context manager."""

    def __init__(self, conf, db, count, log_dir):
        self.conf, self.db, self.count = conf, db, count
        self.log_dir = Path(log_dir)
        self.procs, self.ports, self.proxy = [], [], None

    def __enter__(self):
        self.ports = [free_port() for _ in range(self.count)]
        self.proxy = Proxy(self.ports)
        env = dict(
            os.environ,
            ODOO_QUEUE_JOB_CHANNELS=f"root:{self.count},root.loyalty:{self.count}",
            ODOO_QUEUE_JOB_PORT=str(self.proxy.port),
            ODOO_QUEUE_JOB_HOST="127.0.0.1",
        )
        try:
            for rank, port in enumerate(self.ports):
                log = self.log_dir / f"queue-job-server-{self.count}-{rank}.log"
                log.unlink(missing_ok=True)
                proc = _start(self.conf, self.db, port, log, env)
                self.procs.append(proc)
                _wait_up(port, proc, log)
                if rank == 0:
                    time.sleep(2)  # the first runner leads
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        for proc in self.procs:
            _stop(proc)
        if self.proxy:
            self.proxy.close()

    def rpc(self):
        return RPC(f"http://127.0.0.1:{self.ports[0]}", self.db)

    def runjob_counts(self):
        """How many jobs each server ran (its log's runjob requests)."""
        counts = []
        for rank in range(self.count):
            log = self.log_dir / f"queue-job-server-{self.count}-{rank}.log"
            text = log.read_text(errors="replace") if log.exists() else ""
            counts.append(text.count("/queue_job/runjob"))
        return counts


class RPC:
    def __init__(self, url, db):
        self.db = db
        common = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common")
        self.uid = common.authenticate(db, *ADMIN, {})
        self.models = xmlrpc.client.ServerProxy(
            f"{url}/xmlrpc/2/object", allow_none=True
        )

    def __call__(self, model, method, *args, **kwargs):
        return self.models.execute_kw(
            self.db, self.uid, ADMIN[1], model, method, list(args), kwargs
        )


def make_backlog(env, members):
    """A new membership program with ``members`` members, each with a
    ``points_reached`` event pending; committed. Returns the event ids."""
    tag = f"qj{time.time_ns()}"
    program = env["loyalty.program"].create(
        {
            "name": f"Queue club {tag}",
            "program_type": "loyalty",
            "trigger": "auto",
            "applies_on": "both",
            "rule_ids": [
                (5, 0, 0),
                (0, 0, {"reward_point_mode": "money", "reward_point_amount": 1}),
            ],
        }
    )
    partners = env["res.partner"].create(
        [
            {"name": f"Member {tag} {i}", "email": f"{tag}.{i}@example.com"}
            for i in range(members)
        ]
    )
    cards = env["loyalty.card"].create(
        [{"program_id": program.id, "partner_id": p.id, "points": 0} for p in partners]
    )
    Event = env["loyalty.member.event"]
    events = Event._emit(
        [
            Event._prepare_event(
                card,
                "points_reached",
                f"points_reached:{tag}:{card.id}",
                points=100,
                description="100 points",
            )
            for card in cards
        ]
    )
    env.cr.commit()
    return events.ids


def process(servers, event_ids, batch_size, timeout=900):
    """Run the events cron as the scheduler would (Run Manually), wait until
    every job is done; returns the seconds from the cron run to the last job
    done."""
    rpc = servers.rpc()
    cron_id = rpc(
        "ir.model.data",
        "search_read",
        [
            ("module", "=", "loyalty_crm_addon"),
            ("name", "=", "ir_cron_loyalty_process_events"),
        ],
        fields=["res_id"],
    )[0]["res_id"]
    rpc(
        "ir.cron",
        "write",
        [cron_id],
        {"code": f"model._cron_process_events(batch_size={batch_size})"},
    )
    start = time.monotonic()
    rpc("ir.cron", "method_direct_trigger", [cron_id])
    deadline = start + timeout
    while time.monotonic() < deadline:
        left = rpc(
            "queue.job",
            "search_count",
            [
                ("model_name", "=", "loyalty.member.event"),
                ("state", "not in", ["done", "failed", "cancelled"]),
            ],
        )
        if not left:
            return time.monotonic() - start
        time.sleep(0.2)
    raise RuntimeError(f"jobs not done after {timeout}s")


def check(env, event_ids):
    """``(events done, events not done, mails per event)`` of the backlog."""
    env.cr.execute(
        "SELECT state, COUNT(*) FROM loyalty_member_event WHERE id = ANY(%s)"
        " GROUP BY state",
        [event_ids],
    )
    states = dict(env.cr.fetchall())
    env.cr.execute(
        """
        SELECT COUNT(*), COUNT(DISTINCT e.id)
          FROM loyalty_member_event e
          JOIN mail_message m ON m.model = 'loyalty.member.event' AND m.res_id = e.id
         WHERE e.id = ANY(%s) AND m.message_type IN ('email', 'email_outgoing')
        """,
        [event_ids],
    )
    mails, with_mail = env.cr.fetchone()
    return states, mails, with_mail
