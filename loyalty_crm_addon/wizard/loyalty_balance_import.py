# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import datetime
from collections import defaultdict

import psycopg2
from psycopg2.extras import execute_values

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, mute_logger
from odoo.tools.sql import create_index

from ..models.loyalty_member_event import QUIET
from .loyalty_balance_import_file import PHONE_KEY

# One opening balance per card, whatever the file: these references are the
# stable keys that make a second import of the same rows change nothing.
ENROLL_ATTEMPTS = 5
REF_OPENING = "import-opening"
REF_LIFETIME = "import-lifetime"
REF_LIFETIME_OFFSET = "import-lifetime-offset"


class LoyaltyBalanceImport(models.Model):
    """An import of members and balances from another system. Kept as a
    record (not a transient wizard) so that a large import runs as a job in
    batches, shows its progress and resumes where it stopped. Reading and
    checking the file's rows live in ``loyalty.balance.import.file``
    (``wizard/loyalty_balance_import_file.py``)."""

    _name = "loyalty.balance.import"
    _inherit = ["loyalty.balance.import.file"]
    _description = "Loyalty Balance Import"
    _order = "id desc"

    name = fields.Char(compute="_compute_name", store=True)
    data_file = fields.Binary(
        string="File", attachment=True, help="CSV or XLSX, one member per row."
    )
    filename = fields.Char()
    program_id = fields.Many2one(
        "loyalty.program",
        required=True,
        domain=[("program_type", "=", "loyalty")],
        default=lambda self: self.env.company.loyalty_membership_program_id,
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    match_by = fields.Selection(
        [
            ("auto", "Email, then phone, then reference"),
            ("email", "Email"),
            ("phone", "Phone"),
            ("ref", "Reference"),
        ],
        required=True,
        default="auto",
        help="How a row finds its contact.",
    )
    create_partners = fields.Boolean(
        string="Create Missing Contacts",
        default=True,
        help="Rows matching no contact create one; otherwise they are rejected.",
    )
    batch_size = fields.Integer(default=2000, required=True)
    state = fields.Selection(
        [
            ("draft", "Draft"),
            ("checked", "Checked"),
            ("queued", "Queued"),
            ("running", "Running"),
            ("done", "Done"),
        ],
        default="draft",
        required=True,
        readonly=True,
        copy=False,
    )
    rows_total = fields.Integer(readonly=True, copy=False)
    next_row = fields.Integer(
        readonly=True,
        copy=False,
        help="Rows before this one are imported: an interrupted import resumes here.",
    )
    progress = fields.Float(compute="_compute_progress")
    count_create = fields.Integer(string="Created", readonly=True, copy=False)
    count_match = fields.Integer(string="Matched", readonly=True, copy=False)
    count_skip = fields.Integer(string="Already Imported", readonly=True, copy=False)
    count_reject = fields.Integer(string="Rejected", readonly=True, copy=False)
    dry_run = fields.Boolean(
        readonly=True, copy=False, help="The report is of a dry run."
    )
    line_ids = fields.One2many(
        "loyalty.balance.import.line", "import_id", string="Report", readonly=True
    )

    _sql_constraints = [
        ("batch_size_positive", "CHECK(batch_size > 0)", "Batches need rows."),
    ]

    def init(self):
        # Contacts are found by their normalised email, phone and mobile
        # (the keys of _find_partners), by index.
        cr = self.env.cr
        create_index(
            cr,
            "res_partner_loyalty_import_email_idx",
            "res_partner",
            ["email_normalized"],
            where="email_normalized IS NOT NULL",
        )
        for column in ("phone", "mobile"):
            create_index(
                cr,
                f"res_partner_loyalty_import_{column}_idx",
                "res_partner",
                [PHONE_KEY % column],
                where=f"{column} IS NOT NULL",
            )
        # The database itself refuses a second opening balance on a card,
        # even from two imports running at once.
        self.env.cr.execute(
            """
            CREATE UNIQUE INDEX IF NOT EXISTS loyalty_ledger_line_import_reference_uniq
            ON loyalty_ledger_line (card_id, reference)
            WHERE source = 'import' AND reference LIKE 'import-%%'
            """
        )

    @api.depends("filename", "create_date")
    def _compute_name(self):
        for job in self:
            job.name = job.filename or self.env._("Balance import")

    @api.depends("rows_total", "next_row", "state")
    def _compute_progress(self):
        for job in self:
            if job.state == "done":
                job.progress = 100.0
            else:
                job.progress = (
                    100.0 * job.next_row / job.rows_total if job.rows_total else 0.0
                )

    def _find_partners(self, keys):
        """{(kind, value): commercial partner ids} of the active contacts of
        the import's company (or shared) matching the keys: one query for
        the batch, on indexed normalised keys (see ``init``)."""
        by_kind = defaultdict(list)
        for kind, value in keys:
            by_kind[kind].append(value)
        found = defaultdict(set)
        if not by_kind:
            return found
        self.env.flush_all()
        company = SQL(
            "active AND (company_id IS NULL OR company_id = %s)", self.company_id.id
        )

        def phone_matches(column):
            key = SQL(PHONE_KEY % "%s", SQL.identifier(column))
            return SQL(
                "SELECT 'phone', %s, commercial_partner_id FROM res_partner"
                " WHERE %s IS NOT NULL AND %s = ANY(%s) AND %s",
                key,
                SQL.identifier(column),
                key,
                by_kind["phone"],
                company,
            )

        self.env.cr.execute(
            SQL(
                """
                SELECT 'email', email_normalized, commercial_partner_id
                  FROM res_partner
                 WHERE email_normalized IS NOT NULL
                   AND email_normalized = ANY(%(email)s) AND %(company)s
                UNION ALL %(phone)s
                UNION ALL %(mobile)s
                UNION ALL
                SELECT 'ref', ref, commercial_partner_id
                  FROM res_partner
                 WHERE ref = ANY(%(ref)s) AND %(company)s
                """,
                email=by_kind["email"],
                ref=by_kind["ref"],
                company=company,
                phone=phone_matches("phone"),
                mobile=phone_matches("mobile"),
            )
        )
        for kind, value, partner_id in self.env.cr.fetchall():
            found[(kind, value)].add(partner_id)
        return found

    def _imported_cards(self, card_ids):
        """Cards that already hold an imported opening balance or lifetime."""
        if not card_ids:
            return set()
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT DISTINCT card_id FROM loyalty_ledger_line"
            " WHERE card_id = ANY(%s) AND source = 'import'"
            " AND reference IN %s",
            [list(card_ids), (REF_OPENING, REF_LIFETIME)],
        )
        return {row[0] for row in self.env.cr.fetchall()}

    def _plan_batch(self, rows, start, seen):
        """Decide each row of a batch: [(row number, vals, action, partner id,
        message)]. ``seen`` maps match keys and partners of earlier rows to
        their row numbers (duplicates in the file)."""
        today = fields.Date.context_today(self)
        checked = []
        for offset, raw in enumerate(rows):
            vals, error = self._check_row(raw, today)
            checked.append((start + offset + 1, vals, error))
        found = self._find_partners(
            {vals["key"] for __, vals, error in checked if not error}
        )
        partner_ids = set().union(*found.values()) if found else set()
        domain = [("program_id", "=", self.program_id.id)]
        cards = (
            self.env["loyalty.card"]
            .sudo()
            .search(domain + [("partner_id", "in", list(partner_ids))])
        )
        card_by_partner = {card.partner_id.id: card.id for card in cards}
        held = {card.partner_id.id: card.points for card in cards if card.points}
        imported = self._imported_cards(card_by_partner.values())
        imported_partners = {
            partner for partner, card in card_by_partner.items() if card in imported
        }
        plan = []
        for number, vals, error in checked:
            action, partner_id, message = self._decide_row(
                vals, error, number, found, seen, imported_partners
            )
            if action == "match" and partner_id in held:
                message = self._existing_balance_message(vals, held[partner_id])
            plan.append((number, vals, action, partner_id, message))
        return plan

    def _decide_row(self, vals, error, number, found, seen, imported_partners):
        """(action, partner id, message) of one checked row."""
        if error:
            return "reject", False, error
        key = vals["key"]
        if key in seen:
            return "reject", False, self.env._("duplicate of row %s", seen[key])
        seen[key] = number
        matches = found.get(key, set())
        if len(matches) > 1:
            return (
                "reject",
                False,
                self.env._(
                    "%(n)s contacts match this %(key)s", n=len(matches), key=key[0]
                ),
            )
        if not matches:
            if not self.create_partners:
                return (
                    "reject",
                    False,
                    self.env._("no contact with this %s", key[0]),
                )
            return "create", False, self.env._("new contact and membership")
        partner_id = next(iter(matches))
        if ("partner", partner_id) in seen:
            return (
                "reject",
                False,
                self.env._("same member as row %s", seen[("partner", partner_id)]),
            )
        seen[("partner", partner_id)] = number
        if partner_id in imported_partners:
            return "skip", partner_id, self.env._("balance already imported")
        return "match", partner_id, self.env._("existing contact")

    def _seen_before(self, rows):
        """Match keys of the rows before ``next_row`` (duplicates across
        batches of a resumed import)."""
        seen = {}
        today = fields.Date.context_today(self)
        for number, raw in enumerate(rows, start=1):
            vals, error = self._check_row(raw, today)
            if not error and vals["key"] not in seen:
                seen[vals["key"]] = number
        return seen

    # ------------------------------------------------------------------
    # Report
    # ------------------------------------------------------------------
    def _write_report(self, plan):
        if not plan:
            return
        self.env.flush_all()
        now = fields.Datetime.now()
        uid = self.env.uid
        execute_values(
            self.env.cr._obj,
            """
            INSERT INTO loyalty_balance_import_line (
                import_id, row, action, partner_id, email, name, phone, ref,
                points, lifetime_points, earned_on, expires_on, message,
                existing_points, create_uid, create_date, write_uid, write_date)
            VALUES %s
            """,
            [
                (
                    self.id,
                    number,
                    action,
                    partner_id or None,
                    vals.get("email") or None,
                    vals.get("name") or None,
                    vals.get("phone") or None,
                    vals.get("ref") or None,
                    vals.get("points"),
                    vals.get("lifetime_points"),
                    vals.get("earned_on") or None,
                    vals.get("expires_on") or None,
                    message,
                    vals.get("existing_points") or None,
                    uid,
                    now,
                    uid,
                    now,
                )
                for number, vals, action, partner_id, message in plan
            ],
            page_size=1000,
        )
        counts = defaultdict(int)
        for __, __, action, __, __ in plan:
            counts[action] += 1
        self.write(
            {
                f"count_{action}": self[f"count_{action}"] + n
                for action, n in counts.items()
            }
        )

    def _reset_report(self):
        self.env.flush_all()
        self.env.cr.execute(
            "DELETE FROM loyalty_balance_import_line WHERE import_id = %s", [self.id]
        )
        self.invalidate_recordset(["line_ids"])
        self.write(
            {
                "count_create": 0,
                "count_match": 0,
                "count_skip": 0,
                "count_reject": 0,
                "next_row": 0,
            }
        )

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def _check_manager(self):
        if not self.env.su and not self.env.user.has_group(
            "loyalty_crm_addon.group_loyalty_manager"
        ):
            raise UserError(self.env._("Only loyalty managers import balances."))
        if self.program_id.program_type != "loyalty":
            raise UserError(self.env._("Balances go to a loyalty program."))

    def action_dry_run(self):
        """Report, row by row, what the import would do; writes nothing but
        the report."""
        self.ensure_one()
        self._check_manager()
        if self.state in ("queued", "running", "done"):
            raise UserError(self.env._("This import has already started."))
        rows = self._read_rows()
        self._reset_report()
        seen = {}
        for start in range(0, len(rows), self.batch_size):
            self._write_report(
                self._plan_batch(rows[start : start + self.batch_size], start, seen)
            )
        self.write({"state": "checked", "dry_run": True, "rows_total": len(rows)})
        return self._reopen()

    def action_import(self):
        """Import the file: a job run by the scheduler when it is large, at
        once otherwise. Importing the same rows again changes nothing."""
        self.ensure_one()
        self._check_manager()
        if self.state == "done":
            return self._reopen()
        if self.state not in ("queued", "running"):
            rows = self._read_rows()
            self._reset_report()
            self.write({"state": "queued", "dry_run": False, "rows_total": len(rows)})
        limit = int(
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("loyalty_crm_addon.import_sync_rows", 5000)
        )
        if self.rows_total > limit:
            self.env.ref(
                "loyalty_crm_addon.ir_cron_loyalty_balance_import"
            ).sudo()._trigger()
            return self._reopen()
        # At once, in this request: not a scheduled job's run, whatever its
        # context says (no commit between batches, no job progress).
        self.with_context(ir_cron_progress_id=False, cron_id=False)._run_import()
        return self._reopen()

    def _run_import(self, max_batches=0):
        """Import from ``next_row`` on, batch after batch; commits between
        batches in a scheduled job. ``max_batches`` stops early (0: all)."""
        self.ensure_one()
        rows = self._read_rows()
        if not self.next_row:
            self._reset_report()
        self.write({"state": "running", "rows_total": len(rows)})
        seen = self._seen_before(rows[: self.next_row])

        def step():
            start = self.next_row
            batch = rows[start : start + self.batch_size]
            if not batch:
                return 0
            plan = self._plan_batch(batch, start, seen)
            plan = self._apply_batch(plan)
            self._write_report(plan)
            self.next_row = start + len(batch)
            return len(batch)

        self.env["loyalty.batch"]._run_batches(
            step, len(rows) - self.next_row, max_batches
        )
        if self.next_row < len(rows):
            return False
        self.write({"state": "done", "data_file": False})
        return True

    def _apply_batch(self, plan):
        """Write one batch: contacts, cards, ledger lines. Returns the plan
        with the new contacts filled in."""
        Partner = (
            self.env["res.partner"]
            .sudo()
            .with_context(tracking_disable=True, mail_create_nolog=True)
        )
        to_create = [(i, p) for i, p in enumerate(plan) if p[2] == "create"]
        now = fields.Datetime.now()
        if to_create:
            # Defaults are the same for every new contact: computed once,
            # not once per row.
            defaults = Partner.default_get(list(Partner._fields))
            partners = Partner.create(
                [
                    {
                        **defaults,
                        "name": vals["name"]
                        or vals["email"]
                        or vals["phone"]
                        or vals["ref"],
                        "email": vals["email"] or False,
                        "phone": vals["phone"] or False,
                        "ref": vals["ref"] or False,
                        "company_id": False,
                        **(
                            {
                                "loyalty_consent": vals["consent"],
                                "loyalty_consent_date": now,
                                "loyalty_consent_channel": "import",
                            }
                            if vals["consent"]
                            else {}
                        ),
                    }
                    for __, (__, vals, __, __, __) in to_create
                ]
            )
            for (i, (number, vals, action, __, message)), partner in zip(
                to_create, partners, strict=True
            ):
                plan[i] = (number, vals, action, partner.id, message)
        posting = [p for p in plan if p[2] in ("create", "match")]
        if not posting:
            return plan
        partners = Partner.browse([p[3] for p in posting])
        consent = [p for p in posting if p[2] == "match" and p[1]["consent"]]
        for value in ("in", "out"):
            Partner.browse(
                [p[3] for p in consent if p[1]["consent"] == value]
            )._loyalty_set_consent(value, "import")
        # An import sends nothing (no member events; no "At creation" email
        # of the program for the cards it makes: Odoo's loyalty.card reads
        # loyalty_no_mail) and leaves no chatter trail of card points: the
        # ledger lines and the import's report are the history.
        Ledger = self.env["loyalty.ledger.line"].with_context(
            loyalty_event_mute=QUIET, tracking_disable=True
        )
        card_by_partner = self._enroll(
            partners.with_context(loyalty_no_mail=True),
            silent={p[3] for p in posting if p[2] == "create"},
        )
        opening, lifetime = [], []
        for __, vals, __, partner_id, __ in posting:
            card = card_by_partner[Partner.browse(partner_id)]
            if vals["points"]:
                extra = {}
                if vals["expires_on"]:
                    extra["expiry_date"] = vals["expires_on"]
                opening.append(
                    Ledger._prepare_line(
                        card,
                        "adjust",
                        vals["points"],
                        source="import",
                        reference=REF_OPENING,
                        description=self.env._("Opening balance (import)"),
                        date=datetime.datetime.combine(
                            vals["earned_on"], datetime.time(12)
                        )
                        if vals["earned_on"]
                        else now,
                        **extra,
                    )
                )
            if vals["lifetime_points"]:
                lifetime.append(
                    Ledger._prepare_line(
                        card,
                        "adjust",
                        vals["lifetime_points"],
                        source="import",
                        reference=REF_LIFETIME,
                        tier_qualifying=True,
                        expiry_date=False,
                        description=self.env._(
                            "Lifetime points carried over (tier placement)"
                        ),
                    )
                )
        cards = self.env["loyalty.card"].union(*card_by_partner.values())
        cards._loyalty_lock()
        lines = Ledger._post(opening + lifetime)
        # Lifetime points place the member in a tier but are not spendable:
        # each is offset at once by a counter-entry that does not qualify.
        offsets = [
            Ledger._prepare_line(
                line.card_id,
                "reversal",
                -line.points,
                source="import",
                reference=REF_LIFETIME_OFFSET,
                reversed_line_id=line.id,
                tier_qualifying=False,
                description=self.env._("Lifetime points are not spendable"),
            )
            for line in lines
            if line.reference == REF_LIFETIME
        ]
        if offsets:
            Ledger._post(offsets)
        return plan

    def _enroll(self, partners, silent=()):
        """Cards of the partners, made where missing. Native card codes hold
        7 random hex digits: among a hundred thousand new cards a few draw a
        code already taken, so a batch whose codes collide is enrolled
        again with new codes."""
        self.env.flush_all()
        for attempt in range(ENROLL_ATTEMPTS):
            try:
                with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                    return partners._loyalty_enroll(self.program_id, silent)
            except psycopg2.errors.UniqueViolation:
                self.env.invalidate_all(flush=False)
                if attempt == ENROLL_ATTEMPTS - 1:
                    raise

    @api.model
    def _cron_run_imports(self):
        """Run the queued imports; an interrupted one resumes at its
        ``next_row``."""
        for job in self.search([("state", "in", ("queued", "running"))], order="id"):
            job._run_import()

    def _reopen(self):
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "current",
        }
