# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Segments of contacts: their segment and churn risk, read from the narrow
score model (loyalty.member.score, kpi/scoring.py) and searched, sorted and
grouped through it, the segment cron; and the filters campaigns and saved
searches use (birthday this month, days since a tier upgrade, points
expiring soon)."""

from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..engine.member_figures import EXPIRING_SOON_SQL
from ..kpi.scoring import (
    SCORE_COLUMNS,
    SEGMENTS,
    score_column_sql,
    score_domain,
)


class ResPartner(models.Model):
    # res.partner is extended per capability, each in its own file.
    _inherit = "res.partner"  # pylint: disable=consider-merging-classes-inherited

    # ------------------------------------------------------------------
    # Filters for campaigns and saved searches: birthday this month, days
    # since the last tier upgrade, points expiring soon
    # ------------------------------------------------------------------
    loyalty_birthday_this_month = fields.Boolean(
        compute="_compute_loyalty_birthday_this_month",
        search="_search_loyalty_birthday_this_month",
    )
    loyalty_days_since_upgrade = fields.Integer(
        string="Days Since Tier Upgrade",
        compute="_compute_loyalty_days_since_upgrade",
        search="_search_loyalty_days_since_upgrade",
        help="Days since the member last moved up a tier (mailings: members "
        "upgraded in the last N days).",
    )
    loyalty_has_expiring_points = fields.Boolean(
        compute="_compute_loyalty_has_expiring_points",
        search="_search_loyalty_has_expiring_points",
        help="Has points expiring within the program's warning period.",
    )

    def _loyalty_last_upgrades(self, since=None):
        """{partner id: date of their last tier upgrade event}"""
        domain = [("event_type", "=", "tier_upgrade"), ("state", "!=", "cancel")]
        if self.ids:
            domain.append(("partner_id", "in", self.ids))
        if since:
            domain.append(("date", ">=", since))
        return {
            partner.id: date
            for partner, date in self.env["loyalty.member.event"]
            .sudo()
            ._read_group(domain, ["partner_id"], ["date:max"])
        }

    def _compute_loyalty_days_since_upgrade(self):
        today = fields.Date.context_today(self)
        last = self._loyalty_last_upgrades()
        for partner in self:
            date = last.get(partner.id)
            partner.loyalty_days_since_upgrade = (
                (today - date.date()).days if date else -1
            )

    def _search_loyalty_days_since_upgrade(self, operator, value):
        if operator not in ("<=", "<") or not isinstance(value, int):
            raise UserError(
                self.env._(
                    'Search "Days Since Tier Upgrade" with "<=" and a number of days.'
                )
            )
        days = value if operator == "<=" else value - 1
        since = fields.Datetime.to_datetime(
            fields.Date.context_today(self) - timedelta(days=days)
        )
        return [("id", "in", list(self.browse()._loyalty_last_upgrades(since)))]

    def _compute_loyalty_birthday_this_month(self):
        month = fields.Date.context_today(self).month
        for partner in self:
            partner.loyalty_birthday_this_month = bool(
                partner.loyalty_birthday and partner.loyalty_birthday.month == month
            )

    def _search_loyalty_birthday_this_month(self, operator, value):
        month = fields.Date.context_today(self).month
        query = SQL(
            "(SELECT id FROM res_partner"
            " WHERE EXTRACT(MONTH FROM loyalty_birthday) = %s)",
            month,
        )
        positive = (operator == "=") == bool(value)
        return [("id", "in" if positive else "not in", query)]

    def _compute_loyalty_has_expiring_points(self):
        ids = set(
            self.search(
                [("id", "in", self.ids), ("loyalty_has_expiring_points", "=", True)]
            ).ids
        )
        for partner in self:
            partner.loyalty_has_expiring_points = partner.id in ids

    def _search_loyalty_has_expiring_points(self, operator, value):
        query = SQL(
            f"""
            (SELECT c.partner_id
              FROM loyalty_ledger_line l
              JOIN loyalty_card c ON c.id = l.card_id
              JOIN loyalty_program pr ON pr.id = c.program_id
             WHERE {EXPIRING_SOON_SQL})
            """,  # noqa: S608 -- a constant
            today=fields.Date.context_today(self),
        )
        positive = (operator == "=") == bool(value)
        return [("id", "in" if positive else "not in", query)]

    # ------------------------------------------------------------------
    # Segments and churn risk (written by the segment cron, kpi/scoring.py)
    # ------------------------------------------------------------------
    # Kept in the narrow score model (loyalty.member.score, kpi/scoring.py),
    # not on the contact: read, searched, sorted and grouped through it.
    loyalty_segment = fields.Selection(
        SEGMENTS,
        compute="_compute_loyalty_score",
        search="_search_loyalty_segment",
        help="New: a member (or customer) for less than 30 days. Inactive: no "
        "points earned or redeemed for the program's inactivity delay. At risk: "
        "churn risk of 60 or more. Active: the others. Updated daily.",
    )
    loyalty_churn_score = fields.Integer(
        string="Churn Risk",
        compute="_compute_loyalty_score",
        search="_search_loyalty_churn_score",
        help="0-100: how far the member strays from their own buying rhythm "
        "(recency, frequency and spend). Updated daily.",
    )
    loyalty_churn_reason = fields.Char(
        string="Churn Risk Reason",
        compute="_compute_loyalty_score",
        search="_search_loyalty_churn_reason",
    )
    loyalty_points_habit = fields.Selection(
        [("earn_only", "Earns Only"), ("redeemer", "Redeems")],
        string="Points Habit",
        compute="_compute_loyalty_score",
        search="_search_loyalty_points_habit",
    )
    loyalty_is_top_tier = fields.Boolean(
        string="Top Tier Member",
        compute="_compute_loyalty_is_top_tier",
        search="_search_loyalty_is_top_tier",
    )
    loyalty_is_advocate = fields.Boolean(
        string="Advocate",
        compute="_compute_loyalty_is_advocate",
        search="_search_loyalty_is_advocate",
        help="Referred at least one customer who then ordered.",
    )

    def _compute_loyalty_score(self):
        scores = self.env["loyalty.member.score"]._read_scores(
            [i for i in self._origin.ids if i]
        )
        for partner in self:
            segment, score, reason, habit = scores.get(
                partner._origin.id, (False, 0, False, False)
            )
            partner.loyalty_segment = segment
            partner.loyalty_churn_score = score
            partner.loyalty_churn_reason = reason
            partner.loyalty_points_habit = habit

    def _search_loyalty_segment(self, operator, value):
        return score_domain("loyalty_segment", operator, value)

    def _search_loyalty_churn_score(self, operator, value):
        return score_domain("loyalty_churn_score", operator, value)

    def _search_loyalty_churn_reason(self, operator, value):
        return score_domain("loyalty_churn_reason", operator, value)

    def _search_loyalty_points_habit(self, operator, value):
        return score_domain("loyalty_points_habit", operator, value)

    def _field_to_sql(self, alias, fname, query=None, flush=True):
        # Sorting and grouping contacts by a score field join the score table.
        if fname in SCORE_COLUMNS:
            return score_column_sql(alias, fname, query)
        return super()._field_to_sql(alias, fname, query, flush)

    def _compute_loyalty_is_top_tier(self):
        top = set(
            self.search(
                [("id", "in", self.ids), ("loyalty_is_top_tier", "=", True)]
            ).ids
        )
        for partner in self:
            partner.loyalty_is_top_tier = partner.id in top

    def _search_loyalty_is_top_tier(self, operator, value):
        if operator not in ("=", "!="):
            raise UserError(self.env._("Unsupported search on Top Tier Member."))
        query = SQL(
            """
            (SELECT c.partner_id FROM loyalty_card c
              JOIN res_company rc ON rc.loyalty_membership_program_id = c.program_id
             WHERE c.loyalty_tier_id = (
                   SELECT t.id FROM loyalty_tier t WHERE t.program_id = c.program_id
                    ORDER BY t.threshold DESC, t.sequence DESC, t.id DESC LIMIT 1))
            """
        )
        positive = (operator == "=") == bool(value)
        return [("id", "in" if positive else "not in", query)]

    def _compute_loyalty_is_advocate(self):
        advocates = set(
            self.search(
                [("id", "in", self.ids), ("loyalty_is_advocate", "=", True)]
            ).ids
        )
        for partner in self:
            partner.loyalty_is_advocate = partner.id in advocates

    def _search_loyalty_is_advocate(self, operator, value):
        if operator not in ("=", "!="):
            raise UserError(self.env._("Unsupported search on Advocate."))
        positive = (operator == "=") == bool(value)
        # Referrals come with their own model; without it nobody referred.
        if "loyalty.referral" not in self.env:
            return [(0, "=", 1)] if positive else []
        referrers = (
            self.env["loyalty.referral"]
            .sudo()
            ._search([("state", "=", "converted")])
            .subselect("referrer_id")
        )
        return [("id", "in" if positive else "not in", referrers)]

    @api.model
    def _cron_loyalty_segments(self, batch_size=50000, max_batches=0):
        """Score and segment every member, set-based and batched (one SQL
        statement per batch of cards, kpi/scoring.py); members moved into
        the at-risk segment get a member event (win-back)."""
        today = fields.Date.context_today(self)
        Event = self.env["loyalty.member.event"]
        return self.env["loyalty.member.score"]._score_members(
            today,
            self._loyalty_churn_texts(),
            batch_size=batch_size,
            max_batches=max_batches,
            on_at_risk=lambda card_ids: Event._emit_at_risk(card_ids, today),
        )

    @api.model
    def _loyalty_churn_texts(self):
        return {
            "t_none": self.env._("No purchase yet."),
            "t_fine": self.env._("Buying at the usual rhythm."),
            "t_recency": self.env._(
                "No purchase since {date}; usually one every {rhythm} days."
            ),
            "t_frequency": self.env._(
                "Buying less often: {orders} orders in the last 180 days, "
                "{expected} expected."
            ),
            "t_spend": self.env._(
                "Spending less: {amount} in the last 180 days, {expected} expected."
            ),
            "t_detractor": self.env._("Gave {score}/10 on {date}."),
        }
