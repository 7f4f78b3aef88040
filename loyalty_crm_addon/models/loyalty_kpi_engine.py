# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo import api, models
from odoo.tools import SQL

from ..kpi.aggregate import ACTIVE_LINES_SQL, ACTIVE_MEMBERS_SQL, POINTS_DAILY_SQL
from ..kpi.engine import KPI_KEYS
from ..kpi.engine import ratio as _ratio
from ..kpi.sql import ORDERS_SQL


class LoyaltyKpiEngine(models.AbstractModel):
    """The one place the loyalty KPIs are computed (API, dashboard, tests).

    Definitions are in docs/kpis.md ("KPI definitions"); every figure is a
    plain number: rates are fractions 0-1, and a figure without data is 0.0.
    Each method takes the scope of the figures (``KpiScope`` of
    kpi/engine.py: one membership program over ``[date_from, date_to]``,
    companies, channel), made by ``loyalty.program._loyalty_kpi_scope``.

    The engine reads in SQL, past record rules: ``_loyalty_kpi_scope``
    checks the user may read every order it counts (``CHANNEL_GROUPS``) and
    gives it only companies the user is allowed in; every figure here is
    restricted to those companies. Extend a figure with ``_inherit =
    "loyalty.kpi.engine"``.
    """

    _name = "loyalty.kpi.engine"
    _description = "Loyalty KPI Engine"

    # ------------------------------------------------------------------
    # Building blocks
    # ------------------------------------------------------------------
    @api.model
    def _orders_sql(self, scope, date_from=None):
        """Orders of the companies and channel up to ``date_to``, from
        ``date_from`` (None = since ever)."""
        return SQL(
            """
            SELECT o.* FROM (%(orders)s) o
             WHERE o.company_id = ANY(%(companies)s)
               AND (%(channel)s IS NULL OR o.channel = %(channel)s)
               AND o.date < %(end)s
               AND (%(start)s IS NULL OR o.date >= %(start)s)
            """,
            orders=SQL(ORDERS_SQL),
            companies=scope.company_ids,
            channel=scope.channel or None,
            end=scope.end,
            start=date_from,
        )

    @api.model
    def _members_sql(self, scope):
        """Partners holding a card of the program at date_to."""
        return SQL(
            """
            SELECT DISTINCT c.partner_id FROM loyalty_card c
             WHERE c.program_id = %(program)s AND c.create_date < %(end)s
               AND c.partner_id IS NOT NULL
               AND (c.company_id IS NULL OR c.company_id = ANY(%(companies)s))
            """,
            program=scope.program.id,
            end=scope.end,
            companies=scope.company_ids,
        )

    @api.model
    def _fetch(self, query):
        self.env.cr.execute(query)
        return self.env.cr.fetchone()

    # ------------------------------------------------------------------
    # Figures
    # ------------------------------------------------------------------
    @api.model
    def _members_kpis(self, scope):
        days = scope.program.loyalty_inactivity_days
        since = scope.end - timedelta(days=days)
        active = self._active_members_sql(scope, since)
        if active is None:
            active = SQL(
                ACTIVE_LINES_SQL, program=scope.program.id, since=since, end=scope.end
            )
        total, active = self._fetch(
            SQL(
                """
                SELECT COUNT(*), COUNT(a.partner_id)
                  FROM (%(members)s) m
                  LEFT JOIN (SELECT DISTINCT x.partner_id FROM (%(active)s) x) a
                    ON a.partner_id = m.partner_id
                """,
                members=self._members_sql(scope),
                active=active,
            )
        )
        return {
            "members": total,
            "inactive_rate": _ratio(total - active, total),
        }

    @api.model
    def _active_members_sql(self, scope, since):
        """The partners who earned or redeemed between ``since`` and the end
        of the period, from each member's last day of activity (folded with
        the points aggregate, kpi/aggregate.py); None when some member's last
        day is after the period (it would hide their activity in it: the
        ledger lines are read instead, as when the scope reads raw data)."""
        if not scope.aggregates:
            return None
        (last,) = self._fetch(
            SQL(
                "SELECT MAX(last_day) FROM loyalty_kpi_member_activity"
                " WHERE program_id = %s",
                scope.program.id,
            )
        )
        if last is not None and last > scope.date_to:
            return None
        return SQL(
            ACTIVE_MEMBERS_SQL, program=scope.program.id, since=since, end=scope.end
        )

    @api.model
    def _buyers_sql(self, scope):
        """Customers of the period (one row per partner; anonymous POS
        orders in one row without partner) with their orders, amount and
        whether they are members."""
        return SQL(
            """
            SELECT b.*, b.partner_id IS NOT NULL AND EXISTS (
                       SELECT 1 FROM loyalty_card c
                        WHERE c.partner_id = b.partner_id
                          AND c.program_id = %(program)s
                          AND c.create_date < %(end)s) AS member
              FROM (SELECT o.partner_id, COUNT(*) AS n, SUM(o.amount) AS amount
                      FROM (%(orders)s) o GROUP BY o.partner_id) b
            """,
            program=scope.program.id,
            end=scope.end,
            orders=self._orders_sql(scope, scope.date_from),
        )

    @api.model
    def _facts_sql(self, scope):
        """The period's counted orders from the order facts
        (kpi/order_facts.py) with ``prev``/``prev2`` (the customer's previous
        two orders in the scope) and ``member``; None when the facts cannot
        answer: several companies or a program other than the company's
        membership program (then the orders are read raw, with the same
        definitions)."""
        if not scope.aggregates or len(scope.company_ids) != 1:
            return None
        company = self.env["res.company"].sudo().browse(scope.company_ids)
        if company.loyalty_membership_program_id != scope.program:
            return None
        # Orders this transaction changed: their facts first.
        self.env["loyalty.kpi.order"]._flush_facts()
        suffix = "_ch" if scope.channel else ""
        return SQL(
            """
            SELECT f.partner_id, f.day, f.amount,
                   f.%(prev)s AS prev, f.%(prev2)s AS prev2,
                   f.member_day IS NOT NULL AND f.member_day <= %(date_to)s AS member
              FROM loyalty_kpi_order f
             WHERE f.company_id = %(company)s
               AND (%(channel)s IS NULL OR f.channel = %(channel)s)
               AND f.day >= %(start)s AND f.day <= %(date_to)s
            """,
            prev=SQL.identifier("prev_day" + suffix),
            prev2=SQL.identifier("prev2_day" + suffix),
            company=scope.company_ids[0],
            channel=scope.channel or None,
            start=scope.date_from,
            date_to=scope.date_to,
        )

    @api.model
    def _orders_kpis(self, scope):
        facts = self._facts_sql(scope)
        if facts is not None:
            # A customer's first order of the period has no previous order in
            # it; their second one has exactly one.
            row = self._fetch(
                SQL(
                    """
                    SELECT COUNT(*) FILTER (WHERE member AND first),
                           COUNT(*) FILTER (WHERE member AND second),
                           COUNT(*) FILTER (WHERE NOT member
                                            AND partner_id IS NOT NULL AND first),
                           COUNT(*) FILTER (WHERE NOT member
                                            AND partner_id IS NOT NULL AND second),
                           COUNT(*) FILTER (WHERE member),
                           COALESCE(SUM(amount) FILTER (WHERE member), 0),
                           COUNT(*) FILTER (WHERE NOT member),
                           COALESCE(SUM(amount) FILTER (WHERE NOT member), 0)
                      FROM (SELECT f.*,
                                   f.prev IS NULL OR f.prev < %(start)s AS first,
                                   f.prev >= %(start)s AND (
                                       f.prev2 IS NULL OR f.prev2 < %(start)s)
                                       AS second
                              FROM (%(facts)s) f) f
                    """,
                    facts=facts,
                    start=scope.date_from,
                )
            )
            return self._order_figures(row)
        row = self._fetch(
            SQL(
                """
                SELECT COUNT(*) FILTER (WHERE member),
                       COUNT(*) FILTER (WHERE member AND n >= 2),
                       COUNT(*) FILTER (WHERE NOT member AND partner_id IS NOT NULL),
                       COUNT(*) FILTER (WHERE NOT member AND partner_id IS NOT NULL
                                        AND n >= 2),
                       COALESCE(SUM(n) FILTER (WHERE member), 0),
                       COALESCE(SUM(amount) FILTER (WHERE member), 0),
                       COALESCE(SUM(n) FILTER (WHERE NOT member), 0),
                       COALESCE(SUM(amount) FILTER (WHERE NOT member), 0)
                  FROM (%(buyers)s) b
                """,
                buyers=self._buyers_sql(scope),
            )
        )
        return self._order_figures(row)

    @api.model
    def _order_figures(self, row):
        buyers_m, repeat_m, buyers_n, repeat_n, n_m, rev_m, n_n, rev_n = row
        return {
            "repeat_purchase_rate_members": _ratio(repeat_m, buyers_m),
            "repeat_purchase_rate_non_members": _ratio(repeat_n, buyers_n),
            "member_revenue_share": _ratio(rev_m, rev_m + rev_n),
            "aov_members": round(_ratio(rev_m, n_m), 2),
            "aov_non_members": round(_ratio(rev_n, n_n), 2),
        }

    @api.model
    def _second_purchase_kpis(self, scope):
        """Members' first two orders ever, for the members who bought in the
        period (read by customer from the covering order indexes)."""
        facts = self._facts_sql(scope)
        if facts is not None:
            # A member's second order ever is the one with one previous order.
            (days,) = self._fetch(
                SQL(
                    """
                    SELECT AVG(f.day - f.prev) FROM (%(facts)s) f
                     WHERE f.member AND f.prev IS NOT NULL AND f.prev2 IS NULL
                    """,
                    facts=facts,
                )
            )
            return {"avg_days_to_second_purchase_members": round(float(days or 0.0), 2)}
        (days,) = self._fetch(
            SQL(
                """
                WITH firsts AS (
                    SELECT b.partner_id, f.d FROM (%(buyers)s) b
                     CROSS JOIN LATERAL (
                         SELECT array_agg(o.date ORDER BY o.date) AS d FROM (
                             SELECT o.date FROM (%(history)s) o
                              WHERE o.partner_id = b.partner_id
                              ORDER BY o.date LIMIT 2) o
                     ) f
                     WHERE b.member
                )
                SELECT AVG(d[2]::date - d[1]::date) FROM firsts
                 WHERE d[2] >= %(start)s
                """,
                buyers=self._buyers_sql(scope),
                history=self._orders_sql(scope),
                start=scope.date_from,
            )
        )
        return {"avg_days_to_second_purchase_members": round(float(days or 0.0), 2)}

    @api.model
    def _points_kpis(self, scope):
        sources = ["sale", "pos"] if not scope.channel else [scope.channel]
        issued, redeemed = self._fetch(
            SQL(
                """
                SELECT COALESCE(SUM(l.points_issued), 0),
                       COALESCE(SUM(l.points_redeemed), 0)
                  FROM (%(points)s) l
                 WHERE l.program_id = %(program)s
                   AND (l.company_id IS NULL OR l.company_id = ANY(%(companies)s))
                   AND (%(any_source)s OR l.source = ANY(%(sources)s))
                   AND l.day >= %(start)s AND l.day <= %(date_to)s
                """,
                points=SQL(POINTS_DAILY_SQL),
                program=scope.program.id,
                companies=scope.company_ids,
                any_source=not scope.channel,
                sources=sources,
                start=scope.date_from,
                date_to=scope.date_to,
            )
        )
        return {
            "redemption_rate": _ratio(redeemed, issued) if issued > 0 else 0.0,
            "points_liability": round(
                self._outstanding_points(scope) * scope.program.loyalty_point_value, 2
            ),
        }

    @api.model
    def _outstanding_points(self, scope):
        """Posted points held on the program's cards at the end of date_to.

        Today's balances (a card holds the sum of its posted lines) minus
        the posted lines dated later than date_to, and minus those dated
        until then but released later: two index ranges (date, release
        date) of recent lines, however long the ledger."""
        (points,) = self._fetch(
            SQL(
                """
                SELECT
                  (SELECT COALESCE(SUM(c.points), 0) FROM loyalty_card c
                    WHERE c.program_id = %(program)s
                      AND (c.company_id IS NULL OR c.company_id = ANY(%(companies)s)))
                - (SELECT COALESCE(SUM(l.points), 0) FROM loyalty_ledger_line l
                    WHERE l.program_id = %(program)s AND l.state = 'posted'
                      AND (l.company_id IS NULL OR l.company_id = ANY(%(companies)s))
                      AND l.date >= %(end)s)
                - (SELECT COALESCE(SUM(l.points), 0) FROM loyalty_ledger_line l
                    WHERE l.program_id = %(program)s AND l.state = 'posted'
                      AND (l.company_id IS NULL OR l.company_id = ANY(%(companies)s))
                      AND l.release_date IS NOT NULL
                      AND l.release_date > %(date_to)s AND l.date < %(end)s)
                """,
                program=scope.program.id,
                companies=scope.company_ids,
                end=scope.end,
                date_to=scope.date_to,
            )
        )
        return max(float(points), 0.0)

    @api.model
    def _referrals_kpis(self, scope):
        # The referral model comes with its own feature; without it there is
        # nothing to convert.
        if "loyalty.referral" not in self.env:
            return {"referral_conversion_rate": 0.0}
        Referral = self.env["loyalty.referral"].sudo()
        domain = [
            ("create_date", ">=", scope.date_from),
            ("create_date", "<", scope.end),
            ("company_id", "in", scope.company_ids),
        ]
        if "program_id" in Referral._fields:
            domain.append(("program_id", "=", scope.program.id))
        counts = dict(Referral._read_group(domain, ["state"], ["__count"]))
        total = sum(counts.values())
        return {"referral_conversion_rate": _ratio(counts.get("converted", 0), total)}

    @api.model
    def _feedback_kpis(self, scope):
        """NPS of the answers dated in the period (``loyalty.feedback``)."""
        nps, responses = self.env["loyalty.feedback"]._loyalty_nps(
            scope.date_from, scope.date_to, scope.company_ids, scope.program.id
        )
        return {"nps": nps, "nps_responses": responses}

    @api.model
    def _kpis(self, scope):
        self.env.flush_all()
        result = {}
        for part in (
            self._members_kpis,
            self._orders_kpis,
            self._second_purchase_kpis,
            self._points_kpis,
            self._referrals_kpis,
            self._feedback_kpis,
        ):
            result.update(part(scope))
        return {key: result[key] for key in KPI_KEYS}

    # ------------------------------------------------------------------
    # Dashboard
    # ------------------------------------------------------------------
    @api.model
    def _monthly_trend(self, scope):
        """Revenue, orders and points per month of the period."""
        self.env.cr.execute(
            SQL(
                """
                WITH sales AS (%(sales)s),
                pts AS (
                    SELECT date_trunc('month', l.day)::date AS month,
                           SUM(l.points_issued) AS issued,
                           SUM(l.points_redeemed) AS redeemed
                      FROM (%(points)s) l
                     WHERE l.program_id = %(program)s
                       AND (l.company_id IS NULL OR l.company_id = ANY(%(companies)s))
                       AND (%(channel)s IS NULL OR l.source = %(channel)s)
                       AND l.day >= %(start)s AND l.day <= %(date_to)s
                     GROUP BY 1
                )
                SELECT month, COALESCE(rev_m, 0), COALESCE(rev_n, 0),
                       COALESCE(n_m, 0), COALESCE(n_n, 0),
                       COALESCE(issued, 0), COALESCE(redeemed, 0)
                  FROM sales FULL JOIN pts USING (month) ORDER BY month
                """,
                sales=self._monthly_sales_sql(scope),
                points=SQL(POINTS_DAILY_SQL),
                program=scope.program.id,
                companies=scope.company_ids,
                channel=scope.channel or None,
                start=scope.date_from,
                date_to=scope.date_to,
            )
        )
        keys = (
            "month",
            "revenue_members",
            "revenue_non_members",
            "orders_members",
            "orders_non_members",
            "points_issued",
            "points_redeemed",
        )
        return [
            {
                key: (value.isoformat() if key == "month" else float(value))
                for key, value in zip(keys, row, strict=True)
            }
            for row in self.env.cr.fetchall()
        ]

    @api.model
    def _monthly_sales_sql(self, scope):
        facts = self._facts_sql(scope)
        if facts is not None:
            return SQL(
                """
                SELECT date_trunc('month', f.day)::date AS month,
                       SUM(CASE WHEN f.member THEN f.amount ELSE 0 END) AS rev_m,
                       SUM(CASE WHEN f.member THEN 0 ELSE f.amount END) AS rev_n,
                       COUNT(*) FILTER (WHERE f.member) AS n_m,
                       COUNT(*) FILTER (WHERE NOT f.member) AS n_n
                  FROM (%(facts)s) f GROUP BY 1
                """,
                facts=facts,
            )
        return SQL(
            """
            WITH b AS (%(buyers)s), o AS (%(orders)s)
            SELECT date_trunc('month', o.date)::date AS month,
                   SUM(CASE WHEN b.member THEN o.amount ELSE 0 END) AS rev_m,
                   SUM(CASE WHEN b.member THEN 0 ELSE o.amount END) AS rev_n,
                   COUNT(*) FILTER (WHERE b.member) AS n_m,
                   COUNT(*) FILTER (WHERE NOT b.member) AS n_n
              FROM o JOIN b
                ON COALESCE(b.partner_id, 0) = COALESCE(o.partner_id, 0)
             GROUP BY 1
            """,
            buyers=self._buyers_sql(scope),
            orders=self._orders_sql(scope, scope.date_from),
        )

    @api.model
    def _tier_distribution(self, scope):
        """Members per tier at each monthly snapshot of the period."""
        self.env.cr.execute(
            SQL(
                """
                SELECT s.month, COALESCE(t.name->>%(lang)s, t.name->>'en_US', ''),
                       SUM(s.member_count)
                  FROM loyalty_report_tier_snapshot s
                  LEFT JOIN loyalty_tier t ON t.id = s.tier_id
                 WHERE s.program_id = %(program)s
                   AND (s.company_id IS NULL OR s.company_id = ANY(%(companies)s))
                   AND s.month >= date_trunc('month', %(start)s::date)
                   AND s.month <= %(date_to)s
                 GROUP BY 1, 2, t.sequence ORDER BY 1, t.sequence NULLS FIRST
                """,
                lang=self.env.lang or "en_US",
                program=scope.program.id,
                companies=scope.company_ids,
                start=scope.date_from,
                date_to=scope.date_to,
            )
        )
        return [
            {"month": month.isoformat(), "tier": tier, "members": count}
            for month, tier, count in self.env.cr.fetchall()
        ]
