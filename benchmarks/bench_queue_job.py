#!/usr/bin/env python3
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Job runners of two servers against one on the same backlog of loyalty
jobs (loyalty_crm_queue_job with OCA queue_job): wall time from the cron
run to the last job done, the same results, nothing done twice.

The database is made from the benchmark template with queue_job and the
bridge installed (the OCA addons ./dev setup downloads, .cache/oca). Each
round makes a backlog of ``--members`` pending member events (an email
each), then runs "Run automation on member events" as the scheduler would:
the bridge enqueues one job per ``--batch`` events on ``root.loyalty``.
Servers and proxy: tests/queue_job/_runners.py. Rounds alternate one and
two servers; the speed-up is the ratio of the medians.

Usage::

    ./dev bench bench_queue_job [--members 400] [--batch 10] [--rounds 2]
"""

import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "queue_job"))

import _cli  # noqa: E402
from _runners import Servers, check, make_backlog, process  # noqa: E402

OCA_ADDONS = os.path.join(REPO, ".cache", "oca", "odoo", "addons")


def _conf(db):
    """./dev's configuration with the OCA addons on the addons path."""
    path = os.path.join(_cli.log_dir(), "bench-queue-job.conf")
    with open(_cli.odoo_conf()) as src, open(path, "w") as dst:
        for line in src:
            if line.startswith("addons_path"):
                line = line.rstrip("\n") + f",{OCA_ADDONS}\n"
            dst.write(line)
    return path


def main():
    parser = _cli.parser(__doc__, db="lca_bench_queue_job")
    parser.add_argument("--members", type=int, default=400)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if not os.path.isdir(os.path.join(OCA_ADDONS, "queue_job")):
        sys.exit("queue_job is not in .cache/oca: run ./dev setup")
    conf = _conf(args.db)
    if _cli.module_state(args.db, "loyalty_crm_queue_job") != "installed":
        subprocess.run(["dropdb", "--if-exists", args.db], check=True)
        subprocess.run(["createdb", "-T", args.template, args.db], check=True)
        print(f"# installing queue_job and loyalty_crm_queue_job in {args.db}")
        subprocess.run(
            [
                sys.executable,
                os.path.join(_cli.ODOO_SRC, "odoo-bin"),
                f"--config={conf}",
                f"--database={args.db}",
                "--init=loyalty_crm_queue_job",
                "--without-demo=all",
                "--stop-after-init",
                "--max-cron-threads=0",
                "--http-port=0",
                "--log-level=warn",
            ],
            check=True,
        )
    import odoo
    from odoo import SUPERUSER_ID, api

    odoo.tools.config.parse_config(["-c", conf, "-d", args.db])
    registry = odoo.modules.registry.Registry(args.db)
    times = {1: [], 2: []}
    ok = True
    jobs = -(-args.members // args.batch)
    print(f"# {args.members} events, {jobs} jobs of {args.batch} per round")
    for _round in range(args.rounds):
        for servers_count in (1, 2):
            with registry.cursor() as cr:
                ids = make_backlog(api.Environment(cr, SUPERUSER_ID, {}), args.members)
            with Servers(conf, args.db, servers_count, _cli.log_dir()) as servers:
                seconds = process(servers, ids, args.batch)
                per_server = servers.runjob_counts()
            with registry.cursor() as cr:
                states, mails, with_mail = check(
                    api.Environment(cr, SUPERUSER_ID, {}), ids
                )
            good = states == {"done": args.members} and mails == with_mail == len(ids)
            ok &= good
            times[servers_count].append(seconds)
            print(
                f"{servers_count} server(s): {seconds:6.1f}s  jobs per server"
                f" {per_server}  events {states}  emails {mails}"
                f" {'' if good else ' <- WRONG'}",
                flush=True,
            )
    one, two = statistics.median(times[1]), statistics.median(times[2])
    print(f"median: one server {one:.1f}s, two servers {two:.1f}s")
    print(f"speed-up of two runners: {one / two:.2f}x")
    print(f"same results, nothing done twice: {_cli.verdict(ok)}")


if __name__ == "__main__":
    main()
