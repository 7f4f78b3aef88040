# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.tools import SQL

from ..kpi.order_facts import (
    CHANNEL_FACTOR,
    COLUMNS,
    PENDING_KEY,
    REBUILD_ALL_SQL,
    REFRESH,
    _facts,
    _upsert,
)

INDEXES = (
    # The KPIs of a period, the Member Revenue report.
    """CREATE INDEX IF NOT EXISTS loyalty_kpi_order_day_idx
       ON loyalty_kpi_order (company_id, day)""",
    # A customer's orders (the refresh, the churn score's batches).
    """CREATE INDEX IF NOT EXISTS loyalty_kpi_order_partner_cover_idx
       ON loyalty_kpi_order (partner_id) INCLUDE (company_id, day, amount)""",
)


class LoyaltyKpiOrder(models.Model):
    """One narrow row per order the loyalty KPIs count, with the customer's
    previous orders and membership day (kpi/order_facts.py). Written only
    by the KPI engine, in set-based SQL, from the queue of customers that
    transactions touched (``loyalty.kpi.order.queue``), by the refresh cron
    and by readers on the primary before they read; read by the KPIs, the
    churn score and the Member Revenue report. The id is the order key: 2 × the sales
    order's id, 2 × the POS order's id + 1."""

    _name = "loyalty.kpi.order"
    _description = "Loyalty KPI Order Facts"
    _log_access = False
    _order = "day desc, id desc"

    order_key = fields.Integer(required=True, readonly=True)
    partner_id = fields.Many2one(
        "res.partner", string="Customer", ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one(
        "res.company", required=True, ondelete="cascade", readonly=True
    )
    channel = fields.Selection(
        [("sale", "Sales"), ("pos", "Point of Sale")], required=True, readonly=True
    )
    day = fields.Date(required=True, readonly=True)
    amount = fields.Float(
        string="Untaxed Amount", digits=(16, 2), required=True, readonly=True
    )
    member_day = fields.Date(
        readonly=True,
        help="The day the customer joined the company's membership program.",
    )
    prev_day = fields.Date(string="Previous Order Day", readonly=True)
    prev2_day = fields.Date(string="Order Day Before", readonly=True)
    prev_day_ch = fields.Date(string="Previous Order Day (Channel)", readonly=True)
    prev2_day_ch = fields.Date(string="Order Day Before (Channel)", readonly=True)

    def init(self):
        for statement in INDEXES:
            self.env.cr.execute(statement)
        # Installation: the facts of the orders already there (a minute at
        # two million orders).
        self.env.cr.execute("SELECT 1 FROM loyalty_kpi_order LIMIT 1")
        if not self.env.cr.fetchone():
            self._rebuild_all_facts()

    @api.model
    def _search(self, domain, offset=0, limit=None, order=None):
        # Orders this transaction changed: their facts first.
        self._flush_facts()
        return super()._search(domain, offset=offset, limit=limit, order=order)

    # ------------------------------------------------------------------
    # Keeping the facts exact (kpi/order_facts.py)
    # ------------------------------------------------------------------
    @api.model
    def _touch(self, keys=(), partner_ids=(), everything=False):
        """Note orders (keys) and customers whose facts change in this
        transaction; before it commits they are queued for the refresh
        (``_queue_facts``), or rebuilt at once by a reader of the facts in
        this transaction (``_flush_facts``)."""
        precommit = self.env.cr.precommit
        pending = precommit.data.get(PENDING_KEY)
        if pending is None:
            pending = precommit.data[PENDING_KEY] = {
                "keys": set(),
                "partners": set(),
                "all": False,
            }
            precommit.add(self.browse()._queue_facts)
        pending["keys"].update(keys)
        pending["partners"].update(p for p in partner_ids if p)
        pending["all"] = pending["all"] or everything

    @api.model
    def _touch_orders(self, channel, ids):
        """Note orders of a channel (``sale``, ``pos``) by their own ids."""
        factor = CHANNEL_FACTOR[channel]
        self._touch(keys=[i * 2 + factor for i in ids])

    @api.model
    def _touch_customers_orders(self, partner_ids):
        """Note the orders of customers about to be deleted (their POS
        orders stay, without customer: anonymous orders)."""
        if not partner_ids:
            return
        self.env.cr.execute(
            SQL(
                "SELECT id FROM loyalty_kpi_order WHERE partner_id = ANY(%s)",
                partner_ids,
            )
        )
        keys = [key for (key,) in self.env.cr.fetchall()]
        if keys:
            self._touch(keys=keys)

    @api.model
    def _pending_facts(self):
        """What this transaction touched (and takes it off the pre-commit
        data), after the writes still in the ORM's cache."""
        if PENDING_KEY not in self.env.cr.precommit.data:
            return None
        # Writes still in the ORM's cache may touch more.
        self.env.flush_all()
        return self.env.cr.precommit.data.pop(PENDING_KEY, None)

    @api.model
    def _queue_facts(self):
        """The pre-commit hook: the orders and customers this transaction
        touched join the queue (one plain insert); a change of a company's
        membership program rebuilds every row here."""
        pending = self._pending_facts()
        if not pending:
            return
        if pending["all"]:
            self._rebuild_all_facts()
            self._invalidate_facts()
            return
        keys, partners = sorted(pending["keys"]), sorted(pending["partners"])
        if keys or partners:
            self.env.cr.execute(
                """
                INSERT INTO loyalty_kpi_order_queue (order_key, partner_id)
                SELECT unnest(%(keys)s::int[]), NULL
                 UNION ALL
                SELECT NULL, unnest(%(partners)s::int[])
                """,
                {"keys": keys, "partners": partners},
            )

    @api.model
    def _flush_facts(self):
        """Bring the facts up to date before reading them: what this
        transaction touched, then the queue (what committed transactions
        touched). A read-only transaction (a report on the read replica)
        cannot write: it reads the facts as the refresh cron left them."""
        if self.env.cr.readonly:
            return
        pending = self._pending_facts()
        if pending and pending["all"]:
            self._rebuild_all_facts()
        elif pending:
            self._refresh_facts(pending["keys"], pending["partners"])
        self._refresh_queued_facts()
        self._invalidate_facts()

    def _invalidate_facts(self):
        for model in ("loyalty.kpi.order", "loyalty.kpi.customer"):
            if model in self.env:
                self.env[model].invalidate_model()

    @api.model
    def _refresh_queued_facts(self, limit=None):
        """Rebuild the facts of up to ``limit`` queued rows (all: None),
        oldest first; rows another transaction is rebuilding are skipped.
        Returns how many rows were taken."""
        self.env.cr.execute(
            SQL(
                """
                DELETE FROM loyalty_kpi_order_queue
                 WHERE id IN (SELECT id FROM loyalty_kpi_order_queue
                               ORDER BY id LIMIT %s
                                 FOR UPDATE SKIP LOCKED)
             RETURNING order_key, partner_id
                """,
                limit,
            )
        )
        rows = self.env.cr.fetchall()
        if rows:
            self._refresh_facts(
                {key for key, _partner in rows if key},
                {partner for _key, partner in rows if partner},
            )
        return len(rows)

    @api.model
    def _cron_refresh_facts(self, batch_size=5000, max_batches=0):
        """Rebuild the facts of the queued orders and customers, by
        batches (each batch committed in a cron run)."""
        self._invalidate_facts()
        return self.env["loyalty.batch"]._run_batches(
            lambda: self._refresh_queued_facts(batch_size),
            remaining=self._queue_size,
            max_batches=max_batches,
        )

    @api.model
    def _queue_size(self):
        self.env.cr.execute("SELECT COUNT(*) FROM loyalty_kpi_order_queue")
        return self.env.cr.fetchone()[0]

    @api.model
    def _refresh_facts(self, keys=(), partner_ids=()):
        """Rebuild the facts of the given orders (keys) and customers, and
        of the orders' customers, old and new (one statement)."""
        keys, partner_ids = sorted(set(keys)), sorted(set(partner_ids))
        if not keys and not partner_ids:
            return
        pos_ids = [k // 2 for k in keys if k % 2]
        self.env.cr.execute(
            REFRESH[bool(pos_ids)],
            {
                "partners": partner_ids,
                "keys": keys,
                "sale_ids": [k // 2 for k in keys if not k % 2],
                "pos_ids": pos_ids,
            },
        )

    @api.model
    def _rebuild_all_facts(self):
        """Build the facts of every order again (a company's membership
        program changed; orders loaded in SQL)."""
        cr = self.env.cr
        cr.execute("SELECT 1 FROM loyalty_kpi_order LIMIT 1")
        if cr.fetchone():
            cr.execute(
                SQL(
                    REBUILD_ALL_SQL,
                    facts=_facts(),
                    upsert=SQL(_upsert("TRUE")),
                )
            )
        else:
            cr.execute(
                SQL(
                    "INSERT INTO loyalty_kpi_order (id, %(columns)s)"
                    " SELECT f.order_key, f.* FROM (%(facts)s) f",
                    columns=SQL(COLUMNS),
                    facts=_facts(),
                )
            )
        cr.execute("ANALYZE loyalty_kpi_order")
