# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What the benchmark scripts share: where Odoo and the addon are, the
command line every script starts with (its docstring as help, the
``--template`` option), PASS/FAIL verdicts, and the databases they build
from the template (``ensure_db``) and open (``registry``).

``./dev bench NAME`` sets the environment read here (``ODOO_SRC``,
``LOYALTY_BENCH_TEMPLATE``, ``LOYALTY_ODOO_CONF``, ``LOYALTY_LOG_DIR``); the
defaults let a script run by hand too.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
ODOO_SRC = os.environ.get("ODOO_ROOT") or os.environ.get(
    "ODOO_SRC", os.path.expanduser("~/odoo-18.0")
)
ADDON = "loyalty_crm_addon"
TEMPLATE = os.environ.get("LOYALTY_BENCH_TEMPLATE", "lca_base")


def parser(doc, db=None, odoo_root=False):
    """The script's argument parser: its docstring's first paragraph as
    description, ``--template`` (and ``--db`` with a default when ``db``,
    ``--odoo-root`` when ``odoo_root``)."""
    result = argparse.ArgumentParser(description=doc.strip().split("\n\n")[0])
    result.add_argument(
        "--template",
        default=TEMPLATE,
        help="database with the addon's dependencies the benchmark databases "
        "are made from (default: %(default)s)",
    )
    if db:
        result.add_argument("--db", default=db)
    if odoo_root:
        result.add_argument("--odoo-root", default=ODOO_SRC)
    return result


def verdict(ok):
    return "PASS" if ok else "FAIL"


def psql(db, query):
    """Output of ``query`` run on ``db`` by psql (unaligned, tuples only)."""
    return subprocess.run(
        ["psql", "-d", db, "-Atc", query], capture_output=True, text=True, check=True
    ).stdout.strip()


def odoo_conf():
    """The Odoo configuration file ``./dev`` wrote for this checkout."""
    conf = os.environ.get("LOYALTY_ODOO_CONF") or os.environ.get("ODOO_RC")
    if not conf:
        sys.exit("run through ./dev bench (it sets LOYALTY_ODOO_CONF)")
    return conf


def log_dir():
    path = os.environ.get("LOYALTY_LOG_DIR") or os.path.join(REPO, ".logs")
    os.makedirs(path, exist_ok=True)
    return path


def registry(db, *options, odoo_root=ODOO_SRC, addons_dir=REPO):
    """The Odoo registry of ``db`` in this process (the addon from
    ``addons_dir``)."""
    if odoo_root not in sys.path:
        sys.path.insert(0, odoo_root)
    import odoo

    odoo.tools.config.parse_config(
        ["-d", db, f"--addons-path={addons_path(odoo_root, addons_dir)}", *options]
    )
    return odoo.modules.registry.Registry(db)


# ----------------------------------------------------------------------------
# Database helpers (parent process)
# ----------------------------------------------------------------------------
def db_exists(name):
    return (
        psql(
            "postgres",
            f"SELECT 1 FROM pg_database WHERE datname = {_sql_literal(name)}",
        )
        == "1"
    )


def _sql_literal(value):
    return "'" + value.replace("'", "''") + "'"


def module_state(db, module):
    state = psql(
        db, f"SELECT state FROM ir_module_module WHERE name = {_sql_literal(module)}"
    )
    return state or "absent"


def addons_path(odoo_root=ODOO_SRC, addons_dir=REPO):
    return ",".join(
        [
            os.path.join(odoo_root, "addons"),
            os.path.join(odoo_root, "odoo", "addons"),
            addons_dir,
        ]
    )


def snapshot_addon(addons_dir=REPO):
    """Copy the addon to a scratch folder so that every step of one run (the
    -u and all workers) sees the same code while others keep editing it.
    Returns (folder to put in the addons path, short digest of the code)."""
    import hashlib
    import shutil
    import tempfile

    src = os.path.join(addons_dir, ADDON)
    dest_root = tempfile.mkdtemp(prefix="lca_bench_")
    dest = os.path.join(dest_root, ADDON)
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    digest = hashlib.sha1()
    for root, dirs, files in sorted(os.walk(dest)):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            digest.update(os.path.relpath(path, dest).encode())
            with open(path, "rb") as fh:
                digest.update(fh.read())
    return dest_root, digest.hexdigest()[:12]


def odoo_bin(name, odoo_root, option, addons_dir=REPO):
    subprocess.run(
        [
            sys.executable,
            os.path.join(odoo_root, "odoo-bin"),
            "-d",
            name,
            f"--addons-path={addons_path(odoo_root, addons_dir)}",
            option,
            ADDON,
            "--stop-after-init",
            "--log-level=warn",
        ],
        cwd=odoo_root,
        check=True,
    )


def ensure_db(name, template, odoo_root, with_addon, update=True, addons_dir=REPO):
    """Create ``name`` from ``template`` when missing (installing the addon when
    ``with_addon``); an existing addon db is updated (-u) so its schema follows
    the addon's current code."""
    if not db_exists(name):
        print(f"# creating {name} from {template}", flush=True)
        subprocess.run(["createdb", "-T", template, name], check=True)
        if with_addon:
            print(f"# installing {ADDON} in {name}", flush=True)
            odoo_bin(name, odoo_root, "-i", addons_dir)
    elif with_addon and update:
        print(f"# updating {ADDON} in {name}", flush=True)
        odoo_bin(name, odoo_root, "-u", addons_dir)
    # Earlier rolled-back runs leave dead rows: clean them so that both dbs
    # start alike (planner statistics, no bloat).
    subprocess.run(["vacuumdb", "--quiet", "--analyze", name], check=True)
    state = module_state(name, ADDON)
    if with_addon and state != "installed":
        sys.exit(f"{name}: {ADDON} is {state}, expected installed")
    if not with_addon and state == "installed":
        sys.exit(f"{name}: {ADDON} is installed, the native db must not have it")


# Lockstep pairs: the native and the addon workers run at once, set up their
# data in parallel, then confirm their orders in turns, one order each (who
# goes first alternates): both meet the same machine, minute by minute. On a
# shared virtual machine the CPU time of the same work drifts by a third
# from one minute to the next; two runs a minute apart compare the machine.
class Lockstep:
    """A worker's side of the turns (nothing when not in lockstep)."""

    def __init__(self, on):
        self.on = on

    def _say(self, word):
        if self.on:
            sys.stdout.write(word + "\n")
            sys.stdout.flush()

    def ready(self):
        self._say("READY")

    def wait(self):
        if self.on and not sys.stdin.readline():
            raise SystemExit("lockstep: the coordinator went away")

    def done(self):
        self._say("DONE")


def _wait_for(proc, token, what, log=None):
    while True:
        line = proc.stdout.readline()
        if not line:
            proc.wait()
            if log is not None:
                log.seek(0)
                sys.stderr.write(log.read()[-5000:])
            raise SystemExit(f"worker failed on {what} (exit {proc.returncode})")
        if line.strip() == token:
            return


def lockstep_pair(cmds, steps):
    """Run the workers of ``cmds`` ({label: command}) in lockstep for
    ``steps`` orders; returns {label: the JSON of its RESULT line}."""
    # What the workers log goes to files: a full pipe would stop them.
    logs = {label: tempfile.TemporaryFile("w+") for label in cmds}
    procs = {
        label: subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=logs[label],
            text=True,
        )
        for label, cmd in cmds.items()
    }
    try:
        for label, proc in procs.items():
            _wait_for(proc, "READY", label, logs[label])
        labels = list(procs)
        for step in range(steps):
            for label in labels if step % 2 == 0 else labels[::-1]:
                procs[label].stdin.write("go\n")
                procs[label].stdin.flush()
                _wait_for(procs[label], "DONE", label, logs[label])
        results = {}
        for label, proc in procs.items():
            out, _err = proc.communicate()
            for line in out.splitlines():
                if line.startswith("RESULT "):
                    results[label] = json.loads(line[len("RESULT ") :])
            if label not in results:
                logs[label].seek(0)
                sys.stderr.write(out[-5000:] + logs[label].read()[-5000:])
                raise SystemExit(f"worker failed on {label}")
        return results
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()


def worker_result(cmd, what):
    """Run a benchmark's worker process and return the JSON of its
    ``RESULT`` line; without one, show the end of its output and stop."""
    proc = subprocess.run(cmd, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    sys.stderr.write(proc.stdout[-5000:] + proc.stderr[-5000:])
    raise SystemExit(f"worker failed on {what}")


# Time and calls of the addon's KPI order-fact refreshes in this process.
FACTS = {"ms": 0.0, "calls": 0}


class GcTimer:
    """CPU time Python's garbage collector takes while started: a process
    whose registry holds more models and fields walks more objects at each
    full collection."""

    def __init__(self):
        import gc  # noqa: PLC0415

        self.seconds, self.runs = 0.0, 0
        self._on, self._t0 = False, None
        gc.callbacks.append(self._callback)

    def _callback(self, phase, info):
        if not self._on:
            return
        if phase == "start":
            self._t0 = time.process_time()
        elif self._t0 is not None:
            self.seconds += time.process_time() - self._t0
            self.runs += 1
            self._t0 = None

    def start(self, on=True):
        self._on = on

    def stop(self):
        self._on = False


def track_order_facts(cr):
    """Time what keeping the addon's KPI order facts costs a transaction
    that changed orders or cards (kpi/order_facts.py: before it commits,
    ``loyalty.kpi.order._queue_facts`` queues the customers touched; the
    refresh cron rebuilds them later) in this process; nothing to time
    without the addon."""
    try:
        from odoo.addons.loyalty_crm_addon.models.loyalty_kpi_order import (
            LoyaltyKpiOrder,
        )
    except ImportError:
        return
    if getattr(LoyaltyKpiOrder._queue_facts, "timed", False):
        return
    refresh = LoyaltyKpiOrder._queue_facts

    def timed(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return refresh(*args, **kwargs)
        finally:
            FACTS["ms"] += (time.perf_counter() - t0) * 1000
            FACTS["calls"] += 1

    timed.timed = True
    LoyaltyKpiOrder._queue_facts = timed


def order_facts_time(cr):
    """(milliseconds, calls) the order-fact refreshes took in this process
    so far; (0, 0) without the addon."""
    return FACTS["ms"], FACTS["calls"]


def facts_line(res, wall_s, n):
    """What keeping the order facts cost, from a worker's ``facts_ms``."""
    ms = res.get("facts_ms")
    if ms is None:
        return ""
    return (
        f"   of which the KPI order facts (queued before commit, "
        f"kpi/order_facts.py): {ms / n:.2f} ms per order in "
        f"{res['facts_calls'] / n:.1f} calls, {100 * ms / 1000 / wall_s:.1f}% "
        f"of the addon's time"
    )
