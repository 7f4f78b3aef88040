# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

from ..kpi.scoring import (
    AT_RISK_SCORE,
    DETRACTOR_RISK,
    FEEDBACK_DAYS,
    MEMBER_CARDS_SQL,
    NEW_DAYS,
    PROMOTER_RELIEF,
    SCORE_SQL,
    SEGMENTS,
    SNAPSHOT_SQL,
    WEIGHTS,
    WINDOW_DAYS,
)
from .loyalty_feedback import DETRACTOR_MAX, PROMOTER_MIN


class LoyaltyMemberScore(models.Model):
    """A member's segment, churn risk and points habit, one narrow row per
    scored member (kpi/scoring.py): written by the daily segment run in
    set-based SQL (only the rows that changed), read by the contact's
    fields. The id is the member's."""

    _name = "loyalty.member.score"
    _description = "Loyalty Member Score"
    _log_access = False

    partner_id = fields.Many2one(
        "res.partner", string="Member", required=True, ondelete="cascade", readonly=True
    )
    segment = fields.Selection(SEGMENTS, readonly=True)
    churn_score = fields.Integer(string="Churn Risk", readonly=True)
    churn_reason = fields.Char(string="Churn Risk Reason", readonly=True)
    points_habit = fields.Selection(
        [("earn_only", "Earns Only"), ("redeemer", "Redeems")], readonly=True
    )

    _sql_constraints = [
        ("partner_uniq", "unique(partner_id)", "One score per member."),
    ]

    def init(self):
        cr = self.env.cr
        cr.execute(
            """CREATE INDEX IF NOT EXISTS loyalty_member_score_segment_idx
               ON loyalty_member_score (segment)"""
        )
        # The daily run rewrites the scores that moved in place (HOT).
        cr.execute(
            """
            SELECT 1 FROM pg_class
             WHERE relname = 'loyalty_member_score'
               AND 'fillfactor=80' = ANY(COALESCE(reloptions, '{}'))
            """
        )
        if not cr.fetchone():
            cr.execute("ALTER TABLE loyalty_member_score SET (fillfactor = 80)")

    # ------------------------------------------------------------------
    # Scoring (set-based SQL of kpi/scoring.py)
    # ------------------------------------------------------------------
    @api.model
    def _score_members(
        self, today, texts, batch_size=50000, max_batches=0, on_at_risk=None
    ):
        """Score and segment every member of the companies' membership
        programs, about ``batch_size`` cards per statement (keyset on the
        card holder: a run that stops resumes with the next batch), from the
        order facts. ``texts`` are the translated reasons (``t_none``,
        ``t_fine``, ``t_recency``, ``t_frequency``, ``t_spend``,
        ``t_detractor``). Batches go through the addon's batch runner
        (progress, commits in a cron job; ``max_batches`` stops early).
        ``on_at_risk(card_ids)`` is called, in the batch's transaction, with
        the cards whose member the batch moved into the at-risk segment.
        Returns (members seen, changed).
        """
        env = self.env
        params = {
            "today": today,
            "window": WINDOW_DAYS,
            "window_start": today - timedelta(days=WINDOW_DAYS),
            "new_since": today - timedelta(days=NEW_DAYS),
            "at_risk": AT_RISK_SCORE,
            "w_r": WEIGHTS[0],
            "w_f": WEIGHTS[1],
            "w_m": WEIGHTS[2],
            "feedback_since": today - timedelta(days=FEEDBACK_DAYS - 1),
            "detractor_max": DETRACTOR_MAX,
            "promoter_min": PROMOTER_MIN,
            "detractor_risk": DETRACTOR_RISK,
            "promoter_relief": PROMOTER_RELIEF,
            **texts,
            "limit": batch_size,
            "last": 0,
        }
        changed = {"rows": 0}
        # Orders this transaction changed: their facts first.
        env["loyalty.kpi.order"]._flush_facts()

        def step():
            env.cr.execute(SQL(SCORE_SQL, **params))
            seen, last, updated, at_risk = env.cr.fetchone()
            if seen:
                changed["rows"] += updated
                params["last"] = last
                if at_risk and on_at_risk:
                    on_at_risk(at_risk)
            return seen

        seen = env["loyalty.batch"]._run_batches(
            step, env["loyalty.batch"]._count(MEMBER_CARDS_SQL), max_batches
        )
        env.cr.execute(SQL(SNAPSHOT_SQL, month=today.replace(day=1), uid=env.uid))
        env.invalidate_all()
        return seen, changed["rows"]

    @api.model
    def _read_scores(self, partner_ids):
        """{partner id: (segment, score, reason, habit)} of the scored ones."""
        self.env.cr.execute(
            SQL(
                """
                SELECT partner_id, segment, churn_score, churn_reason, points_habit
                  FROM loyalty_member_score WHERE partner_id = ANY(%s)
                """,
                list(partner_ids),
            )
        )
        return {row[0]: row[1:] for row in self.env.cr.fetchall()}
