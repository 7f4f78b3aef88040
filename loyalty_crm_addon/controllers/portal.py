# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from urllib.parse import quote, urlencode

from odoo import fields, http
from odoo.http import request
from odoo.tools import format_amount, format_date

from odoo.addons.auth_signup.controllers.main import AuthSignupHome
from odoo.addons.portal.controllers.portal import CustomerPortal
from odoo.addons.portal.controllers.portal import pager as portal_pager

from ..models.loyalty_referral import normalize_code
from .portal_rewards import loyalty_reward_offers

SESSION_KEY = "loyalty_referral_code"
HISTORY_STEP = 20
# The member's other cards shown next to their points, by program type.
WALLET_TYPES = ("ewallet", "gift_card", "coupons", "next_order_coupons", "promotion")


def member_line_values(line):
    """A ledger line in the member's words: what happened and when the
    points can be spent (no "posted"/"pending")."""
    env = request.env
    labels = {
        "earn": env._("Earned"),
        "redeem": env._("Spent"),
        "expire": env._("Expired"),
        "adjust": env._("Correction"),
        "referral": env._("Friend invited"),
        "bonus": env._("Bonus"),
        "reversal": env._("Cancelled"),
    }
    if line.state == "pending":
        status = env._(
            "Available from %s",
            format_date(env, line.release_date) if line.release_date else "",
        ).strip()
    elif line.points > 0:
        status = env._("Available")
    else:
        status = ""
    expiry = ""
    if line.state != "pending" and line.points_residual > 0 and line.expiry_date:
        expiry = env._(
            "%(points)s expire on %(date)s",
            points=env["loyalty.ledger.line"]._format_points(line.points_residual),
            date=format_date(env, line.expiry_date),
        )
    return {
        "type": labels.get(line.entry_type, ""),
        "status": status,
        "pending": line.state == "pending",
        "expiry": expiry,
        "description": line.description or labels.get(line.entry_type, ""),
    }


def loyalty_wallet_entries(partner):
    """The member's eWallet, gift cards and coupons (cards of other
    programs held by the user or their commercial partner), still usable."""
    env = request.env
    holders = partner | partner.commercial_partner_id
    today = fields.Date.context_today(partner)
    cards = (
        env["loyalty.card"]
        .sudo()
        .search(
            [
                ("partner_id", "in", holders.ids),
                ("program_id.program_type", "in", WALLET_TYPES),
                ("program_id.active", "=", True),
                "|",
                ("points", ">", 0),
                ("program_id.program_type", "=", "ewallet"),
                "|",
                ("expiration_date", "=", False),
                ("expiration_date", ">=", today),
            ],
            order="expiration_date, id",
        )
    )
    kinds = {
        "ewallet": env._("eWallet"),
        "gift_card": env._("Gift card"),
    }
    entries = []
    for card in cards:
        program = card.program_id
        kind = program.program_type
        entries.append(
            {
                "card": card,
                "kind": kinds.get(kind, env._("Coupon")),
                "name": program.name,
                "value": format_amount(env, card.points, program.currency_id)
                if kind in ("ewallet", "gift_card")
                else program.reward_ids[:1].description or program.name,
                "code": card.code if kind != "ewallet" else "",
                "expiry": card.expiration_date,
                "icon": {"ewallet": "fa-credit-card", "gift_card": "fa-gift"}.get(
                    kind, "fa-ticket"
                ),
            }
        )
    return entries


def loyalty_share_links(member):
    """Copy, email and WhatsApp links of the member's referral link."""
    url = member.loyalty_referral_url
    if not url:
        return {}
    env = request.env
    company = env.company.name
    message = env._(
        "Join me at %(company)s: sign up with my link and get a welcome bonus. %(url)s",
        company=company,
        url=url,
    )
    return {
        "url": url,
        "mailto": "mailto:?"
        + urlencode(
            {"subject": env._("An invitation to %s", company), "body": message},
            quote_via=quote,
        ),
        "whatsapp": "https://wa.me/?" + urlencode({"text": message}, quote_via=quote),
    }


def loyalty_invitation(code):
    """What the visitor of a share link is told: the first name of the
    member who invites them (no more, for privacy) and what they both get."""
    if not code:
        return {}
    referrer = (
        request.env["res.partner"]
        .sudo()
        .search([("loyalty_referral_code", "=", code)], limit=1)
    )
    if not referrer:
        return {}
    program = (
        referrer.loyalty_card_id.program_id
        or request.env.company.sudo().loyalty_membership_program_id
    )
    name = (referrer.name or "").strip()
    return {
        "code": code,
        "first_name": name if referrer.is_company else (name.split() or [""])[0],
        "company": request.env.company.name,
        "referee_points": program.loyalty_referee_points,
        "referrer_points": program.loyalty_referrer_points,
        "min_amount": program.loyalty_referral_min_amount,
        "currency": program.currency_id,
    }


def loyalty_signup_links():
    signup_open = (
        request.env["res.users"].sudo()._get_signup_invitation_scope() == "b2c"
    )
    return {
        "signup_open": signup_open,
        "signup_url": "/web/signup" if signup_open else "/web/login",
    }


class LoyaltyPortal(CustomerPortal):
    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if "loyalty_count" in counters:
            values["loyalty_count"] = int(bool(self._loyalty_card()))
        return values

    def _prepare_portal_layout_values(self):
        values = super()._prepare_portal_layout_values()
        # The home page's loyalty entry shows the balance (on a phone, the
        # side column with Odoo's loyalty cards is hidden).
        partner = request.env.user.partner_id.sudo()
        if partner.loyalty_card_id:
            values["loyalty_home"] = {
                "balance": partner.loyalty_balance,
                "tier": partner.loyalty_tier_id.name,
            }
        return values

    @staticmethod
    def _loyalty_card():
        """The logged-in user's own membership card (their company's when
        they are a contact of one): the only card the portal shows."""
        return request.env.user.partner_id.sudo().loyalty_card_id

    def _loyalty_portal_values(self, page):
        # Everything below derives from the user's own partner; sudo only
        # reads what staff see of that one membership.
        partner = request.env.user.partner_id.sudo()
        member = partner.commercial_partner_id
        card = partner.loyalty_card_id
        values = {
            "page_name": "loyalty",
            "member": member,
            "figures": partner,
            "card": card,
            "wallet": loyalty_wallet_entries(partner),
            "share": loyalty_share_links(member),
        }
        if not card:
            return values
        Ledger = request.env["loyalty.ledger.line"].sudo()
        domain = [("card_id", "=", card.id)]
        pager = portal_pager(
            url="/my/loyalty",
            total=Ledger.search_count(domain),
            page=page,
            step=HISTORY_STEP,
        )
        offers = loyalty_reward_offers(card)
        next_tier = partner.loyalty_next_tier_id
        lines = Ledger.search(domain, limit=HISTORY_STEP, offset=pager["offset"])
        first_release = Ledger.search(
            domain + [("state", "=", "pending")], order="release_date", limit=1
        )
        values.update(
            {
                "lines": [(line, member_line_values(line)) for line in lines],
                "pager": pager,
                "program": card.program_id,
                "available_offers": [o for o in offers if o["status"] == "available"],
                "locked_offers": [o for o in offers if o["status"] != "available"][:4],
                "locked_count": sum(o["status"] != "available" for o in offers),
                "first_release_date": first_release.release_date,
                "tier_progress": (
                    min(
                        100,
                        int(100 * partner.loyalty_tier_points / next_tier.threshold),
                    )
                    if next_tier and next_tier.threshold
                    else 100
                ),
            }
        )
        return values

    @http.route(
        ["/my/loyalty", "/my/loyalty/page/<int:page>"],
        type="http",
        auth="user",
        website=True,
    )
    def portal_my_loyalty(self, page=1, **kw):
        values = self._prepare_portal_layout_values()
        values.update(self._loyalty_portal_values(page))
        return request.render("loyalty_crm_addon.portal_my_loyalty", values)

    @http.route(
        "/loyalty/r/<string:code>",
        type="http",
        auth="public",
        website=True,
        sitemap=False,
    )
    def loyalty_referral_link(self, code, **kw):
        """A member's share link: a page saying who invites the visitor and
        what they both get, leading to the sign-up form. The code is kept
        until the visitor signs up (see LoyaltySignup)."""
        invitation = loyalty_invitation(normalize_code(code))
        if not invitation:
            return request.render(
                "loyalty_crm_addon.loyalty_referral_landing",
                {"invitation": False, **loyalty_signup_links()},
                status=404,
            )
        request.session[SESSION_KEY] = invitation["code"]
        if request.session.uid:
            return request.redirect("/my/loyalty")
        return request.render(
            "loyalty_crm_addon.loyalty_referral_landing",
            {"invitation": invitation, **loyalty_signup_links()},
        )


class LoyaltySignup(AuthSignupHome):
    def get_auth_signup_qcontext(self):
        qcontext = super().get_auth_signup_qcontext()
        code = request.session.get(SESSION_KEY)
        if code and "loyalty_invitation" not in qcontext:
            qcontext["loyalty_invitation"] = loyalty_invitation(code)
        return qcontext

    def _signup_with_values(self, token, values):
        code = request.session.get(SESSION_KEY)
        super()._signup_with_values(token, values)
        if not code:
            return
        User = request.env["res.users"].sudo()
        user = User.search(User._get_login_domain(values.get("login")), limit=1)
        if user:
            request.env["loyalty.referral"].sudo()._loyalty_register(
                user.partner_id, code, "signup", strict=False
            )
        request.session.pop(SESSION_KEY, None)
