/** @odoo-module */
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { Component, onWillStart, onWillUpdateProps } from "@odoo/owl";
import { usePos } from "@point_of_sale/app/store/pos_hook";
import { useService } from "@web/core/utils/hooks";
import { formatPoints } from "@loyalty_crm_addon/core/format_points";
import { formatDate, deserializeDate } from "@web/core/l10n/dates";
import { _t } from "@web/core/l10n/translation";
import { LoyaltyNpsControl } from "@loyalty_crm_addon/app/engagement/nps_control";
import { loyaltyCrmCampaignApplies } from "@loyalty_crm_addon/overrides/models/pos_order_campaign";

/** A member's standing at the till: tier badge, available and pending
 * points, progress to the next tier, points expiring soon, badges and the
 * nearest achievement, the campaigns running at the till, the "would you
 * recommend us?" question; an Enroll button for a customer who is not a
 * member. */
export class LoyaltyMemberPanel extends Component {
    static template = "loyalty_crm_addon.LoyaltyMemberPanel";
    static components = { LoyaltyNpsControl };
    static props = {
        partner: Object,
        compact: { type: Boolean, optional: true },
    };

    setup() {
        this.pos = usePos();
        this.notification = useService("notification");
        onWillStart(() => this.pos.loyaltyCrmFetchInfo([this.props.partner.id]));
        onWillUpdateProps((next) => this.pos.loyaltyCrmFetchInfo([next.partner.id]));
    }
    get info() {
        return this.pos.loyaltyCrm.info[this.props.partner.id];
    }
    get failed() {
        return this.pos.loyaltyCrm.errors[this.props.partner.id];
    }
    formatPoints(points) {
        return formatPoints(points);
    }
    formatDay(day) {
        return day ? formatDate(deserializeDate(day)) : "";
    }
    get pointName() {
        return this.info?.point_name || _t("Points");
    }
    /** Campaigns running at the till, those on this order's lines first. */
    get campaigns() {
        const order = this.pos.get_order();
        return (this.info?.campaigns || [])
            .map((campaign) => ({
                ...campaign,
                applies: loyaltyCrmCampaignApplies(campaign, order),
            }))
            .sort((a, b) => b.applies - a.applies);
    }
    get badgeCountLabel() {
        const count = this.info?.badge_count || 0;
        return count === 1 ? _t("1 badge") : _t("%s badges", count);
    }
    retry() {
        return this.pos.loyaltyCrmFetchInfo([this.props.partner.id], true);
    }
    async enroll(ev) {
        ev.stopPropagation();
        try {
            const info = await this.pos.loyaltyCrmEnroll(this.props.partner);
            this.notification.add(
                info?.card_code
                    ? _t("%(name)s is now a member. Card number: %(code)s", {
                          name: this.props.partner.name,
                          code: info.card_code,
                      })
                    : _t("%s is now a member.", this.props.partner.name),
                { type: "success", title: _t("Welcome to the club") }
            );
        } catch (error) {
            this.notification.add(
                error?.data?.message || _t("Enrollment failed; try again."),
                { type: "danger" }
            );
        }
    }
}
