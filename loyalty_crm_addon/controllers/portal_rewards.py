# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import uuid
from urllib.parse import urlencode

from odoo import http
from odoo.exceptions import UserError
from odoo.http import request
from odoo.tools import float_compare

from odoo.addons.portal.controllers.portal import CustomerPortal

from ..engine.ledger import PRECISION


def loyalty_reward_offers(card):
    """Every active reward of the member's program as the member sees it:
    a list of dicts (reward, status, missing points, reason), cheapest
    first. ``status`` is ``available`` (claimable now), ``tier`` (kept for
    a higher tier: "Reach Gold to unlock"), ``points`` (N more points
    needed) or ``blocked`` (dates, stock, limit: the reason says why)."""
    if not card:
        return []
    env = request.env
    card = card.sudo()
    balance = card.points
    current = card.loyalty_tier_id
    offers = []
    rewards = card.program_id.reward_ids.filtered(
        lambda r: r.active and r.required_points > 0
    ).sorted(lambda r: (r.required_points, r.id))
    for reward in rewards:
        missing = reward.required_points - balance
        missing = (
            missing if float_compare(missing, 0, precision_digits=PRECISION) > 0 else 0
        )
        offer = {"reward": reward, "missing": missing, "reason": ""}
        if not reward._loyalty_allowed_for(card):
            higher = reward.tier_ids.filtered(
                lambda t: t.threshold > (current.threshold if current else -1)
            ).sorted("threshold")
            offer["status"] = "tier"
            offer["reason"] = (
                env._("Reach %s to unlock", higher[0].name)
                if higher
                else env._("For %s members", ", ".join(reward.tier_ids.mapped("name")))
            )
        elif error := reward._loyalty_claim_error(card):
            offer.update(status="blocked", reason=error)
        elif missing:
            offer.update(
                status="points",
                reason=env._(
                    "%s more points", env["loyalty.ledger.line"]._format_points(missing)
                ),
            )
        else:
            offer["status"] = "available"
        offers.append(offer)
    return offers


class LoyaltyRewardsPortal(CustomerPortal):
    """The reward catalog of the logged-in member: what their points buy,
    claimed through the same server checks as every other channel."""

    @staticmethod
    def _loyalty_rewards_card():
        return request.env.user.partner_id.sudo().loyalty_card_id

    @http.route("/my/loyalty/rewards", type="http", auth="user", website=True)
    def portal_my_loyalty_rewards(self, claimed=None, error=None, **kw):
        values = self._prepare_portal_layout_values()
        card = self._loyalty_rewards_card()
        claims = request.env["loyalty.reward.claim"].sudo()
        if card:
            claims = claims.search([("card_id", "=", card.id)], limit=20)
        values.update(
            {
                "page_name": "loyalty_rewards",
                "card": card,
                "offers": loyalty_reward_offers(card),
                "claims": claims,
                "claimed": claims.filtered(lambda c: c.name == claimed)[:1]
                if claimed
                else claims.browse(),
                "reference": uuid.uuid4().hex,
                "error": error,
            }
        )
        return request.render("loyalty_crm_addon.portal_my_loyalty_rewards", values)

    @http.route(
        "/my/loyalty/rewards/<int:reward_id>/claim",
        type="http",
        auth="user",
        methods=["POST"],
        website=True,
    )
    def portal_loyalty_claim_reward(self, reward_id, reference=None, **kw):
        card = self._loyalty_rewards_card()
        reward = request.env["loyalty.reward"].sudo().browse(reward_id).exists()
        if not card or reward.program_id != card.program_id:
            return request.redirect("/my/loyalty/rewards")
        partner = request.env.user.partner_id
        try:
            claim = (
                request.env["loyalty.reward.claim"]
                .sudo()
                ._loyalty_claim(
                    partner, reward, "portal", reference=(reference or "")[:128]
                )
            )
        except UserError as error:
            request.env.cr.rollback()
            query = {"error": str(error)}
        else:
            query = {"claimed": claim.name}
        return request.redirect("/my/loyalty/rewards?" + urlencode(query))
