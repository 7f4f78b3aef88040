# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.http import request, route

from odoo.addons.loyalty.controllers.portal import CustomerPortalLoyalty
from odoo.addons.portal.controllers.portal import pager as portal_pager

from .portal import member_line_values


class CustomerPortalLoyaltyLedger(CustomerPortalLoyalty):
    """A member's card history in the portal is the ledger, as staff see it
    (pending points, expiry dates, reversals); other cards keep Odoo's
    history."""

    def _loyalty_member_card(self, card_id):
        card = (
            request.env["loyalty.card"]
            .sudo()
            .search(
                [
                    ("id", "=", int(card_id)),
                    ("partner_id", "=", request.env.user.partner_id.id),
                ]
            )
        )
        return card if card.program_type == "loyalty" else card.browse()

    def _get_loyalty_ledger_sortings(self):
        return {
            "date": {"label": request.env._("Date"), "order": "date desc, id desc"},
            "points": {"label": request.env._("Points"), "order": "points desc"},
            "description": {
                "label": request.env._("Description"),
                "order": "description",
            },
        }

    @route()
    def portal_my_loyalty_card_history(self, card_id, page=1, sortby="date", **kw):
        card = self._loyalty_member_card(card_id)
        if not card:
            return super().portal_my_loyalty_card_history(
                card_id, page=page, sortby=sortby, **kw
            )
        Ledger = request.env["loyalty.ledger.line"].sudo()
        sortings = self._get_loyalty_ledger_sortings()
        sortby = sortby if sortby in sortings else "date"
        domain = [("card_id", "=", card.id)]
        pager = portal_pager(
            url=f"/my/loyalty_card/{card.id}/history",
            url_args={"sortby": sortby},
            total=Ledger.search_count(domain),
            page=page,
            step=self._items_per_page,
        )
        lines = Ledger.search(
            domain,
            order=sortings[sortby]["order"],
            limit=self._items_per_page,
            offset=pager["offset"],
        )
        values = {
            "pager": pager,
            "searchbar_sortings": sortings,
            "page_name": "loyalty_history",
            "sortby": sortby,
            "card": card,
            "ledger_lines": [(line, member_line_values(line)) for line in lines],
        }
        return request.render("loyalty_crm_addon.portal_loyalty_card_ledger", values)

    @route()
    def portal_get_card_history_values(self, card_id):
        values = super().portal_get_card_history_values(card_id)
        card = self._loyalty_member_card(card_id)
        if card and values:
            values["history_lines"] = [
                line._loyalty_portal_values() for line in card.ledger_line_ids[:5]
            ]
        return values
