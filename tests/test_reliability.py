"""Reliability under load and faults, against real multi-worker Odoo servers.

* 1,000 concurrent redemption attempts over XML-RPC, by the API and by till
  orders (payment validation, order sync and loyalty confirmation, as the
  till calls them), never overspend and keep every card equal to the sum of
  its posted ledger lines.
* Each batched cron (expiry, release, tier review, inactivity) is started
  through the server (``ir.cron.method_direct_trigger``, which runs the cron
  with a progress record so that it commits between batches), the server is
  killed with SIGKILL after the first batch was committed, restarted, and the
  cron run again: nothing is lost, nothing is done twice.
* The access matrix of every model of the addon (read from the registry, so
  new models are covered) for internal users, loyalty managers,
  salespeople, POS users, portal and public users.

The cron data is generated set-based (``benchmarks/_datagen.py``) in the test
database and committed, as the server only sees committed data.
"""

import json
import os
import re
import sys
import threading
import time
import urllib.request
import uuid
import xmlrpc.client
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import OdooRPC

import odoo
from odoo import SUPERUSER_ID, api

BENCH_DIR = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH_DIR))

import _datagen  # noqa: E402
import _server  # noqa: E402
from bench_pos_sync import _setup, _till_calls  # noqa: E402

ADDON = "loyalty_crm_addon"
ATTEMPTS = 1000
CLIENTS = 20
MEMBERS = 10
POINTS_EACH = 200  # what the till benchmark's members hold
TILL_COST = 30
# one attempt in TILL_EVERY is a till order (three calls to the server)
TILL_EVERY = 10
TILL_ORDERS_PER_MEMBER = ATTEMPTS // TILL_EVERY // MEMBERS + 1

# Cron data: enough that each run takes several batches of the sizes below.
CRON_MEMBERS = 10000
EVERY = {
    "expire_due_every": 2,
    "release_due_every": 2,
    "stale_every": 50,
    "inactive_every": 50,
}
# The cron's own code is run with a smaller batch size, so that a run on the
# test data commits ten times or so and can be killed between two commits.
CRONS = {
    "expire": ("ir_cron_loyalty_expire_points", 500),
    "release": ("ir_cron_loyalty_release_pending", 500),
    "tiers": ("ir_cron_loyalty_review_tiers", 20),
    "inactivity": ("ir_cron_loyalty_inactivity", 20),
}
KILL_WAIT = 120  # seconds to see the first committed batch


# ---------------------------------------------------------------------------
# Concurrent redemptions: API and till
# ---------------------------------------------------------------------------
def _ledger_sums(rpc, card_ids):
    lines = rpc.execute(
        "loyalty.ledger.line",
        "search_read",
        [("card_id", "in", card_ids), ("state", "=", "posted")],
        fields=["card_id", "points"],
    )
    sums = dict.fromkeys(card_ids, 0.0)
    for line in lines:
        sums[line["card_id"][0]] += line["points"]
    return sums


@pytest.fixture(scope="module")
def till(registry):
    """A till with an open session, a membership program (the company's)
    whose reward costs ``TILL_COST`` points and whose orders earn none, and
    ``MEMBERS`` members holding ``POINTS_EACH`` points; committed.
    Returns ids and the till's payload of an order spending the reward of
    each member (``_till_calls``, as the till sends it)."""
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        env = env(user=env.ref("base.user_admin").id)
        # the till benchmark's till, program and members (the company's
        # membership program), then: services (no stock moves), a reward of
        # TILL_COST points, orders that earn nothing (the members' points
        # are known)
        config, cash, products, program, partners, card_of = _setup(env, MEMBERS)
        products.write({"type": "service"})
        program.reward_ids.required_points = TILL_COST
        program.rule_ids.minimum_amount = 10**6
        program.loyalty_points_milestone = 0
        cards = {partner.id: card_of[partner].id for partner in partners}
        payloads = {}
        for partner in partners:
            card = card_of[partner]
            payloads[partner.id] = []
            for _ in range(TILL_ORDERS_PER_MEMBER):
                validate, hold, order, confirm = _till_calls(
                    config, cash, products, program, partner, card, spend=True
                )
                # the till's own figures: the order earns nothing here
                validate[0][str(card.id)] = confirm[str(card.id)]["points"] = -TILL_COST
                payloads[partner.id].append((validate, hold, order, confirm))
        env.flush_all()
        session_id = config.current_session_id.id
    return {
        "cards": cards,
        "payloads": payloads,
        "session_id": session_id,
        "partners": partners.ids,
    }


class TillError(Exception):
    """An error the server answered the till with."""


class TillClient:
    """The till's way to the server: JSON-RPC (``/web/dataset/call_kw``) in
    a user's web session, as the point of sale's browser calls it."""

    def __init__(self, url, session_id):
        self.url, self.session_id = url, session_id

    @classmethod
    def login(cls, url, db, login="admin", password="admin"):
        client = cls(url, None)
        client.session_id = client._call(
            "/web/session/authenticate",
            {"db": db, "login": login, "password": password},
            session=True,
        )
        return client

    def _call(self, path, params, session=False):
        request = urllib.request.Request(
            self.url + path,
            json.dumps({"jsonrpc": "2.0", "method": "call", "params": params}).encode(),
            {"Content-Type": "application/json"},
        )
        if self.session_id:
            request.add_header("Cookie", f"session_id={self.session_id}")
        with urllib.request.urlopen(request, timeout=600) as response:
            reply = json.load(response)
            cookies = response.headers.get_all("Set-Cookie") or []
        if "error" in reply:
            raise TillError(reply["error"]["data"]["message"])
        if session:
            return next(
                c.split(";")[0].split("=", 1)[1]
                for c in cookies
                if c.startswith("session_id=")
            )
        return reply["result"]

    def execute(self, model, method, *args, **kwargs):
        return self._call(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
        )


def _till_order(till_client, payload):
    """A till order spending points, as the till calls the server: payment
    validated (points held), order synced, loyalty confirmed. Returns the
    order id, or the refusal."""
    (point_changes, new_codes), kwargs, order, confirm = payload
    checked = till_client.execute(
        "pos.order", "validate_coupon_programs", [], point_changes, new_codes, **kwargs
    )
    if not checked.get("successful"):
        return checked["payload"]["message"]
    synced = till_client.execute("pos.order", "sync_from_ui", [order])
    order_id = synced["pos.order"][0]["id"]
    till_client.execute("pos.order", "confirm_coupon_programs", [order_id], confirm)
    return order_id


def test_thousand_concurrent_redemptions_api_and_till_never_overspend(rush, till):
    """20 clients make 1,000 attempts to spend points of 10 members holding
    200 points each, by the API (1 point) and at the till (an order whose
    reward costs 30 points: validation, sync and confirmation, called as the
    till calls them, over JSON-RPC in a web session), against a server of 4
    workers: what the members hold is spent and no more, each till order
    validated is paid its full cost, the rest is refused; no card goes below
    zero, every card equals its ledger."""
    rpc = rush
    partner_ids = till["partners"]
    cards = till["cards"]
    payloads = {pid: list(p) for pid, p in till["payloads"].items()}
    lock = threading.Lock()
    session = TillClient.login(rpc.url, rpc.db).session_id

    def client(index):
        api_client = OdooRPC(rpc.url, rpc.db)  # a connection of its own
        till_client = TillClient(rpc.url, session)  # the till's session
        outcome = []
        for attempt in range(ATTEMPTS // CLIENTS):
            partner_id = partner_ids[(index + attempt) % MEMBERS]
            payload = None
            # every member gets API and till attempts
            if attempt % TILL_EVERY == 0:
                with lock:
                    payload = payloads[partner_id] and payloads[partner_id].pop()
            try:
                if payload:
                    result = _till_order(till_client, payload)
                    kind = "till"
                else:
                    kind = "api"
                    result = api_client.execute(
                        "res.partner",
                        "loyalty_redeem_points",
                        [partner_id],
                        1,
                        f"Kiosk {index}-{attempt}",
                    )
                outcome.append((partner_id, kind, result))
            except xmlrpc.client.Fault as fault:
                outcome.append((partner_id, "refused", fault.faultString))
            except TillError as error:
                outcome.append((partner_id, "refused", str(error)))
        return outcome

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        results = [r for chunk in pool.map(client, range(CLIENTS)) for r in chunk]

    assert len(results) == ATTEMPTS
    api_granted = dict.fromkeys(partner_ids, 0)
    till_orders = []
    for partner_id, kind, result in results:
        if kind == "api":
            api_granted[partner_id] += 1
        elif kind == "till" and isinstance(result, int):
            till_orders.append(result)
        else:
            # refused for want of points (the till is told so at payment),
            # or (rarely, under contention) a concurrency error after Odoo's
            # retries: nothing was written
            assert (
                "Not enough points" in result
                or "points available" in result
                or "serialize" in result
            ), result
    assert till_orders, "no till order went through"
    # every till order validated was paid its full cost from the ledger
    spent_at_till = dict.fromkeys(partner_ids, 0.0)
    lines = rpc.execute(
        "loyalty.ledger.line",
        "search_read",
        [("pos_order_id", "in", till_orders)],
        fields=["pos_order_id", "partner_id", "entry_type", "points"],
    )
    paid = {line["pos_order_id"][0]: line for line in lines}
    assert set(paid) == set(till_orders), "a validated till order was not paid"
    for line in lines:
        assert line["entry_type"] == "redeem" and line["points"] == -TILL_COST, line
        spent_at_till[line["partner_id"][0]] += TILL_COST
    points = {
        card["id"]: card["points"]
        for card in rpc.execute(
            "loyalty.card", "read", list(cards.values()), ["points"]
        )
    }
    sums = _ledger_sums(rpc, list(cards.values()))
    for partner_id, card_id in cards.items():
        spent = api_granted[partner_id] + spent_at_till[partner_id]
        assert points[card_id] >= 0
        assert points[card_id] == pytest.approx(POINTS_EACH - spent)
        assert sums[card_id] == pytest.approx(points[card_id])
    # the members were asked for far more than they hold: nearly all spent
    assert sum(points.values()) <= MEMBERS * POINTS_EACH * 0.1, points


# ---------------------------------------------------------------------------
# Crons killed mid-run
# ---------------------------------------------------------------------------
class Server:
    """One Odoo server (2 workers, no cron thread) on the test db, killed and
    restarted by the tests."""

    def __init__(self, db, conf, log_path, workers=2):
        self.db, self.conf, self.log_path = db, conf, log_path
        self.workers = workers
        self.proc = self.url = None

    def ensure(self):
        if not self.proc or self.proc.poll() is not None:
            self.proc, self.url = _server.start(
                self.db, self.conf, self.log_path, workers=self.workers
            )
        return OdooRPC(self.url, self.db)

    def kill(self):
        _server.stop(self.proc, kill=True)

    def stop(self):
        if self.proc:
            _server.stop(self.proc)


@pytest.fixture(scope="module")
def registry(pytestconfig):
    db = pytestconfig.getoption("--odoo-database") or odoo.tools.config["db_name"]
    return odoo.modules.registry.Registry(db)


def _server_for(pytestconfig, registry, name, workers=2):
    conf = pytestconfig.getoption("--odoo-config") or odoo.tools.config.rcfile
    log_dir = Path(os.environ.get("LOYALTY_LOG_DIR") or Path(conf).resolve().parent)
    return Server(registry.db_name, conf, str(log_dir / name), workers=workers)


@pytest.fixture(scope="module")
def server(pytestconfig, registry):
    srv = _server_for(pytestconfig, registry, "test-reliability-server.log")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def rush(pytestconfig, registry):
    """A server of 4 workers, as the redemption benchmark's, for the
    concurrent redemptions: its listen queue (8 per worker) holds the 20
    clients while till orders take seconds each."""
    srv = _server_for(
        pytestconfig, registry, "test-reliability-rush-server.log", workers=4
    )
    yield srv.ensure()
    srv.stop()


@pytest.fixture(scope="module")
def cron_data(registry):
    """A membership program of 10,000 generated members (100,000 ledger
    lines) with work for every cron; committed."""
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        figures = _datagen.generate(
            env,
            CRON_MEMBERS,
            orders=False,
            set_company_program=False,
            drop_indexes=False,
            log=lambda _msg: None,
            **EVERY,
        )
        # no milestone emails: the release cron's own work is what is tested
        env["loyalty.program"].browse(figures["program_id"]).write(
            {"loyalty_points_milestone": 0}
        )
        env.flush_all()
    assert figures["cards_not_matching_ledger"] == 0
    return figures


def _query(registry, query, params=None):
    with registry.cursor() as cr:
        cr.execute(query, params or {})
        return cr.fetchall()


def _invariant_breaches(registry):
    return _query(
        registry,
        """
        SELECT c.id, c.points, COALESCE(l.points, 0)
          FROM loyalty_card c
          JOIN loyalty_program p ON p.id = c.program_id AND p.program_type = 'loyalty'
          LEFT JOIN (SELECT card_id, SUM(points) AS points FROM loyalty_ledger_line
                      WHERE state = 'posted' GROUP BY card_id) l ON l.card_id = c.id
         WHERE ABS(c.points - COALESCE(l.points, 0)) > 0.005 OR c.points < 0
        """,
    )


def _state(registry, kind, program_id, since):
    """What the cron has done so far, per card or member."""
    p = {"program": program_id, "since": since}
    if kind == "expire":
        done = _query(
            registry,
            """
            SELECT card_id, COUNT(*), SUM(points) FROM loyalty_ledger_line
             WHERE program_id = %(program)s AND entry_type = 'expire'
               AND create_date >= %(since)s GROUP BY card_id
            """,
            p,
        )
        return {card: (n, round(float(pts), 2)) for card, n, pts in done}
    if kind == "release":
        return dict(
            _query(
                registry,
                "SELECT id, points::float FROM loyalty_card"
                " WHERE program_id = %(program)s",
                p,
            )
        )
    if kind == "tiers":
        return dict(
            _query(
                registry,
                """
                SELECT card_id, COUNT(*) FROM loyalty_member_event
                 WHERE program_id = %(program)s AND event_type = 'tier_downgrade'
                   AND create_date >= %(since)s GROUP BY card_id
                """,
                p,
            )
        )
    return dict(
        _query(
            registry,
            """
            SELECT partner_id, COUNT(*) FROM loyalty_member_event
             WHERE program_id = %(program)s AND event_type = 'inactive'
               AND create_date >= %(since)s GROUP BY partner_id
            """,
            p,
        )
    )


def _expected(registry, kind, program_id):
    """What a complete run must end with, computed before it."""
    p = {"program": program_id}
    if kind == "expire":
        rows = _query(
            registry,
            """
            SELECT card_id, 1, -ROUND(SUM(points_residual)::numeric, 2)
              FROM loyalty_ledger_line
             WHERE program_id = %(program)s AND state = 'posted'
               AND points_residual > 0 AND expiry_date < CURRENT_DATE
             GROUP BY card_id
            """,
            p,
        )
        return {card: (n, round(float(pts), 2)) for card, n, pts in rows}
    if kind == "release":
        rows = _query(
            registry,
            """
            SELECT c.id, (c.points + COALESCE(SUM(l.points), 0))::float
              FROM loyalty_card c
              LEFT JOIN loyalty_ledger_line l
                     ON l.card_id = c.id AND l.state = 'pending'
                    AND l.release_date <= CURRENT_DATE
             WHERE c.program_id = %(program)s GROUP BY c.id
            """,
            p,
        )
        return dict(rows)
    if kind == "tiers":
        rows = _query(
            registry,
            """
            WITH q AS (
                SELECT card_id, SUM(points) AS pts FROM loyalty_ledger_line
                 WHERE program_id = %(program)s AND tier_qualifying
                   AND date >= (now() at time zone 'UTC') - interval '365 days'
                 GROUP BY card_id)
            SELECT c.id, 1 FROM loyalty_card c
              LEFT JOIN q ON q.card_id = c.id
              JOIN loyalty_tier cur ON cur.id = c.loyalty_tier_id
             WHERE c.program_id = %(program)s
               AND cur.threshold > COALESCE(q.pts, 0)
            """,
            p,
        )
        return dict(rows)
    rows = _query(
        registry,
        """
        SELECT c.partner_id, 1 FROM loyalty_card c
          JOIN res_partner p ON p.id = c.partner_id
         WHERE c.program_id = %(program)s
           AND p.loyalty_last_activity_date <= CURRENT_DATE - 90
        """,
        p,
    )
    return dict(rows)


def _progress(registry, cron_id, after_id):
    rows = _query(
        registry,
        "SELECT MAX(done) FROM ir_cron_progress WHERE cron_id = %s AND id > %s",
        [cron_id, after_id],
    )
    return rows[0][0] or 0


def _trigger(client, cron_id, deadline=90):
    """method_direct_trigger, retried while the killed run's transaction
    still holds the cron's lock (its PostgreSQL backend rolls back)."""
    end = time.monotonic() + deadline
    while True:
        try:
            return client.execute("ir.cron", "method_direct_trigger", [cron_id])
        except xmlrpc.client.Fault as fault:
            if "currently being executed" not in fault.faultString or (
                time.monotonic() > end
            ):
                raise
            time.sleep(1)


def _todo(kind, expected, before):
    """Cards or members a complete run changes."""
    if kind == "release":
        return {card for card, pts in expected.items() if pts != before[card]}
    return set(expected)


def _done(kind, state, before):
    if kind == "release":
        return {card for card, pts in state.items() if pts != before[card]}
    return set(state)


@pytest.mark.parametrize("kind", list(CRONS))
def test_cron_killed_mid_run_resumes_without_loss_or_double(
    kind, server, registry, cron_data
):
    xmlid, batch_size = CRONS[kind]
    program_id = cron_data["program_id"]
    cron_id = _xmlid_res_id(registry, xmlid)
    client = server.ensure()
    code = client.execute("ir.cron", "read", [cron_id], ["code"])[0]["code"].strip()
    small = re.sub(r"\(\)$", f"(batch_size={batch_size})", code)
    assert small != code, f"unexpected cron code {code!r}"
    since = _query(registry, "SELECT now() at time zone 'UTC'")[0][0]
    before = _state(registry, kind, program_id, since)
    expected = _expected(registry, kind, program_id)
    todo = _todo(kind, expected, before)
    assert len(todo) > 5 * batch_size, "not enough work for several batches"
    last_progress = _query(
        registry, "SELECT COALESCE(MAX(id), 0) FROM ir_cron_progress"
    )[0][0]
    client.execute("ir.cron", "write", [cron_id], {"code": small})
    try:
        # 1. run it through the server; SIGKILL the server once the first
        #    batch is committed
        url, db = client.url, client.db
        run = threading.Thread(
            target=_swallow,
            args=(
                lambda: OdooRPC(url, db).execute(
                    "ir.cron", "method_direct_trigger", [cron_id]
                ),
            ),
            daemon=True,
        )
        run.start()
        end = time.monotonic() + KILL_WAIT
        while not _progress(registry, cron_id, last_progress):
            assert run.is_alive(), "the cron ended before a batch was seen"
            assert time.monotonic() < end, "no batch committed in time"
            time.sleep(0.05)
        server.kill()
        run.join(30)
        partial = _state(registry, kind, program_id, since)
        assert not _invariant_breaches(registry)

        # 2. restart, run it again to the end
        client = server.ensure()
        assert _trigger(client, cron_id) is True
        final = _state(registry, kind, program_id, since)
    finally:
        server.ensure().execute("ir.cron", "write", [cron_id], {"code": code})

    done = _done(kind, partial, before)
    assert 0 < len(done) < len(todo), (
        f"the kill did not interrupt the {kind} run: {len(done)} of {len(todo)} done"
    )
    # nothing lost, nothing twice: each card or member has exactly what one
    # complete run gives it (one expire line for what its lots held, its
    # pending points released once, one downgrade event, one inactive event)
    if kind == "release":
        assert final == pytest.approx(expected)
    else:
        assert final == expected
    assert not _invariant_breaches(registry)
    if kind == "inactivity":
        assert not _query(
            registry,
            """
            SELECT res_id FROM mail_activity
             WHERE res_model = 'res.partner' AND create_date >= %s
               AND res_id = ANY(%s) GROUP BY res_id HAVING COUNT(*) > 1
            """,
            [since, list(expected)],
        )


def _swallow(call):
    try:
        call()
    except (OSError, xmlrpc.client.Error):
        pass  # the server was killed under the call


def _xmlid_res_id(registry, xmlid):
    rows = _query(
        registry,
        "SELECT res_id FROM ir_model_data WHERE module = %s AND name = %s",
        [ADDON, xmlid],
    )
    assert rows, f"{ADDON}.{xmlid} is missing"
    return rows[0][0]


# ---------------------------------------------------------------------------
# Access matrix
# ---------------------------------------------------------------------------
# Expected rights per model: (internal user, loyalty manager, salesperson,
# POS user, portal, public); each a subset of "crwu" (create, read, write,
# unlink). Ledger lines are immutable by code for everyone (see
# test_rpc_ledger); here only the access rights are asserted.
ROLES = ("user", "manager", "salesman", "pos_user", "portal", "public")
MATRIX = {
    "loyalty.ledger.line": ("", "r", "r", "r", "", ""),
    "loyalty.tier": ("", "crwu", "r", "r", "", ""),
    "loyalty.member.event": ("", "r", "r", "r", "", ""),
    "loyalty.ledger.adjust": ("", "crw", "", "", "", ""),
    "loyalty.referral": ("", "rw", "r", "r", "", ""),
}
OPERATIONS = {"c": "create", "r": "read", "w": "write", "u": "unlink"}


def _users(env):
    group = env.ref
    base = {"groups_id": [(6, 0, [group("base.group_user").id])]}
    specs = {
        "user": base,
        "manager": {
            "groups_id": [(6, 0, [group("loyalty_crm_addon.group_loyalty_manager").id])]
        },
        "salesman": {
            "groups_id": [(6, 0, [group("sales_team.group_sale_salesman").id])]
        },
        "pos_user": {"groups_id": [(6, 0, [group("point_of_sale.group_pos_user").id])]},
        "portal": {"groups_id": [(6, 0, [group("base.group_portal").id])]},
    }
    tag = uuid.uuid4().hex[:6]
    users = {
        role: env["res.users"]
        .with_context(no_reset_password=True)
        .create({"name": f"Matrix {role}", "login": f"matrix-{role}-{tag}", **vals})
        for role, vals in specs.items()
    }
    users["public"] = env.ref("base.public_user")
    return users


def test_access_matrix_of_every_addon_model(registry):
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        try:
            models = sorted(
                name
                for name, model in env.registry.models.items()
                if model._original_module == ADDON and not model._abstract
            )
            declared = set(
                env["ir.model"]
                .search([("model", "in", models)])
                .filtered(lambda m: ADDON in (m.modules or ""))
                .mapped("model")
            )
            assert declared == set(models)
            assert set(MATRIX) <= set(models), "a model of the table is gone"
            users = _users(env)
            Access = env["ir.model.access"]
            actual, problems = {}, []
            for model in models:
                rights = tuple(
                    "".join(
                        op
                        for op, mode in OPERATIONS.items()
                        if Access.with_user(users[role]).check(model, mode, False)
                    )
                    for role in ROLES
                )
                actual[model] = rights
                expected = MATRIX.get(model)
                if expected is not None:
                    if rights != expected:
                        problems.append(f"{model}: {rights} != expected {expected}")
                    continue
                # a model not in the table yet: the rules every model follows
                user, manager, _s, _p, portal, public = rights
                if public or set(portal) - {"r"} or set(user) - {"r"}:
                    problems.append(f"{model}: {rights} too open (add it to MATRIX)")
                if "r" not in manager:
                    problems.append(f"{model}: managers cannot read it")
            assert not problems, "\n".join(problems) + f"\nall: {actual}"
        finally:
            cr.rollback()
