# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json

from odoo import http
from odoo.exceptions import AccessError
from odoo.http import request

from odoo.addons.portal.controllers.portal import CustomerPortal


class LoyaltyPrivacyPortal(CustomerPortal):
    """The member's privacy page: consent to loyalty communications and a
    download of their loyalty data."""

    def _member(self):
        return request.env.user.partner_id.commercial_partner_id

    @http.route("/my/loyalty/privacy", type="http", auth="user", website=True)
    def portal_loyalty_privacy(self, **kw):
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "member": self._member().sudo(),
                "page_name": "loyalty_privacy",
                "saved": kw.get("saved"),
            }
        )
        return request.render("loyalty_crm_addon.portal_loyalty_privacy", values)

    @http.route(
        "/my/loyalty/privacy/consent", type="http", auth="user", methods=["POST"]
    )
    def portal_loyalty_consent(self, consent=None, **kw):
        if consent in ("in", "out"):
            # The logged-in user records their own choice only.
            self._member().sudo()._loyalty_set_consent(consent, "portal")
        return request.redirect("/my/loyalty/privacy?saved=1")

    @http.route(
        "/my/loyalty/privacy/consent/sms", type="http", auth="user", methods=["POST"]
    )
    def portal_loyalty_consent_sms(self, consent=None, **kw):
        if consent in ("in", "out"):
            # The logged-in user records their own choice only.
            self._member().sudo()._loyalty_set_consent_sms(consent, "portal")
        return request.redirect("/my/loyalty/privacy?saved=1")

    @http.route("/loyalty/privacy/export/<int:partner_id>", type="http", auth="user")
    def loyalty_privacy_export(self, partner_id, **kw):
        partner = request.env["res.partner"].browse(partner_id).exists()
        if not partner:
            raise request.not_found()
        try:
            data = partner.loyalty_export_data()
        except AccessError:
            raise request.not_found() from None
        body = json.dumps(data, indent=2, ensure_ascii=False, default=str)
        filename = f"loyalty-data-{partner.id}.json"
        return request.make_response(
            body,
            headers=[
                ("Content-Type", "application/json; charset=utf-8"),
                ("Content-Disposition", f'attachment; filename="{filename}"'),
            ],
        )
