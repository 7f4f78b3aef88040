# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import datetime, time, timedelta

from odoo import api, fields, models, tools
from odoo.exceptions import ValidationError

from ..engine.achievements import GOAL_SQL, REACHED_SQL, UPSERT_SQL

GOALS = [
    ("orders", "Number of Orders"),
    ("spend", "Amount Spent"),
    ("referrals", "Referrals Converted"),
    ("streak", "Monthly Streak"),
    ("feedback", "Feedback Given"),
]


class LoyaltyAchievement(models.Model):
    """A goal a manager sets without code ("5 orders in 90 days", "an order
    each month for 3 months"): members who reach it get a badge (their done
    ``loyalty.achievement.member``), ``bonus_points`` once per period (a
    ``bonus`` ledger line, reference
    ``achievement:<achievement id>:<partner id>:<period>``) and a member
    event (``achievement``) that shipped rules follow up.

    Progress is computed set-based (engine/achievements.py): for the members
    whose ledger moved, after the business transaction (cards marked by
    ``_loyalty_mark_due``, processed with the member events), and for every
    member by a daily scheduled action (periods that start, achievements
    just created)."""

    _name = "loyalty.achievement"
    # The programs with achievements are cached (``_loyalty_programs``).
    _inherit = ["loyalty.engine.data.mixin"]
    _description = "Loyalty Achievement"
    _order = "sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    description = fields.Text(translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    program_id = fields.Many2one(
        "loyalty.program",
        required=True,
        index=True,
        ondelete="cascade",
        domain=[("program_type", "=", "loyalty")],
    )
    company_id = fields.Many2one(related="program_id.company_id", store=True)
    goal = fields.Selection(GOALS, required=True, default="orders")
    target = fields.Float(
        required=True,
        default=1.0,
        help="Number of orders, amount spent, referrals converted, "
        "consecutive months with an order, or feedback answers to reach.",
    )
    period_days = fields.Integer(
        string="Period (days)",
        default=0,
        help="The goal is reached within periods of this many days, counted "
        "from the start date (else from the day the achievement was made), "
        "once per period; 0 = no period: once ever.",
    )
    bonus_points = fields.Float(
        help="Points the member gets on reaching the goal (0 = only the badge)."
    )
    tier_ids = fields.Many2many(
        "loyalty.tier",
        string="Tiers",
        domain="[('program_id', '=', program_id)]",
        help="Members of these tiers only; empty = every member.",
    )
    date_from = fields.Date(string="Start Date")
    date_to = fields.Date(string="End Date")
    icon = fields.Char(
        string="Badge Icon",
        default="fa-trophy",
        help="Font Awesome icon of the badge (fa-trophy, fa-star, fa-heart...).",
    )
    color = fields.Integer(string="Badge Color")
    image_128 = fields.Image(string="Badge Image", max_width=128, max_height=128)
    member_ids = fields.One2many(
        "loyalty.achievement.member", "achievement_id", string="Members"
    )
    done_count = fields.Integer(
        string="Reached", compute="_compute_counts", compute_sudo=True
    )
    running_count = fields.Integer(
        string="In Progress", compute="_compute_counts", compute_sudo=True
    )

    _sql_constraints = [
        (
            "target_positive",
            "CHECK(target > 0)",
            "An achievement's target must be above zero.",
        ),
        (
            "numbers_positive",
            "CHECK(period_days >= 0 AND bonus_points >= 0)",
            "An achievement's period and bonus cannot be negative.",
        ),
        (
            "dates_ordered",
            "CHECK(date_from IS NULL OR date_to IS NULL OR date_from <= date_to)",
            "An achievement ends on or after the day it starts.",
        ),
    ]

    @api.constrains("program_id", "tier_ids")
    def _check_program(self):
        for achievement in self:
            if achievement.program_id.program_type != "loyalty":
                raise ValidationError(
                    self.env._("Achievements belong to membership programs only.")
                )
            if achievement.tier_ids.program_id - achievement.program_id:
                raise ValidationError(
                    self.env._("An achievement's tiers are tiers of its program.")
                )

    def _compute_counts(self):
        counts = {
            (achievement.id, state): n
            for achievement, state, n in self.env[
                "loyalty.achievement.member"
            ]._read_group(
                [("achievement_id", "in", self.ids)],
                ["achievement_id", "state"],
                ["__count"],
            )
        }
        for achievement in self:
            achievement.done_count = counts.get((achievement.id, "done"), 0)
            achievement.running_count = counts.get((achievement.id, "running"), 0)

    def action_open_members(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.name,
            "res_model": "loyalty.achievement.member",
            "view_mode": "list,form",
            "domain": [("achievement_id", "=", self.id)],
        }

    # ------------------------------------------------------------------
    # Periods
    # ------------------------------------------------------------------
    def _loyalty_window(self, today):
        """(start, end, period) of the current period on ``today``: dates
        (both included, False = unbounded) and the period's key (its start
        date, or ``all``); None when the achievement is not valid then."""
        self.ensure_one()
        if (self.date_from and today < self.date_from) or (
            self.date_to and today > self.date_to
        ):
            return None
        if not self.period_days:
            return self.date_from, self.date_to, "all"
        anchor = self.date_from or fields.Date.to_date(self.create_date)
        index = (today - anchor).days // self.period_days
        start = anchor + timedelta(days=index * self.period_days)
        end = start + timedelta(days=self.period_days - 1)
        if self.date_to:
            end = min(end, self.date_to)
        return start, end, fields.Date.to_string(start)

    # ------------------------------------------------------------------
    # Progress (set-based)
    # ------------------------------------------------------------------
    @api.model
    @tools.ormcache()
    def _loyalty_programs(self):
        """Ids of the programs with active achievements (cached)."""
        self.env.cr.execute(
            "SELECT DISTINCT program_id FROM loyalty_achievement WHERE active"
        )
        return frozenset(row[0] for row in self.env.cr.fetchall())

    @api.model
    def _loyalty_mark_due(self, cards):
        """Cards whose progress is to be computed after the business
        transaction (programs with achievements only); the member events'
        processing does it (``_cron_process_events``). One statement, only
        when the program has achievements."""
        programs = self._loyalty_programs()
        card_ids = [c.id for c in cards if c.program_id.id in programs]
        if not card_ids:
            return
        self.env.cr.execute(
            """
            UPDATE loyalty_card SET loyalty_achievement_due = TRUE
             WHERE id = ANY(%s) AND loyalty_achievement_due IS NULL
            RETURNING id
            """,
            [card_ids],
        )
        if self.env.cr.fetchall():
            cron_id = self.env["ir.model.data"]._xmlid_to_res_id(
                "loyalty_crm_addon.ir_cron_loyalty_process_events"
            )
            self.env["ir.cron"].sudo().browse(cron_id)._trigger()

    def _loyalty_compute(self, today, card_ids=None):
        """Write the progress of these achievements' current periods for
        the members of ``card_ids`` (None: every member), then complete the
        members who reached the target. Returns the members completed."""
        Member = self.env["loyalty.achievement.member"].sudo()
        reached = Member
        self.env.flush_all()
        for achievement in self.sudo():
            window = achievement._loyalty_window(today)
            if not window:
                continue
            start, end, period = window
            params = {
                "achievement": achievement.id,
                "program": achievement.program_id.id,
                "company": achievement.company_id.id or None,
                "cards": list(card_ids) if card_ids is not None else None,
                "tiers": achievement.tier_ids.ids or None,
                "start": datetime.combine(start, time.min) if start else None,
                "end": datetime.combine(end + timedelta(days=1), time.min)
                if end
                else None,
                "period": period,
                "period_start": start or None,
                "target": achievement.target,
                "uid": self.env.uid,
            }
            self.env.cr.execute(
                UPSERT_SQL.format(query=GOAL_SQL[achievement.goal]), params
            )
            self.env.cr.execute(REACHED_SQL, params)
            reached |= Member.browse(row[0] for row in self.env.cr.fetchall())
        Member.invalidate_model()
        return reached._loyalty_complete()

    @api.model
    def _loyalty_process_due(self, batch_size=1000):
        """Progress of the cards marked due (``_loyalty_mark_due``), by
        batches; returns the number of cards processed."""
        today = fields.Date.context_today(self)

        def step():
            self.env.cr.execute(
                """
                UPDATE loyalty_card SET loyalty_achievement_due = NULL
                 WHERE id IN (SELECT id FROM loyalty_card
                               WHERE loyalty_achievement_due
                               ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED)
                RETURNING id, program_id
                """,
                [batch_size],
            )
            rows = self.env.cr.fetchall()
            by_program = {}
            for card_id, program_id in rows:
                by_program.setdefault(program_id, []).append(card_id)
            achievements = self.sudo().search([("program_id", "in", list(by_program))])
            for program_id, card_ids in by_program.items():
                achievements.filtered(
                    lambda a, p=program_id: a.program_id.id == p
                )._loyalty_compute(today, card_ids)
            return len(rows)

        return self.env["loyalty.batch"]._run_batches(step)

    @api.model
    def _cron_update_achievements(self, batch_size=5000, max_batches=0):
        """Daily: every member's progress in the current period of every
        active achievement (new periods start from nothing, achievements
        just made count what members did), by batches of cards."""
        today = fields.Date.context_today(self)
        achievements = (
            self.sudo()
            .search([("program_id.active", "=", True)])
            .filtered(lambda a: a._loyalty_window(today))
        )
        # Running progress of periods that ended is dropped.
        for achievement in achievements:
            self.env.cr.execute(
                """
                DELETE FROM loyalty_achievement_member
                 WHERE achievement_id = %s AND state = 'running' AND period <> %s
                """,
                [achievement.id, achievement._loyalty_window(today)[2]],
            )
        self.env.cr.execute(
            """
            DELETE FROM loyalty_achievement_member m
             USING loyalty_achievement a
             WHERE a.id = m.achievement_id AND m.state = 'running'
               AND (NOT a.active OR a.id <> ALL(%s))
            """,
            [achievements.ids],
        )
        programs = achievements.program_id
        total = self.env["loyalty.batch"]._count(
            "SELECT COUNT(*) FROM loyalty_card WHERE program_id = ANY(%s)",
            [programs.ids],
        )
        state = {"last": 0}

        def step():
            self.env.cr.execute(
                """
                SELECT id, program_id FROM loyalty_card
                 WHERE program_id = ANY(%s) AND id > %s AND partner_id IS NOT NULL
                 ORDER BY id LIMIT %s
                """,
                [programs.ids, state["last"], batch_size],
            )
            rows = self.env.cr.fetchall()
            if not rows:
                return 0
            state["last"] = rows[-1][0]
            for program in programs:
                ids = [card_id for card_id, pid in rows if pid == program.id]
                if ids:
                    achievements.filtered(
                        lambda a, p=program: a.program_id == p
                    )._loyalty_compute(today, ids)
            return len(rows)

        return self.env["loyalty.batch"]._run_batches(step, total, max_batches)
