/** @odoo-module */
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { deserializeDateTime, formatDateTime } from "@web/core/l10n/dates";
import { _t } from "@web/core/l10n/translation";
import { LoyaltyMemberPanel } from "@loyalty_crm_addon/app/member_panel/member_panel";
import { LoyaltyConsentControl } from "@loyalty_crm_addon/app/consent/consent_control";

/** The customer's choice about loyalty SMS (opt-in), beside the one about
 * emails: recorded by the server with the channel "point of sale" and the
 * date. */
export class LoyaltyConsentSmsControl extends LoyaltyConsentControl {
    static template = "loyalty_crm_addon.LoyaltyConsentSmsControl";

    get consent() {
        return this.props.partner.loyalty_consent_sms || "";
    }
    get since() {
        const date = this.props.partner.loyalty_consent_sms_date;
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
                "loyalty_pos_set_consent_sms",
                [[partner.id], consent, this.pos.config.id]
            );
            partner.update({
                loyalty_consent_sms: vals.loyalty_consent_sms,
                loyalty_consent_sms_date: vals.loyalty_consent_sms_date,
                loyalty_consent_sms_channel: vals.loyalty_consent_sms_channel,
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
    LoyaltyConsentSmsControl,
};
