# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What the owner's Members list sorts, filters and groups by, beside the
balance and tier (res_partner_loyalty_standing.py) and the segment and
churn risk (res_partner_segment.py):

* ``loyalty_lifetime_points``: every tier-qualifying point the member's card
  ever earned (the window of tiers aside), searched and sorted in SQL;
* bands of the balance, lifetime points and churn risk, to group members
  (Odoo groups by neither floats nor raw scores usefully);
* the filters of the saved searches: close to the next tier, points
  expiring this month;
* ``loyalty_is_member``: "New" on the Members menu makes a member (the
  field's inverse enrols, with the rights of "Enrol now").
"""

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.osv import expression
from odoo.tools import SQL

# How close to the next tier "close" is: this share of its threshold reached.
CLOSE_TO_TIER = 0.8

# (key, label, low (included), high (excluded)) of each band; keys sort in
# band order.
POINT_BANDS = [
    ("0_none", "No points", None, 0.000001),
    ("1_low", "Under 100", 0.000001, 100),
    ("2_mid", "100 to 499", 100, 500),
    ("3_high", "500 to 1,999", 500, 2000),
    ("4_top", "2,000 and more", 2000, None),
]
RISK_BANDS = [
    ("0_low", "Low (under 30)", None, 30),
    ("1_medium", "Medium (30 to 59)", 30, 60),
    ("2_high", "High (60 and more)", 60, None),
]
# band field -> (field it bands, its bands)
BANDED = {
    "loyalty_balance_band": ("loyalty_balance", POINT_BANDS),
    "loyalty_lifetime_band": ("loyalty_lifetime_points", POINT_BANDS),
    "loyalty_churn_band": ("loyalty_churn_score", RISK_BANDS),
}
COMPARISONS = {"=", "!=", "<", "<=", ">", ">="}


def _band_selection(bands):
    return [(key, label) for key, label, __, __ in bands]


def _compare(a, operator, b):
    return {
        "=": a == b,
        "!=": a != b,
        "<": a < b,
        "<=": a <= b,
        ">": a > b,
        ">=": a >= b,
    }[operator]


class ResPartner(models.Model):
    # res.partner is extended per capability, each in its own file.
    _inherit = "res.partner"  # pylint: disable=consider-merging-classes-inherited

    loyalty_is_member = fields.Boolean(
        string="Member",
        compute="_compute_loyalty_is_member",
        inverse="_inverse_loyalty_is_member",
        help="Holds a card of the company's membership program. Ticking it "
        "enrols the contact.",
    )
    loyalty_lifetime_points = fields.Float(
        string="Lifetime Points",
        compute="_compute_loyalty_lifetime_points",
        search="_search_loyalty_lifetime_points",
        compute_sudo=True,
        help="Every point the member ever earned that counts for tiers "
        "(purchases, bonuses, imported history), spent or not.",
    )
    loyalty_balance_band = fields.Selection(
        _band_selection(POINT_BANDS),
        string="Points Balance",
        compute="_compute_loyalty_bands",
        search="_search_loyalty_balance_band",
    )
    loyalty_lifetime_band = fields.Selection(
        _band_selection(POINT_BANDS),
        string="Lifetime Points Band",
        compute="_compute_loyalty_bands",
        search="_search_loyalty_lifetime_band",
    )
    loyalty_churn_band = fields.Selection(
        _band_selection(RISK_BANDS),
        string="Churn Risk Band",
        compute="_compute_loyalty_bands",
        search="_search_loyalty_churn_band",
    )
    loyalty_close_to_next_tier = fields.Boolean(
        string="Close to Next Tier",
        compute="_compute_loyalty_close_to_next_tier",
        search="_search_loyalty_close_to_next_tier",
        help="Has earned at least 80% of the next tier's threshold within "
        "the tier window.",
    )
    loyalty_expiring_this_month = fields.Boolean(
        string="Points Expiring This Month",
        compute="_compute_loyalty_expiring_this_month",
        search="_search_loyalty_expiring_this_month",
    )

    # ------------------------------------------------------------------
    # Member: "New" on the Members menu enrols
    # ------------------------------------------------------------------
    # No field dependency: a new contact keeps the default the Members menu
    # gives it while the form computes its commercial partner.
    @api.depends_context("company")
    def _compute_loyalty_is_member(self):
        for partner in self:
            partner.loyalty_is_member = bool(partner.loyalty_card_id)

    def _inverse_loyalty_is_member(self):
        # Enrolling has the rights and checks of the contact's "Enrol now";
        # leaving the program is not done by unticking a box.
        for partner in self.filtered("loyalty_is_member"):
            if not partner.loyalty_card_id:
                partner.action_loyalty_enroll()
                partner.invalidate_recordset(["loyalty_card_id"])

    # ------------------------------------------------------------------
    # Lifetime points
    # ------------------------------------------------------------------
    def _loyalty_lifetime_sql(self, alias):
        """Lifetime points of the contact ``alias`` (its membership card's
        tier-qualifying lines, read along the ledger's tier index)."""
        return SQL(
            """
            COALESCE((SELECT SUM(l.points) FROM loyalty_ledger_line l
                       WHERE l.tier_qualifying
                         AND l.card_id = (SELECT s.id FROM (%(card)s) s)), 0)
            """,
            card=self._loyalty_standing_card_sql(alias),
        )

    def _compute_loyalty_lifetime_points(self):
        ids = [i for i in self._origin.ids if i]
        points = {}
        if ids:
            self.env["loyalty.ledger.line"].flush_model()
            self.env.cr.execute(
                SQL(
                    "SELECT p.id, %s FROM res_partner p WHERE p.id = ANY(%s)",
                    self._loyalty_lifetime_sql("p"),
                    ids,
                )
            )
            points = dict(self.env.cr.fetchall())
        for partner in self:
            partner.loyalty_lifetime_points = points.get(partner._origin.id, 0.0)

    def _search_loyalty_lifetime_points(self, operator, value):
        if operator not in COMPARISONS or isinstance(value, bool | str | list):
            raise UserError(self.env._("Unsupported search on Lifetime Points."))
        value = float(value or 0)
        program = self.env.company.loyalty_membership_program_id
        if not _compare(0.0, operator, value) and program:
            # The common case (more than N points): the cards meeting it,
            # from the ledger's tier index, and their holders.
            self.env["loyalty.ledger.line"].flush_model()
            cards = SQL(
                f"""
                (SELECT l.card_id FROM loyalty_ledger_line l
                   JOIN loyalty_card c ON c.id = l.card_id
                  WHERE l.tier_qualifying AND c.program_id = %s
                  GROUP BY l.card_id HAVING SUM(l.points) {operator} %s)
                """,  # noqa: S608 -- operator among COMPARISONS
                program.id,
                value,
            )
            return [("id", "in", self._loyalty_holders_sql(cards))]
        return [
            (
                "id",
                "in",
                SQL(
                    f"(SELECT p.id FROM res_partner p WHERE %s {operator} %s)",  # noqa: S608
                    self._loyalty_lifetime_sql("p"),
                    value,
                ),
            )
        ]

    # ------------------------------------------------------------------
    # Bands, to group by
    # ------------------------------------------------------------------
    @api.depends_context("company")
    def _compute_loyalty_bands(self):
        for partner in self:
            for band_field, (fname, bands) in BANDED.items():
                partner[band_field] = self._loyalty_band_of(partner[fname], bands)

    @staticmethod
    def _loyalty_band_of(value, bands):
        for key, __, low, high in bands:
            if (low is None or value >= low) and (high is None or value < high):
                return key
        return bands[-1][0]

    def _search_loyalty_balance_band(self, operator, value):
        return self._loyalty_band_domain("loyalty_balance_band", operator, value)

    def _search_loyalty_lifetime_band(self, operator, value):
        return self._loyalty_band_domain("loyalty_lifetime_band", operator, value)

    def _search_loyalty_churn_band(self, operator, value):
        return self._loyalty_band_domain("loyalty_churn_band", operator, value)

    def _loyalty_band_domain(self, band_field, operator, value):
        """The contacts in the bands ``value`` (``=``, ``!=``, ``in``,
        ``not in``): ranges of the field the band is made of."""
        fname, bands = BANDED[band_field]
        if operator not in ("=", "!=", "in", "not in"):
            raise UserError(self.env._("Unsupported search on a band."))
        keys = set(value if isinstance(value, list | tuple) else [value])
        ranges = []
        for key, __, low, high in bands:
            if key in keys:
                leaf = []
                if low is not None:
                    leaf.append((fname, ">=", low))
                if high is not None:
                    leaf.append((fname, "<", high))
                ranges.append(leaf)
        domain = expression.OR(ranges) if ranges else expression.FALSE_DOMAIN
        if operator in ("!=", "not in"):
            domain = ["!", *expression.normalize_domain(domain)]
        return domain

    def _field_to_sql(self, alias, fname, query=None, flush=True):
        # Sorting and grouping by the lifetime points and the bands: SQL of
        # the fields they are made of.
        if fname == "loyalty_lifetime_points":
            return self._loyalty_lifetime_sql(alias)
        if fname in BANDED:
            source, bands = BANDED[fname]
            value = SQL(
                "COALESCE(%s, 0)", self._field_to_sql(alias, source, query, flush)
            )
            cases = [
                SQL(
                    "WHEN (%s IS NULL OR %s >= %s) AND (%s IS NULL OR %s < %s) THEN %s",
                    low,
                    value,
                    low,
                    high,
                    value,
                    high,
                    key,
                )
                for key, __, low, high in bands
            ]
            return SQL(
                "(CASE %s ELSE %s END)",
                SQL(" ").join(cases),
                bands[-1][0],
            )
        return super()._field_to_sql(alias, fname, query, flush)

    # ------------------------------------------------------------------
    # Saved searches: close to the next tier, points expiring this month
    # ------------------------------------------------------------------
    def _compute_loyalty_close_to_next_tier(self):
        close = set(
            self.search(
                [("id", "in", self.ids), ("loyalty_close_to_next_tier", "=", True)]
            ).ids
        )
        for partner in self:
            partner.loyalty_close_to_next_tier = partner.id in close

    def _search_loyalty_close_to_next_tier(self, operator, value):
        if operator not in ("=", "!="):
            raise UserError(self.env._("Unsupported search on Close to Next Tier."))
        program = self.env.company.loyalty_membership_program_id
        positive = (operator == "=") == bool(value)
        if not program:
            return [(0, "=", 1)] if positive else []
        self.env["loyalty.ledger.line"].flush_model()
        self.env["loyalty.card"].flush_model()
        cards = SQL(
            """
            (SELECT q.card_id FROM (
                SELECT c.id AS card_id, c.loyalty_tier_id,
                       COALESCE((SELECT SUM(l.points) FROM loyalty_ledger_line l
                                  WHERE l.card_id = c.id AND l.tier_qualifying
                                    AND l.date >= now() at time zone 'UTC'
                                        - make_interval(
                                            days => pr.loyalty_tier_window_days)
                                ), 0) AS points
                  FROM loyalty_card c
                  JOIN loyalty_program pr ON pr.id = c.program_id
                 WHERE c.program_id = %(program)s AND c.active) q
              WHERE EXISTS (
                    SELECT 1 FROM loyalty_tier t
                     WHERE t.program_id = %(program)s
                       AND t.threshold > q.points
                       AND q.points >= %(close)s * t.threshold
                       AND t.threshold > COALESCE((
                           SELECT ct.threshold FROM loyalty_tier ct
                            WHERE ct.id = q.loyalty_tier_id), -1)))
            """,
            program=program.id,
            close=CLOSE_TO_TIER,
        )
        return [
            ("id", "in" if positive else "not in", self._loyalty_holders_sql(cards))
        ]

    def _compute_loyalty_expiring_this_month(self):
        expiring = set(
            self.search(
                [("id", "in", self.ids), ("loyalty_expiring_this_month", "=", True)]
            ).ids
        )
        for partner in self:
            partner.loyalty_expiring_this_month = partner.id in expiring

    def _search_loyalty_expiring_this_month(self, operator, value):
        if operator not in ("=", "!="):
            raise UserError(
                self.env._("Unsupported search on Points Expiring This Month.")
            )
        program = self.env.company.loyalty_membership_program_id
        positive = (operator == "=") == bool(value)
        if not program:
            return [(0, "=", 1)] if positive else []
        today = fields.Date.context_today(self)
        self.env["loyalty.ledger.line"].flush_model()
        cards = SQL(
            """
            (SELECT DISTINCT l.card_id FROM loyalty_ledger_line l
              WHERE l.program_id = %(program)s AND l.state = 'posted'
                AND l.points_residual > 0
                AND l.expiry_date >= %(start)s
                AND l.expiry_date < (%(start)s::date + interval '1 month'))
            """,
            program=program.id,
            start=today.replace(day=1),
        )
        return [
            ("id", "in" if positive else "not in", self._loyalty_holders_sql(cards))
        ]
