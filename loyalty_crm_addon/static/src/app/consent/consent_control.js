/** @odoo-module */
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { Component, useState } from "@odoo/owl";
import { usePos } from "@point_of_sale/app/store/pos_hook";
import { useService } from "@web/core/utils/hooks";
import { deserializeDateTime, formatDateTime } from "@web/core/l10n/dates";
import { _t } from "@web/core/l10n/translation";
import { LoyaltyMemberPanel } from "@loyalty_crm_addon/app/member_panel/member_panel";

/** The customer's choice about loyalty emails and mailings, told to the
 * cashier: shown in the member panel with a button to change it. The server
 * records it (channel "point of sale", date) and answers with the values
 * the panel then shows. */
export class LoyaltyConsentControl extends Component {
    static template = "loyalty_crm_addon.LoyaltyConsentControl";
    static props = { partner: Object };

    setup() {
        this.pos = usePos();
        this.notification = useService("notification");
        this.state = useState({ saving: false });
    }
    get consent() {
        return this.props.partner.loyalty_consent || "";
    }
    get label() {
        return (
            { in: _t("Opted in"), out: _t("Opted out") }[this.consent] || _t("Not asked")
        );
    }
    get since() {
        const date = this.props.partner.loyalty_consent_date;
        return date ? formatDateTime(deserializeDateTime(date)) : "";
    }
    async setConsent(consent) {
        if (this.state.saving) {
            return;
        }
        this.state.saving = true;
        const partner = this.props.partner;
        try {
            const vals = await this.pos.data.call(
                "res.partner",
                "loyalty_pos_set_consent",
                [[partner.id], consent, this.pos.config.id]
            );
            partner.update({
                loyalty_consent: vals.loyalty_consent,
                loyalty_consent_date: vals.loyalty_consent_date,
                loyalty_consent_channel: vals.loyalty_consent_channel,
            });
        } catch (error) {
            this.notification.add(
                error?.data?.message || _t("The customer's choice was not saved; try again."),
                { type: "danger" }
            );
        } finally {
            this.state.saving = false;
        }
    }
}

LoyaltyMemberPanel.components = {
    ...LoyaltyMemberPanel.components,
    LoyaltyConsentControl,
};
