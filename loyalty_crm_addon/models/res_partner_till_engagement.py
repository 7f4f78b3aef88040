# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Engagement at the till: the member's badges, the nearest running
achievement, the campaigns running at the till and the customer's answer
to "How likely are you to recommend us?". Loaded with the member's
standing when the cashier picks a customer, never preloaded."""

import re

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools.misc import formatLang

from .res_partner_engagement import MAX_COMMENT

# Badges listed by name in the member panel (the count says the rest).
TILL_BADGES = 3
ORDER_UUID = re.compile(r"^[0-9A-Za-z-]{1,64}$")


class ResPartner(models.Model):
    _inherit = "res.partner"  # pylint: disable=consider-merging-classes-inherited

    def _loyalty_pos_standing(self, config):
        result = super()._loyalty_pos_standing(config)
        program = config.company_id.loyalty_membership_program_id
        if not program:
            return result
        members = self.filtered(lambda p: result[str(p.id)]["is_member"])
        engagement = members._loyalty_till_engagement(program)
        campaigns = {}
        for partner in self:
            tier_id = partner.loyalty_card_id.loyalty_tier_id.id or False
            if tier_id not in campaigns:
                campaigns[tier_id] = self._loyalty_till_campaigns(program, tier_id)
            info = result[str(partner.id)]
            info["campaigns"] = campaigns[tier_id]
            info.update(
                engagement.get(
                    partner.commercial_partner_id.id,
                    {"badges": [], "badge_count": 0, "next_achievement": False},
                )
            )
        return result

    def _loyalty_till_engagement(self, program):
        """{member id: badges (the newest ``TILL_BADGES``), badge count and
        the nearest running achievement} of these partners' members, in one
        query."""
        member_ids = self.commercial_partner_id.ids
        if not member_ids:
            return {}
        today = fields.Date.context_today(self)
        rows = (
            self.env["loyalty.achievement.member"]
            .sudo()
            .search(
                [
                    ("partner_id", "in", member_ids),
                    ("achievement_id.active", "=", True),
                    ("achievement_id.program_id", "=", program.id),
                ],
                order="date_done desc, id desc",
            )
        )
        result = {
            mid: {"badges": [], "badge_count": 0, "next_achievement": False}
            for mid in member_ids
        }
        nearest = {}
        for row in rows:
            values = result[row.partner_id.id]
            achievement = row.achievement_id
            if row.state == "done":
                values["badge_count"] += 1
                if len(values["badges"]) < TILL_BADGES:
                    values["badges"].append(
                        {
                            "id": row.id,
                            "name": achievement.name,
                            "icon": achievement.icon or "fa-trophy",
                            "color": achievement.color or 0,
                        }
                    )
                continue
            if achievement.date_to and achievement.date_to < today:
                continue
            if not achievement.target or row.progress >= achievement.target:
                continue
            key = (
                -row.progress / achievement.target,
                achievement.target - row.progress,
                row.id,
            )
            if row.partner_id.id not in nearest or key < nearest[row.partner_id.id][0]:
                nearest[row.partner_id.id] = (key, row)
        for member_id, (_key, row) in nearest.items():
            result[member_id]["next_achievement"] = self._loyalty_till_next_values(row)
        return result

    @api.model
    def _loyalty_till_campaigns(self, program, tier_id):
        """The campaigns running today at the till for a member of
        ``tier_id`` (False: none), as the till shows them and as it
        multiplies the points an order earns (the server's own rules:
        ``loyalty.campaign._loyalty_factor``)."""
        Campaign = self.env["loyalty.campaign"]
        today = fields.Date.context_today(self)
        running = Campaign._loyalty_running(program.id, "pos", today, tier_id=tier_id)
        if not running:
            return []
        names = dict(
            Campaign.sudo()
            .browse([c["id"] for c in running])
            .with_context(lang=self.env.lang)
            .mapped(lambda c: (c.id, c.name))
        )
        return [
            {
                "id": c["id"],
                "name": names.get(c["id"], ""),
                "multiplier": c["multiplier"],
                "date_to": fields.Date.to_string(c["date_to"]),
                "label": Campaign._loyalty_label(
                    names.get(c["id"], ""), c["multiplier"], c["date_to"]
                ),
                "product_ids": sorted(c["products"]),
                "category_ids": sorted(c["categories"]),
            }
            for c in sorted(running, key=lambda c: (-c["multiplier"], c["id"]))
        ]

    # ------------------------------------------------------------------
    # "How likely are you to recommend us?" at the till
    # ------------------------------------------------------------------
    def loyalty_pos_record_feedback(self, score, order_uuid, config_id, comment=False):
        """The customer's answer (``score`` 0-10) told to the cashier for
        the till order ``order_uuid``: recorded once per order (reference
        ``pos:<order uuid>``, channel ``pos``) for the member (the
        commercial partner). Returns the ``loyalty.feedback`` id."""
        config = self._loyalty_pos_config(config_id)
        if not self.env.su and not self.env.user.has_group(
            "point_of_sale.group_pos_user"
        ):
            raise AccessError(
                self.env._("Only point of sale users record answers at the till.")
            )
        if len(self) != 1:
            raise UserError(self.env._("An answer is recorded for one customer."))
        if not isinstance(order_uuid, str) or not ORDER_UUID.match(order_uuid):
            raise UserError(self.env._("The till sent an invalid order reference."))
        if comment and (not isinstance(comment, str) or len(comment) > MAX_COMMENT):
            raise UserError(self.env._("The comment is too long."))
        self.check_access("read")
        config.check_access("read")
        # The order, if the till synced it already: of the till's open
        # sessions (read by index; pos.order's uuid has none).
        sessions = (
            self.env["pos.session"]
            .sudo()
            .search([("config_id", "=", config.id), ("state", "!=", "closed")])
        )
        order = (
            self.env["pos.order"]
            .sudo()
            .search(
                [("session_id", "in", sessions.ids), ("uuid", "=", order_uuid)],
                limit=1,
            )
        )
        member = self.commercial_partner_id
        if order and (order.partner_id.commercial_partner_id != member):
            raise UserError(
                self.env._("This answer is not about this customer's order.")
            )
        # The cashier records the customer's own answer.
        return (
            self.sudo()
            .with_company(config.company_id)
            ._loyalty_record_feedback(score, comment, f"pos:{order_uuid}", "pos")
        )

    @api.model
    def _loyalty_till_next_values(self, row):
        """The running achievement as the till's member panel says it:
        "2 more orders for Streak Master"."""
        achievement = row.achievement_id
        left = max(0.0, achievement.target - row.progress)
        name = achievement.name
        count = int(-(-left // 1))  # whole orders, referrals, months, answers
        if achievement.goal == "spend":
            amount = formatLang(
                self.env,
                left,
                currency_obj=(row.company_id or self.env.company).currency_id,
            )
            label = self.env._(
                "%(amount)s more to spend for %(name)s", amount=amount, name=name
            )
        elif achievement.goal == "orders":
            label = (
                self.env._("1 more order for %s", name)
                if count == 1
                else self.env._(
                    "%(count)s more orders for %(name)s", count=count, name=name
                )
            )
        elif achievement.goal == "referrals":
            label = (
                self.env._("1 more referral for %s", name)
                if count == 1
                else self.env._(
                    "%(count)s more referrals for %(name)s", count=count, name=name
                )
            )
        elif achievement.goal == "streak":
            label = (
                self.env._("1 more month in a row for %s", name)
                if count == 1
                else self.env._(
                    "%(count)s more months in a row for %(name)s",
                    count=count,
                    name=name,
                )
            )
        else:
            label = (
                self.env._("1 more answer for %s", name)
                if count == 1
                else self.env._(
                    "%(count)s more answers for %(name)s", count=count, name=name
                )
            )
        return {
            "id": row.id,
            "name": name,
            "icon": achievement.icon or "fa-trophy",
            "goal": achievement.goal,
            "progress_rate": row.progress_rate,
            "label": label,
        }
