# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import psycopg2

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import mute_logger

from ..engine.member_privacy import ERASED
from .res_partner import MAX_REFERENCE

MAX_COMMENT = 4000


class ResPartner(models.Model):
    """Engagement of a member: badges (achievements reached), progress
    towards the running ones, and feedback (NPS)."""

    _inherit = "res.partner"  # pylint: disable=consider-merging-classes-inherited

    loyalty_achievement_member_ids = fields.One2many(
        "loyalty.achievement.member",
        "partner_id",
        string="Achievements",
        readonly=True,
    )
    loyalty_badge_count = fields.Integer(
        string="Loyalty Badges", compute="_compute_loyalty_badge_count"
    )
    loyalty_feedback_ids = fields.One2many(
        "loyalty.feedback", "partner_id", string="Feedback", readonly=True
    )

    @api.depends("loyalty_achievement_member_ids.state")
    def _compute_loyalty_badge_count(self):
        Member = self.env["loyalty.achievement.member"].sudo()
        counts = dict(
            Member._read_group(
                [
                    ("partner_id", "in", self.commercial_partner_id.ids),
                    ("state", "=", "done"),
                ],
                ["partner_id"],
                ["__count"],
            )
        )
        for partner in self:
            partner.loyalty_badge_count = counts.get(partner.commercial_partner_id, 0)

    def _loyalty_badges(self):
        """The member's badges (achievements reached, newest first) and
        running progress, as dicts (``_loyalty_badge_values``): for the
        portal, the till and the dashboard."""
        self.ensure_one()
        members = (
            self.env["loyalty.achievement.member"]
            .sudo()
            .search(
                [
                    ("partner_id", "=", self.commercial_partner_id.id),
                    ("achievement_id.active", "=", True),
                ]
            )
        )
        return {
            "badges": [m._loyalty_badge_values() for m in members if m.state == "done"],
            "running": [
                m._loyalty_badge_values() for m in members if m.state == "running"
            ],
        }

    # ------------------------------------------------------------------
    # Privacy: feedback and badges are the member's data
    # ------------------------------------------------------------------
    @api.model
    def _loyalty_privacy_models(self):
        models_ = super()._loyalty_privacy_models()
        models_["loyalty.feedback"] = ("partner_id", "author_id")
        return models_

    def _loyalty_export_data(self):
        data = super()._loyalty_export_data()
        export = self._loyalty_export_records
        data["feedback"] = export(
            self.env["loyalty.feedback"]
            .sudo()
            .search(["|", ("partner_id", "=", self.id), ("author_id", "=", self.id)]),
            ["date", "score", "comment", "channel", "reference"],
        )
        data["achievements"] = export(
            self.env["loyalty.achievement.member"]
            .sudo()
            .search([("partner_id", "=", self.id)]),
            ["achievement_id", "period", "progress", "state", "date_done"],
        )
        return data

    def _loyalty_erase_one(self):
        """Feedback comments are the member's own words: erased whole."""
        people = self | self.child_ids.with_context(active_test=False)
        self.env.flush_all()
        self.env.cr.execute(
            """
            UPDATE loyalty_feedback SET comment = %s
             WHERE (partner_id = ANY(%s) OR author_id = ANY(%s))
               AND comment IS NOT NULL
            """,
            [ERASED, people.ids, people.ids],
        )
        self.env["loyalty.feedback"].invalidate_model(["comment"])
        return super()._loyalty_erase_one()

    # ------------------------------------------------------------------
    # Feedback (NPS)
    # ------------------------------------------------------------------
    def loyalty_record_feedback(self, score, comment=False, reference=False):
        """Record the member's answer to "How likely are you to recommend
        us?" (``score``, an integer 0-10) and return the id of the
        ``loyalty.feedback`` record. The same ``reference`` twice records
        once (and returns the first answer). Pays the program's
        ``loyalty_feedback_points`` once per reference (once a day without
        a reference). Bad input: ``UserError``, nothing written."""
        return self._loyalty_record_feedback(score, comment, reference, "api")

    def _loyalty_record_feedback(
        self, score, comment=False, reference=False, channel="api"
    ):
        """``loyalty_record_feedback`` from a channel (``survey``,
        ``portal``, ``pos``, ``sale``, ``api``): the callers of the other
        channels (the portal's page, the till, the surveys bridge) give
        theirs."""
        self._loyalty_one()
        user_partner = self.env.user.partner_id.commercial_partner_id
        if not (
            self.env.su
            or self.env.user.has_group("loyalty_crm_addon.group_loyalty_user")
            or user_partner == self.commercial_partner_id
        ):
            raise AccessError(
                self.env._("You are not allowed to record this member's feedback.")
            )
        if (
            isinstance(score, bool)
            or not isinstance(score, int)
            or not 0 <= score <= 10
        ):
            raise UserError(self.env._("The score is a whole number from 0 to 10."))
        comment = self._loyalty_check_text(
            comment, self.env._("Comment"), size=MAX_COMMENT, required=False
        )
        reference = self._loyalty_check_text(
            reference, self.env._("Reference"), size=MAX_REFERENCE, required=False
        )
        Feedback = self.env["loyalty.feedback"].sudo()
        if channel not in dict(Feedback._fields["channel"].selection):
            raise UserError(self.env._("Unknown feedback channel."))
        member = self.sudo().commercial_partner_id
        if not (self.active and member.active):
            raise UserError(self.env._("%s is archived.", self.display_name))
        if reference:
            done = Feedback.search(
                [("partner_id", "=", member.id), ("reference", "=", reference)],
                limit=1,
            )
            if done:
                return done.id
        program = self.env.company.loyalty_membership_program_id
        card = member.loyalty_card_id
        if card and program and card.program_id != program:
            card = card.browse()
        vals = {
            "partner_id": member.id,
            "author_id": self.id if self != member else False,
            "program_id": (card.program_id or program).id,
            "company_id": (
                card.company_id or program.company_id or self.env.company
            ).id,
            "score": score,
            "comment": comment,
            "channel": channel,
            "reference": reference,
        }
        try:
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                feedback = Feedback.create(vals)
        except psycopg2.errors.UniqueViolation:
            # The same answer sent twice at once: the first one stands.
            return Feedback.search(
                [("partner_id", "=", member.id), ("reference", "=", reference)],
                limit=1,
            ).id
        feedback._loyalty_follow_up(card)
        return feedback.id
