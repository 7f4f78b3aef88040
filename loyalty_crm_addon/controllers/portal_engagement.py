# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Reasons to come back beyond spending, on the member's loyalty page:
badges, progress towards the next ones, the campaigns running for them,
the feedback question (NPS) and the opt-in leaderboard."""

from urllib.parse import urlencode

from odoo import fields, http
from odoo.exceptions import UserError
from odoo.http import request
from odoo.tools import format_amount, format_date

from .portal import LoyaltyPortal

# A member answers the feedback question once a month: the answer's
# reference (``portal:<year>-<month>``) makes a double submit (or a second
# answer the same month) record and pay once.
FEEDBACK_REFERENCE = "portal:%Y-%m"
# Product (category) names a campaign line shows before "and more".
CAMPAIGN_NAMES = 3


def _until(env, day, today):
    """ "Sunday" within the week, else the date in the reader's language."""
    if 0 <= (day - today).days < 7:
        return format_date(env, day, date_format="EEEE")
    return format_date(env, day)


def _remaining(env, goal, missing, currency):
    """What is left to do, in the member's words."""
    if goal == "spend":
        return env._("%s more to spend", format_amount(env, missing, currency))
    count = int(round(missing))
    texts = {
        "orders": (env._("1 more order"), env._("%s more orders")),
        "referrals": (
            env._("1 more friend who orders"),
            env._("%s more friends who order"),
        ),
        "streak": (
            env._("1 more month in a row with an order"),
            env._("%s more months in a row with an order"),
        ),
        "feedback": (env._("1 more answer"), env._("%s more answers")),
    }
    one, many = texts.get(goal, texts["orders"])
    return one if count == 1 else many % count


def loyalty_achievement_values(partner, card, today):
    """Badges (achievements reached, one per achievement: the latest, with
    how many times) and progress of the member's achievements still to
    reach this period, with what is next."""
    env = request.env
    member = partner.commercial_partner_id
    Ledger = env["loyalty.ledger.line"]
    rows = (
        env["loyalty.achievement.member"]
        .sudo()
        .search(
            [
                ("partner_id", "=", member.id),
                ("achievement_id.active", "=", True),
            ],
            order="date_done desc, id desc",
        )
    )
    badges = {}
    for row in rows.filtered(lambda r: r.state == "done"):
        if row.achievement_id in badges:
            badges[row.achievement_id]["times"] += 1
            continue
        badges[row.achievement_id] = {
            "achievement": row.achievement_id,
            "name": row.achievement_id.name,
            "description": row.achievement_id.description or "",
            "icon": row.achievement_id.icon or "fa-trophy",
            "color": row.achievement_id.color % 12,
            "date": fields.Datetime.context_timestamp(member, row.date_done).date()
            if row.date_done
            else False,
            "times": 1,
        }
    progress = []
    if not card:
        return {"badges": list(badges.values()), "progress": progress}
    achievements = (
        env["loyalty.achievement"]
        .sudo()
        .search([("program_id", "=", card.program_id.id)])
    )
    tier = card.loyalty_tier_id
    for achievement in achievements:
        window = achievement._loyalty_window(today)
        if not window or (achievement.tier_ids and tier not in achievement.tier_ids):
            continue
        start, end, period = window
        row = rows.filtered(
            lambda r, a=achievement, p=period: r.achievement_id == a and r.period == p
        )[:1]
        if row.state == "done":
            continue
        done = row.progress if row else 0.0
        missing = max(achievement.target - done, 0.0)
        what = _remaining(env, achievement.goal, missing, card.program_id.currency_id)
        if end:
            what = env._(
                "%(what)s by %(date)s", what=what, date=_until(env, end, today)
            )
        if achievement.bonus_points > 0:
            next_text = env._(
                "%(what)s for %(name)s: +%(points)s points",
                what=what,
                name=achievement.name,
                points=Ledger._format_points(achievement.bonus_points),
            )
        else:
            next_text = env._(
                "%(what)s for the %(name)s badge", what=what, name=achievement.name
            )
        progress.append(
            {
                "achievement": achievement,
                "name": achievement.name,
                "icon": achievement.icon or "fa-trophy",
                "color": achievement.color % 12,
                "rate": min(100, int(100 * done / achievement.target)),
                "label": row.progress_label
                if row
                else "0 / %s" % Ledger._format_points(achievement.target),
                "next": next_text,
            }
        )
    progress.sort(key=lambda p: -p["rate"])
    return {"badges": list(badges.values()), "progress": progress}


def _multiplier_text(env, multiplier):
    if multiplier == 2:
        return env._("Double points")
    if multiplier == 3:
        return env._("Triple points")
    return env._("×%s points", env["loyalty.ledger.line"]._format_points(multiplier))


def loyalty_campaign_values(card, today):
    """The campaigns running today that the member's tier qualifies for
    ("Double points on Garden until Sunday"), with the channel they are
    limited to."""
    if not card:
        return []
    env = request.env
    Campaign = env["loyalty.campaign"].sudo()
    tier = card.loyalty_tier_id
    channels = {
        "pos": env._("In our shops only"),
        "sale": env._("On orders online and by quotation only"),
    }
    result = []
    for values in Campaign.get_active_campaigns(
        card.program_id.id, "all", fields.Date.to_string(today)
    ):
        if values["tier_ids"] and tier.id not in values["tier_ids"]:
            continue
        campaign = Campaign.browse(values["id"])
        names = (campaign.product_ids.mapped("display_name")) + (
            campaign.product_category_ids.mapped("name")
        )
        if not names:
            on = env._("everything")
        elif len(names) > CAMPAIGN_NAMES:
            on = env._("%(names)s and more", names=", ".join(names[:CAMPAIGN_NAMES]))
        else:
            on = ", ".join(names)
        date_to = fields.Date.to_date(values["date_to"])
        result.append(
            {
                "campaign": campaign,
                "title": env._(
                    "%(points)s on %(what)s until %(date)s",
                    points=_multiplier_text(env, values["multiplier"]),
                    what=on,
                    date=_until(env, date_to, today),
                ),
                "name": campaign.name,
                "description": campaign.description or "",
                "channel": channels.get(values["channel"], ""),
                "tiers": ", ".join(campaign.tier_ids.mapped("name")),
            }
        )
    return result


def loyalty_feedback_values(partner, card, today, thanks=None):
    """The feedback question of this month: the form, or the member's
    answer; after an answer (``thanks``: its id), the points it earned."""
    member = partner.commercial_partner_id
    Feedback = request.env["loyalty.feedback"].sudo()
    reference = today.strftime(FEEDBACK_REFERENCE)
    answer = Feedback.search(
        [("partner_id", "=", member.id), ("reference", "=", reference)], limit=1
    )
    thanked = Feedback
    if thanks and str(thanks).isdigit():
        thanked = Feedback.browse(int(thanks)).exists()
        if thanked.partner_id != member:
            thanked = Feedback
    program = card.program_id if card else False
    return {
        "reference": reference,
        "answer": answer,
        "thanks": thanked,
        "thanks_points": thanked.ledger_line_id.points if thanked else 0,
        "points": program.loyalty_feedback_points if program else 0,
    }


class LoyaltyEngagementPortal(LoyaltyPortal):
    def _loyalty_portal_values(self, page):
        values = super()._loyalty_portal_values(page)
        partner = request.env.user.partner_id.sudo()
        card = values.get("card")
        today = fields.Date.context_today(partner)
        values["engagement"] = {
            **loyalty_achievement_values(partner, card, today),
            "campaigns": loyalty_campaign_values(card, today),
            "feedback": loyalty_feedback_values(
                partner, card, today, request.params.get("feedback")
            ),
            "feedback_error": request.params.get("feedback_error"),
            "leaderboard": request.env["res.partner"]
            .sudo()
            ._loyalty_leaderboard(card.program_id, partner.commercial_partner_id)
            if card
            else False,
            "opted_in": partner.commercial_partner_id.loyalty_leaderboard_opt_in,
        }
        return values

    @http.route(
        "/my/loyalty/feedback",
        type="http",
        auth="user",
        methods=["POST"],
        website=True,
    )
    def portal_loyalty_feedback(self, score=None, comment=None, **kw):
        """The member's answer to "How likely are you to recommend us?",
        recorded as the logged-in user (their own membership only), once
        this month."""
        partner = request.env.user.partner_id
        today = fields.Date.context_today(partner)
        try:
            if not (isinstance(score, str) and score.isdigit()):
                raise UserError(request.env._("Choose a score from 0 to 10."))
            feedback_id = partner._loyalty_record_feedback(
                int(score),
                (comment or "").strip() or False,
                today.strftime(FEEDBACK_REFERENCE),
                channel="portal",
            )
        except UserError as error:
            request.env.cr.rollback()
            query = {"feedback_error": str(error)}
        else:
            query = {"feedback": feedback_id}
        return request.redirect("/my/loyalty?%s#o_loyalty_feedback" % urlencode(query))

    @http.route(
        "/my/loyalty/leaderboard",
        type="http",
        auth="user",
        methods=["POST"],
        website=True,
    )
    def portal_loyalty_leaderboard(self, opt_in=None, **kw):
        """The member's own choice to appear on the leaderboard."""
        if opt_in in ("1", "0"):
            request.env.user.partner_id._loyalty_set_leaderboard_opt_in(opt_in == "1")
        return request.redirect("/my/loyalty#o_loyalty_leaderboard")
