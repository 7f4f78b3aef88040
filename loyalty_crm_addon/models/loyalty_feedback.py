# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

from ..engine.member_events import NO_TRACKING

CHANNELS = [
    ("survey", "Survey"),
    ("portal", "Portal"),
    ("pos", "Point of Sale"),
    ("sale", "Sales"),
    ("api", "API"),
]
DETRACTOR_MAX = 6
PROMOTER_MIN = 9


class LoyaltyFeedback(models.Model):
    """A member's answer to "How likely are you to recommend us?" (NPS,
    0-10). Recorded through ``res.partner.loyalty_record_feedback`` only:
    detractors (0-6) get a follow-up activity for their salesperson,
    promoters (9-10) a member event (``promoter``) that a shipped rule
    follows up with an invitation to refer a friend."""

    _name = "loyalty.feedback"
    _description = "Loyalty Member Feedback"
    _order = "date desc, id desc"
    _rec_name = "partner_id"

    partner_id = fields.Many2one(
        "res.partner",
        string="Member",
        required=True,
        index=True,
        ondelete="cascade",
        readonly=True,
    )
    author_id = fields.Many2one(
        "res.partner",
        string="Answered By",
        ondelete="set null",
        readonly=True,
        help="The contact who answered, when not the member itself (a "
        "company's contact).",
    )
    program_id = fields.Many2one(
        "loyalty.program", index=True, ondelete="set null", readonly=True
    )
    company_id = fields.Many2one("res.company", index=True, readonly=True)
    score = fields.Integer(required=True, readonly=True, aggregator="avg")
    category = fields.Selection(
        [
            ("detractor", "Detractor"),
            ("passive", "Passive"),
            ("promoter", "Promoter"),
        ],
        compute="_compute_category",
        store=True,
    )
    comment = fields.Text(readonly=True)
    channel = fields.Selection(CHANNELS, required=True, default="api", readonly=True)
    date = fields.Datetime(
        required=True, default=fields.Datetime.now, index=True, readonly=True
    )
    reference = fields.Char(index="btree_not_null", readonly=True)
    ledger_line_id = fields.Many2one(
        "loyalty.ledger.line", string="Points", readonly=True, ondelete="set null"
    )

    _sql_constraints = [
        (
            "score_range",
            "CHECK(score >= 0 AND score <= 10)",
            "A score is from 0 to 10.",
        ),
        (
            "reference_unique",
            "UNIQUE(partner_id, reference)",
            "This answer was already recorded.",
        ),
    ]

    @api.depends("score")
    def _compute_category(self):
        for feedback in self:
            feedback.category = (
                "promoter"
                if feedback.score >= 9
                else "passive"
                if feedback.score >= 7
                else "detractor"
            )

    @api.model
    def _loyalty_nps(self, date_from, date_to, company_ids, program_id=None):
        """(nps, responses) of the answers dated ``date_from``..``date_to``
        (both included) in ``company_ids`` (and of ``program_id``): the
        percentage of promoters (9-10) minus that of detractors (0-6),
        -100..100 rounded to one decimal; ``False`` without any answer."""
        domain = [
            ("date", ">=", fields.Datetime.to_datetime(date_from)),
            (
                "date",
                "<",
                fields.Datetime.add(fields.Datetime.to_datetime(date_to), days=1),
            ),
            ("company_id", "in", list(company_ids) + [False]),
        ]
        if program_id:
            domain.append(("program_id", "in", [program_id, False]))
        counts = dict(self._read_group(domain, ["category"], ["__count"]))
        total = sum(counts.values())
        if not total:
            return False, 0
        nps = 100.0 * (counts.get("promoter", 0) - counts.get("detractor", 0)) / total
        return round(nps, 1), total

    def _loyalty_follow_up(self, card):
        """What an answer gives rise to (one answer, just recorded): the
        program's feedback points, a follow-up activity for a detractor, a
        ``promoter`` member event for a promoter, the member's achievements
        on feedback."""
        self.ensure_one()
        program = card.program_id
        member = self.partner_id
        if card and program.loyalty_feedback_points > 0:
            Ledger = self.env["loyalty.ledger.line"].sudo()
            key = self.reference or fields.Date.to_string(
                fields.Date.context_today(self)
            )
            reference = f"feedback:{member.id}:{key}"
            paid = Ledger.search(
                [
                    ("card_id", "=", card.id),
                    ("entry_type", "=", "bonus"),
                    ("reference", "=", reference),
                ],
                limit=1,
            )
            if not paid:
                self.ledger_line_id = Ledger._post(
                    [
                        Ledger._prepare_line(
                            card,
                            "bonus",
                            program.loyalty_feedback_points,
                            source="system",
                            reference=reference,
                            description=self.env._("Thank you for your feedback"),
                        )
                    ]
                )[:1]
        if self.score <= DETRACTOR_MAX:
            user = self._loyalty_follow_up_user(program)
            member.sudo().with_context(**NO_TRACKING).activity_schedule(
                "loyalty_crm_addon.mail_activity_type_loyalty_followup",
                user_id=user.id,
                summary=self.env._("Unhappy member: scored %s/10", self.score),
                note=self.comment or self.env._("No comment given."),
            )
        elif self.score >= PROMOTER_MIN and card:
            Event = self.env["loyalty.member.event"]
            Event._emit(
                [
                    Event._prepare_event(
                        card,
                        "promoter",
                        f"promoter:{self.id}",
                        feedback_id=self.id,
                        description=self.env._("Promoter: scored %s/10", self.score),
                    )
                ]
            )
        if card:
            self.env["loyalty.achievement"]._loyalty_mark_due(card)

    def _loyalty_follow_up_user(self, program):
        """The member's salesperson, else the program's responsible, else
        the administrator."""
        for user in (
            self.partner_id.user_id,
            self.author_id.user_id,
            program.loyalty_responsible_id,
        ):
            if user.active and not user.share:
                return user
        return self.env.ref("base.user_admin", raise_if_not_found=False) or (
            self.env.user
        )

    # ------------------------------------------------------------------
    # Demo data
    # ------------------------------------------------------------------
    @api.model
    def _loyalty_demo_engagement(self):
        """A few answers of demo members, then the achievements' progress."""
        program = self.env.ref(
            "loyalty_crm_addon.loyalty_program_rewards_club", raise_if_not_found=False
        )
        if not program:
            return False
        cards = self.env["loyalty.card"].search(
            [("program_id", "=", program.id), ("partner_id", "!=", False)],
            order="points desc, id",
            limit=6,
        )
        answers = [
            (10, "Great service, the points add up fast."),
            (9, False),
            (8, "Fine, delivery could be quicker."),
            (7, False),
            (4, "My last order arrived damaged."),
            (10, "Love the rewards!"),
        ]
        for card, (score, comment) in zip(cards, answers, strict=False):
            card.partner_id._loyalty_record_feedback(
                score, comment, f"demo:{card.partner_id.id}", "portal"
            )
        self.env["loyalty.achievement"]._cron_update_achievements()
        return True
