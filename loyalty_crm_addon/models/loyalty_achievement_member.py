# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.tools.misc import formatLang


class LoyaltyAchievementMember(models.Model):
    """A member's progress towards an achievement in one period; once done,
    it is the member's badge. Written by the engine only
    (``loyalty.achievement._loyalty_compute``)."""

    _name = "loyalty.achievement.member"
    _description = "Loyalty Achievement Progress"
    _order = "state desc, date_done desc, id desc"
    _rec_name = "achievement_id"

    partner_id = fields.Many2one(
        "res.partner",
        string="Member",
        required=True,
        index=True,
        ondelete="cascade",
        readonly=True,
    )
    achievement_id = fields.Many2one(
        "loyalty.achievement",
        required=True,
        index=True,
        ondelete="cascade",
        readonly=True,
    )
    program_id = fields.Many2one(
        "loyalty.program", index=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one("res.company", index=True, readonly=True)
    period = fields.Char(
        required=True,
        readonly=True,
        help="The period of the progress: its first day, or 'all' for an "
        "achievement without periods.",
    )
    period_start = fields.Date(readonly=True)
    progress = fields.Float(readonly=True, digits=(16, 2))
    target = fields.Float(related="achievement_id.target")
    progress_rate = fields.Float(
        string="Progress (%)", compute="_compute_progress_rate", digits=(16, 0)
    )
    state = fields.Selection(
        [("running", "In Progress"), ("done", "Reached")],
        required=True,
        default="running",
        index=True,
        readonly=True,
    )
    date_done = fields.Datetime(string="Reached On", readonly=True)
    ledger_line_id = fields.Many2one(
        "loyalty.ledger.line", string="Bonus", readonly=True, ondelete="set null"
    )
    progress_label = fields.Char(
        string="Progress", compute="_compute_progress_rate", help="Progress of target."
    )
    goal = fields.Selection(related="achievement_id.goal")
    icon = fields.Char(related="achievement_id.icon")
    color = fields.Integer(related="achievement_id.color")

    _sql_constraints = [
        (
            "member_period_unique",
            "UNIQUE(achievement_id, partner_id, period)",
            "A member has one progress per achievement and period.",
        ),
    ]

    @api.depends("progress", "target", "state", "goal")
    def _compute_progress_rate(self):
        for member in self:
            if member.state == "done" or not member.target:
                member.progress_rate = 100.0
            else:
                member.progress_rate = min(
                    100.0, round(100.0 * member.progress / member.target)
                )
            digits = 2 if member.goal == "spend" else 0
            member.progress_label = "%s / %s" % (
                formatLang(self.env, member.progress, digits=digits),
                formatLang(self.env, member.target, digits=digits),
            )

    def _loyalty_complete(self):
        """Set these running rows done (once: a row completed by another
        run is skipped), post each one's bonus once (reference
        ``achievement:<achievement>:<partner>:<period>``) and record an
        ``achievement`` member event. Returns the rows completed."""
        if not self:
            return self
        self.env.flush_all()
        self.env.cr.execute(
            """
            UPDATE loyalty_achievement_member
               SET state = 'done', date_done = now() at time zone 'UTC',
                   write_uid = %s, write_date = now() at time zone 'UTC'
             WHERE id = ANY(%s) AND state = 'running'
            RETURNING id
            """,
            [self.env.uid, self.ids],
        )
        done = self.browse(row[0] for row in self.env.cr.fetchall())
        done.invalidate_recordset()
        if not done:
            return done
        Ledger = self.env["loyalty.ledger.line"].sudo()
        Event = self.env["loyalty.member.event"]
        cards = (
            self.env["loyalty.card"]
            .sudo()
            .search(
                [
                    ("program_id", "in", done.program_id.ids),
                    ("partner_id", "in", done.partner_id.ids),
                ]
            )
        )
        card_of = {(c.program_id.id, c.partner_id.id): c for c in cards}
        references = {member: member._loyalty_reference() for member in done}
        paid = {
            (line.card_id.id, line.reference): line
            for line in Ledger.search(
                [
                    ("card_id", "in", cards.ids),
                    ("entry_type", "=", "bonus"),
                    ("reference", "in", list(references.values())),
                ]
            )
        }
        vals_list, bonus_of, events = [], {}, []
        for member in done:
            card = card_of.get((member.program_id.id, member.partner_id.id))
            if not card:
                continue
            achievement = member.achievement_id
            reference = references[member]
            description = self.env._("Achievement: %s", achievement.name)
            points = achievement.bonus_points
            if points > 0 and (card.id, reference) not in paid:
                bonus_of[card.id, reference] = member
                vals_list.append(
                    Ledger._prepare_line(
                        card,
                        "bonus",
                        points,
                        source="system",
                        reference=reference,
                        description=description,
                    )
                )
            events.append(
                Event._prepare_event(
                    card,
                    "achievement",
                    reference,
                    achievement_id=achievement.id,
                    points=points,
                    description=description,
                )
            )
        if vals_list:
            lines = Ledger._post(vals_list)
            for line in lines:
                member = bonus_of.get((line.card_id.id, line.reference))
                if member:
                    paid[line.card_id.id, line.reference] = line
        for member in done:
            card = card_of.get((member.program_id.id, member.partner_id.id))
            line = card and paid.get((card.id, references[member]))
            if line:
                member.ledger_line_id = line
        Event._emit(events)
        return done

    def _loyalty_reference(self):
        self.ensure_one()
        return (
            f"achievement:{self.achievement_id.id}:{self.partner_id.id}:{self.period}"
        )

    def _loyalty_badge_values(self):
        """The badge as screens show it (portal, till, dashboard)."""
        self.ensure_one()
        achievement = self.achievement_id
        return {
            "id": self.id,
            "achievement_id": achievement.id,
            "name": achievement.name,
            "description": achievement.description or "",
            "icon": achievement.icon or "fa-trophy",
            "color": achievement.color,
            "goal": achievement.goal,
            "state": self.state,
            "progress": self.progress,
            "target": achievement.target,
            "progress_rate": self.progress_rate,
            "date_done": fields.Datetime.to_string(self.date_done)
            if self.date_done
            else False,
        }
