# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import uuid
from urllib.parse import urlencode

from odoo import http
from odoo.exceptions import UserError
from odoo.http import request

from odoo.addons.portal.controllers.portal import CustomerPortal


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
        rewards = card.program_id.reward_ids.filtered("active").sorted(
            "required_points"
        )
        values.update(
            {
                "page_name": "loyalty_rewards",
                "card": card,
                "rewards": [
                    (
                        reward,
                        reward._loyalty_claim_error(card)
                        or (
                            reward.required_points > card.points
                            and request.env._(
                                "%s more points needed.",
                                reward.required_points - card.points,
                            )
                        ),
                    )
                    for reward in rewards
                    if reward._loyalty_allowed_for(card)
                ],
                "claims": request.env["loyalty.reward.claim"]
                .sudo()
                .search([("card_id", "=", card.id)], limit=20)
                if card
                else [],
                "reference": uuid.uuid4().hex,
                "claimed": claimed,
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
