# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What the owner's dashboard shows beside the period's KPIs
(``loyalty.program.get_loyalty_dashboard_data``): the same figures over the
period before (period-over-period change), the currency the amounts are in,
the cohort retention of members (by month of enrolment x months
since) and the members' feedback (NPS by month, by tier, members against
non-members)."""

import random
from datetime import datetime, time, timedelta

from odoo import api, fields, models
from odoo.tools import SQL

from ..kpi.engine import KpiScope

# Cohorts shown: the most recent months of enrolment up to the period's end.
COHORT_MONTHS = 12
# What makes a member "retained" in a month: they earned or spent points.
RETAINING_ENTRIES = ("earn", "redeem")


class LoyaltyProgram(models.Model):
    # The dashboard's own file: loyalty_program.py is already long.
    _inherit = "loyalty.program"  # pylint: disable=consider-merging-classes-inherited

    def _loyalty_dashboard_extras(self, scope):
        """{previous: the KPIs of the period of the same length just before,
        currency_id, cohorts} of one program, for the period and companies
        of ``scope`` (``kpi.engine.KpiScope``)."""
        self.ensure_one()
        length = scope.date_to - scope.date_from
        prev_to = scope.date_from - timedelta(days=1)
        prev_from = prev_to - length
        previous = KpiScope(
            scope.program,
            prev_from,
            prev_to,
            scope.company_ids,
            channel=scope.channel,
            aggregates=scope.aggregates,
        )
        return {
            "currency_id": self.currency_id.id,
            "previous": {
                "date_from": prev_from.isoformat(),
                "date_to": prev_to.isoformat(),
                "kpis": self.env["loyalty.kpi.engine"]._kpis(previous),
            },
            "cohorts": self._loyalty_cohort_retention(scope),
            "nps": self._loyalty_nps_breakdown(scope),
        }

    def _loyalty_cohort_retention(self, scope):
        """Members by month of enrolment (their card's creation, or its
        first ledger line if earlier: imported history) x months
        since: ``[{month, members, retained: [share of the cohort active
        (points earned or spent) 0, 1, 2... months after enrolling, up to
        the period's end]}]``, the last ``COHORT_MONTHS`` cohorts up to the
        end of the period."""
        self.ensure_one()
        self.env["loyalty.ledger.line"].flush_model()
        self.env["loyalty.card"].flush_model()
        last = scope.date_to.replace(day=1)
        first = last
        for __ in range(COHORT_MONTHS - 1):
            first = (first - timedelta(days=1)).replace(day=1)
        self.env.cr.execute(
            SQL(
                """
                WITH enrolled AS (
                    -- A card brought from another system (import) or made
                    -- after its first points: its first line is the start.
                    SELECT c.id, LEAST(c.create_date, (
                               SELECT MIN(l.date) FROM loyalty_ledger_line l
                                WHERE l.card_id = c.id)) AS day
                      FROM loyalty_card c
                     WHERE c.program_id = %(program)s AND c.partner_id IS NOT NULL
                       AND (c.company_id IS NULL OR c.company_id = ANY(%(companies)s))
                ),
                cards AS (
                    SELECT e.id, date_trunc('month', e.day)::date AS cohort
                      FROM enrolled e WHERE e.day >= %(first)s AND e.day < %(end)s
                ),
                activity AS (
                    SELECT DISTINCT l.card_id,
                           date_trunc('month', l.date)::date AS month
                      FROM loyalty_ledger_line l
                      JOIN cards ON cards.id = l.card_id
                     WHERE l.state = 'posted' AND l.entry_type IN %(entries)s
                       AND l.date < %(end)s
                )
                SELECT c.cohort, NULL::int, COUNT(*) FROM cards c GROUP BY 1
                UNION ALL
                SELECT c.cohort,
                       ((EXTRACT(YEAR FROM a.month) - EXTRACT(YEAR FROM c.cohort))
                        * 12 + EXTRACT(MONTH FROM a.month)
                        - EXTRACT(MONTH FROM c.cohort))::int,
                       COUNT(DISTINCT c.id)
                  FROM cards c JOIN activity a ON a.card_id = c.id
                 WHERE a.month >= c.cohort
                 GROUP BY 1, 2
                """,
                program=self.id,
                companies=scope.company_ids,
                first=first,
                end=scope.end,
                entries=RETAINING_ENTRIES,
            )
        )
        sizes, active = {}, {}
        for cohort, since, count in self.env.cr.fetchall():
            if since is None:
                sizes[cohort] = count
            else:
                active[(cohort, since)] = count
        result = []
        for cohort in sorted(sizes):
            span = (last.year - cohort.year) * 12 + last.month - cohort.month
            result.append(
                {
                    "month": cohort.isoformat(),
                    "members": sizes[cohort],
                    "retained": [
                        round(active.get((cohort, k), 0) / sizes[cohort], 4)
                        for k in range(span + 1)
                    ],
                }
            )
        return result

    def _loyalty_nps_breakdown(self, scope):
        """The feedback answers of the period (those ``_loyalty_nps`` counts:
        the program's and the companies', or of none), broken down:
        ``{responses, trend: [{month, nps, responses}] (every month of the
        period), by_tier: [{tier, nps, responses}] (the member's tier now;
        ``tier`` False: members without one), members, non_members: {nps,
        responses}}``. A partner without a card of the program answers as a
        non-member. ``nps`` is -100..100 (one decimal), False without any
        answer. One query."""
        self.ensure_one()
        self.env["loyalty.feedback"].flush_model()
        self.env["loyalty.card"].flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT date_trunc('month', f.date)::date, c.id IS NOT NULL,
                       c.loyalty_tier_id, f.category, COUNT(*)
                  FROM loyalty_feedback f
                  LEFT JOIN LATERAL (
                      SELECT c.id, c.loyalty_tier_id FROM loyalty_card c
                       WHERE c.partner_id = f.partner_id
                         AND c.program_id = %(program)s
                       ORDER BY c.id LIMIT 1
                  ) c ON TRUE
                 WHERE f.date >= %(start)s AND f.date < %(end)s
                   AND (f.company_id IS NULL OR f.company_id = ANY(%(companies)s))
                   AND (f.program_id IS NULL OR f.program_id = %(program)s)
                 GROUP BY 1, 2, 3, 4
                """,
                program=self.id,
                companies=scope.company_ids,
                start=scope.date_from,
                end=scope.end,
            )
        )
        groups = {}

        def add(key, category, count):
            counts = groups.setdefault(key, {})
            counts[category] = counts.get(category, 0) + count

        for month, member, tier_id, category, count in self.env.cr.fetchall():
            add(("all",), category, count)
            add(("month", month), category, count)
            add(("member", member), category, count)
            if member:
                add(("tier", tier_id or False), category, count)

        def figure(key):
            counts = groups.get(key, {})
            total = sum(counts.values())
            if not total:
                return {"nps": False, "responses": 0}
            nps = 100.0 * (counts.get("promoter", 0) - counts.get("detractor", 0))
            return {"nps": round(nps / total, 1), "responses": total}

        trend = []
        month = scope.date_from.replace(day=1)
        while month <= scope.date_to:
            trend.append({"month": month.isoformat(), **figure(("month", month))})
            month = (month + timedelta(days=32)).replace(day=1)
        tier_ids = [key[1] for key in groups if key[0] == "tier" and key[1]]
        tiers = self.env["loyalty.tier"].browse(tier_ids).sorted("threshold")
        by_tier = [{"tier": tier.name, **figure(("tier", tier.id))} for tier in tiers]
        if ("tier", False) in groups:
            by_tier.insert(0, {"tier": False, **figure(("tier", False))})
        return {
            "responses": figure(("all",))["responses"],
            "trend": trend,
            "by_tier": by_tier,
            "members": figure(("member", True)),
            "non_members": figure(("member", False)),
        }

    # ------------------------------------------------------------------
    # Demo data
    # ------------------------------------------------------------------
    @api.model
    def _loyalty_demo_feedback_history(self, months=6):
        """Answers of the months before this one (as if imported: no points,
        no follow-up), from members and from customers without a card."""
        program = self.env.ref(
            "loyalty_crm_addon.loyalty_program_rewards_club", raise_if_not_found=False
        )
        if not program:
            return False
        Feedback = self.env["loyalty.feedback"]
        if Feedback.search_count([("reference", "=like", "demo-history:%")]):
            return True
        members = (
            self.env["loyalty.card"]
            .search(
                [("program_id", "=", program.id), ("partner_id", "!=", False)],
                order="id",
            )
            .partner_id
        )
        customers = self.env["res.partner"].search(
            [
                ("id", "not in", members.ids),
                ("is_company", "=", False),
                ("parent_id", "=", False),
                ("user_ids", "=", False),
            ],
            order="id",
            limit=10,
        )
        rng = random.Random(23)
        first = fields.Date.context_today(self).replace(day=1)
        vals_list = []
        for back in range(months, 0, -1):
            month = first
            for __ in range(back):
                month = (month - timedelta(days=1)).replace(day=1)
            # Members grow happier over the months; walk-ins less so.
            for partner, scores in (
                (members, (5, 7, 8, 9, 9, 10, 10 if back < 4 else 6)),
                (customers, (3, 6, 7, 8, 9)),
            ):
                for __ in range(rng.randint(3, 7)):
                    if not partner:
                        break
                    who = rng.choice(partner)
                    vals_list.append(
                        {
                            "partner_id": who.id,
                            "program_id": program.id,
                            "company_id": program.company_id.id or self.env.company.id,
                            "score": rng.choice(scores),
                            "channel": rng.choice(("survey", "portal", "pos")),
                            "date": datetime.combine(
                                month + timedelta(days=rng.randint(0, 27)), time(11)
                            ),
                            "reference": f"demo-history:{len(vals_list)}",
                        }
                    )
        Feedback.create(vals_list)
        return True
