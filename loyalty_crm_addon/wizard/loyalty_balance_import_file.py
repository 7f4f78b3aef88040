# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import base64
import csv
import datetime
import io
import math
import re

from odoo import fields, models, tools
from odoo.exceptions import UserError

from ..engine.ledger import PRECISION

COLUMNS = (
    "email",
    "name",
    "phone",
    "ref",
    "points",
    "lifetime_points",
    "earned_on",
    "expires_on",
    "consent",
)
# The phone key of a row (_phone_key) as the database computes it.
PHONE_KEY = "regexp_replace(%s, '[^0-9+]', '', 'g')"


def _phone_key(value):
    return re.sub(r"[^\d+]", "", value or "")


class LoyaltyBalanceImportFile(models.AbstractModel):
    """Reading and checking the rows of a balance import's file, a part of
    ``loyalty.balance.import`` (``_check_row`` reads its ``match_by``).
    Extend a method with ``_inherit = "loyalty.balance.import"``."""

    _name = "loyalty.balance.import.file"
    _description = "Loyalty Balance Import File"

    count_existing = fields.Integer(
        string="Rows Meeting a Balance",
        compute="_compute_count_existing",
        help="Rows matched to a member who already holds points.",
    )

    def _compute_count_existing(self):
        counts = dict(
            self.env["loyalty.balance.import.line"]._read_group(
                [("import_id", "in", self._origin.ids), ("existing_points", "!=", 0)],
                ["import_id"],
                ["__count"],
            )
        )
        for job in self:
            job.count_existing = counts.get(job._origin, 0)

    # ------------------------------------------------------------------
    # Reading the file
    # ------------------------------------------------------------------
    def _read_rows(self):
        """The rows of the file as dicts of the known columns."""
        self.ensure_one()
        if not self.data_file:
            raise UserError(self.env._("Choose a file to import."))
        content = base64.b64decode(self.data_file)
        is_xlsx = content[:2] == b"PK" or (self.filename or "").lower().endswith(
            ".xlsx"
        )
        table = self._read_xlsx(content) if is_xlsx else self._read_csv(content)
        header = [str(h or "").strip().lower() for h in (next(table, None) or [])]
        if "points" not in header or not {"email", "phone", "ref"} & set(header):
            raise UserError(
                self.env._(
                    "The file needs a 'points' column and at least one of "
                    "'email', 'phone' or 'ref'. Known columns: %s",
                    ", ".join(COLUMNS),
                )
            )
        index = {col: header.index(col) for col in COLUMNS if col in header}
        rows = []
        for values in table:
            values = list(values)
            if not any(v not in (None, "") for v in values):
                continue
            rows.append(
                {
                    col: values[i] if i < len(values) else None
                    for col, i in index.items()
                }
            )
        return rows

    def _read_csv(self, content):
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = content.decode("latin-1")
        try:
            dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        return csv.reader(io.StringIO(text), dialect)

    def _read_xlsx(self, content):
        try:
            import openpyxl
        except ImportError as e:
            raise UserError(self.env._("Reading XLSX files needs openpyxl.")) from e
        try:
            book = openpyxl.load_workbook(
                io.BytesIO(content), read_only=True, data_only=True
            )
        except Exception as e:
            raise UserError(self.env._("This file is not a readable XLSX file.")) from e
        return book.worksheets[0].iter_rows(values_only=True)

    # ------------------------------------------------------------------
    # Checking rows
    # ------------------------------------------------------------------
    def _parse_number(self, value, label):
        if value in (None, ""):
            return 0.0
        if isinstance(value, bool):
            raise ValueError(self.env._("%s is not a number", label))
        if isinstance(value, str):
            try:
                value = float(value.strip().replace(" ", ""))
            except ValueError:
                raise ValueError(
                    self.env._(
                        "%(label)s '%(value)s' is not a number",
                        label=label,
                        value=value,
                    )
                ) from None
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(self.env._("%s is not a finite number", label))
        if value < 0:
            raise ValueError(self.env._("%s cannot be negative", label))
        if abs(tools.float_round(value, PRECISION) - value) > 1e-6:
            raise ValueError(
                self.env._(
                    "%(label)s has more than %(n)s decimals", label=label, n=PRECISION
                )
            )
        return float(value)

    def _parse_date(self, value, label):
        if value in (None, ""):
            return False
        if isinstance(value, datetime.datetime):
            return value.date()
        if isinstance(value, datetime.date):
            return value
        try:
            return datetime.date.fromisoformat(str(value).strip()[:10])
        except ValueError:
            raise ValueError(
                self.env._(
                    "%(label)s '%(value)s' is not a date (YYYY-MM-DD)",
                    label=label,
                    value=value,
                )
            ) from None

    @staticmethod
    def _text(value):
        if value is None:
            return ""
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value).strip()

    def _existing_balance_message(self, vals, points):
        """A matched member already holds ``points``: the row's opening
        balance adds to them (the report warns, the row is kept)."""
        vals["existing_points"] = points
        return self.env._(
            "existing member already holding %(points)s points: the file's "
            "points are added to them",
            points=self.env["loyalty.ledger.line"]._format_points(points),
        )

    def _check_row(self, raw, today):
        """(values, error) of one row; values hold the match key. The error
        lists every problem of the row, not only the first."""
        vals = {
            "email": self._text(raw.get("email")),
            "name": self._text(raw.get("name")),
            "phone": self._text(raw.get("phone")),
            "ref": self._text(raw.get("ref")),
        }
        errors = []

        def check(fname, parse):
            try:
                vals[fname] = parse()
            except ValueError as e:
                vals[fname] = None
                errors.append(str(e))

        if vals["email"]:
            vals["email_normalized"] = tools.email_normalize(vals["email"])
            if not vals["email_normalized"]:
                errors.append(self.env._("'%s' is not an email address", vals["email"]))
        for fname in ("points", "lifetime_points"):
            check(fname, lambda f=fname: self._parse_number(raw.get(f), f))
        for fname in ("earned_on", "expires_on"):
            check(fname, lambda f=fname: self._parse_date(raw.get(f), f))
        consent = self._text(raw.get("consent")).lower()
        if consent and consent not in ("in", "out"):
            errors.append(self.env._("consent must be 'in' or 'out'"))
        vals["consent"] = consent
        if vals["earned_on"] and vals["earned_on"] > today:
            errors.append(self.env._("earned_on is in the future"))
        if vals["expires_on"] and vals["expires_on"] < today:
            errors.append(self.env._("expires_on is past: the points have expired"))
        if (
            vals["expires_on"]
            and vals["earned_on"]
            and vals["expires_on"] < vals["earned_on"]
        ):
            errors.append(self.env._("expires_on is before earned_on"))
        keys = {
            "email": vals.get("email_normalized"),
            "phone": _phone_key(vals["phone"]),
            "ref": vals["ref"],
        }
        order = (
            ("email", "phone", "ref") if self.match_by == "auto" else (self.match_by,)
        )
        for kind in order:
            if keys[kind]:
                vals["key"] = (kind, keys[kind])
                break
        else:
            errors.append(
                self.env._("no %s to find the contact with", " / ".join(order))
            )
        return vals, "; ".join(errors) or False
