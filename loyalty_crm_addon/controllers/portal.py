# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from werkzeug.exceptions import NotFound

from odoo import http
from odoo.http import request

from odoo.addons.auth_signup.controllers.main import AuthSignupHome
from odoo.addons.portal.controllers.portal import CustomerPortal
from odoo.addons.portal.controllers.portal import pager as portal_pager

from ..models.loyalty_referral import normalize_code

SESSION_KEY = "loyalty_referral_code"
HISTORY_STEP = 20


class LoyaltyPortal(CustomerPortal):
    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if "loyalty_count" in counters:
            values["loyalty_count"] = int(bool(self._loyalty_card()))
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
        balance = partner.loyalty_balance
        rewards = card.program_id.reward_ids.filtered(
            lambda r: (
                r.active and r.required_points > 0 and r._loyalty_allowed_for(card)
            )
        ).sorted("required_points")
        next_tier = partner.loyalty_next_tier_id
        values.update(
            {
                "lines": Ledger.search(
                    domain, limit=HISTORY_STEP, offset=pager["offset"]
                ),
                "pager": pager,
                "program": card.program_id,
                "affordable_rewards": rewards.filtered(
                    lambda r: r.required_points <= balance
                ),
                "next_rewards": [
                    (r, r.required_points - balance)
                    for r in rewards
                    if r.required_points > balance
                ][:3],
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
        """A member's share link: remember the code until the visitor signs
        up (see LoyaltySignup) and send them to the sign-up form."""
        code = normalize_code(code)
        referrer = (
            request.env["res.partner"]
            .sudo()
            .search([("loyalty_referral_code", "=", code)], limit=1)
        )
        if not referrer:
            raise NotFound()
        request.session[SESSION_KEY] = code
        if request.session.uid:
            return request.redirect("/my/loyalty")
        signup_open = (
            request.env["res.users"].sudo()._get_signup_invitation_scope() == "b2c"
        )
        return request.redirect("/web/signup" if signup_open else "/web/login")


class LoyaltySignup(AuthSignupHome):
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
