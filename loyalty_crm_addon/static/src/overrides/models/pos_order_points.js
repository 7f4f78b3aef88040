/** @odoo-module */
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { PosOrder } from "@point_of_sale/app/models/pos_order";
import { formatPoints } from "@loyalty_crm_addon/core/format_points";
import { _t } from "@web/core/l10n/translation";
import { patch } from "@web/core/utils/patch";

/** Key of a per-point reward claimed on a card, for the cashier's choice. */
export function loyaltyCrmChoiceKey(reward, couponId) {
    return `${reward.id}-${couponId}`;
}

patch(PosOrder.prototype, {
    setup() {
        super.setup(...arguments);
        this.uiState.loyaltyCrmPoints ??= {};
    },
    /** Whether the cashier chooses how many points a reward uses. */
    loyaltyCrmIsPerPoint(reward) {
        return (
            reward.reward_type === "discount" &&
            reward.discount_mode === "per_point" &&
            reward.program_id.program_type === "loyalty"
        );
    },
    /**
     * The most points a per-point reward can use on this order: the card's
     * available points (whole multiples of the reward's step) and what the
     * order's amount allows.
     */
    loyaltyCrmMaxPoints(reward, couponId) {
        const previous = this.uiState.loyaltyCrmPoints[loyaltyCrmChoiceKey(reward, couponId)];
        delete this.uiState.loyaltyCrmPoints[loyaltyCrmChoiceKey(reward, couponId)];
        try {
            const lines = this._getRewardLineValuesDiscount({ reward, coupon_id: couponId });
            if (!Array.isArray(lines) || !lines.length) {
                return 0;
            }
            return lines[0].points_cost;
        } finally {
            if (previous !== undefined) {
                this.uiState.loyaltyCrmPoints[loyaltyCrmChoiceKey(reward, couponId)] = previous;
            }
        }
    },
    /**
     * odoo/odoo#264931: a per-point reward uses the points the cashier
     * chose, not the whole balance; the discount follows (points x value
     * per point). The server charges exactly these points.
     */
    _getRewardLineValuesDiscount(args) {
        const result = super._getRewardLineValuesDiscount(...arguments);
        const reward = args.reward;
        if (!Array.isArray(result) || !result.length || !this.loyaltyCrmIsPerPoint(reward)) {
            return result;
        }
        const chosen = this.uiState.loyaltyCrmPoints?.[
            loyaltyCrmChoiceKey(reward, args.coupon_id)
        ];
        if (!(chosen > 0)) {
            return result;
        }
        const given = -result.reduce((sum, line) => sum + line.price_unit * line.qty, 0);
        const maxPoints = reward.discount ? given / reward.discount : 0;
        if (chosen >= maxPoints - 1e-6 && !reward.clear_wallet) {
            return result;
        }
        const points = Math.min(chosen, maxPoints);
        const factor = given ? (points * reward.discount) / given : 0;
        for (const line of result) {
            line.price_unit = line.price_unit * factor;
        }
        result[0].points_cost = Math.round(points * 100) / 100;
        return result;
    },
    /**
     * The receipt's points block, once: what the ledger posted for the
     * order (earned, spent, balance, tier), with the card's number for a
     * new member and the referral the order converted. Odoo's own block
     * of the membership program is left out then (it would say it again).
     */
    export_for_printing() {
        const result = super.export_for_printing(...arguments);
        const info = this.uiState.loyaltyCrmReceipt;
        if (info && Object.keys(info).length) {
            const format = (points) => formatPoints(points);
            const referral = info.referral || {};
            result.loyaltyCrm = {
                pointName: info.point_name || _t("Points"),
                tier: info.tier,
                earned: format(info.earned),
                spent: info.spent ? format(info.spent) : "",
                balance: format(info.balance),
                pending: info.pending ? format(info.pending) : "",
                newMember: Boolean(info.new_member),
                cardCode: info.card_code || "",
                referrer: referral.state === "converted" ? referral.referrer : "",
                referralBonus: referral.bonus ? format(referral.bonus) : "",
                referralCode:
                    referral.state && referral.state !== "converted"
                        ? this.loyalty_referral_code || ""
                        : "",
                referralRegistered: referral.state === "pending",
            };
            const membership = this.config?.loyalty_membership_program_id?.id;
            if (membership && result.loyaltyStats) {
                result.loyaltyStats = result.loyaltyStats.filter(
                    (stat) => stat.program?.id !== membership
                );
            }
        }
        return result;
    },
});
