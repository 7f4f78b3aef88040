/** @odoo-module */
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { ControlButtons } from "@point_of_sale/app/screens/product_screen/control_buttons/control_buttons";
import { LoyaltyCrmRewardPopup } from "@loyalty_crm_addon/app/reward_popup/reward_popup";
import { formatPoints } from "@loyalty_crm_addon/core/format_points";
import { _t } from "@web/core/l10n/translation";
import { patch } from "@web/core/utils/patch";

patch(ControlButtons.prototype, {
    /** What a reward of the list costs, as the cashier reads it. */
    loyaltyCrmCostLabel(reward, couponId, potentialQty) {
        if (reward.program_id.program_type !== "loyalty") {
            return "";
        }
        const name = this.pos.loyaltyCrmPointName(reward);
        const order = this.pos.get_order();
        if (reward.clear_wallet) {
            return _t("All %s", name);
        }
        if (order.loyaltyCrmIsPerPoint(reward)) {
            return _t("Up to %s %s", formatPoints(order.loyaltyCrmMaxPoints(reward, couponId)), name);
        }
        const cost = this.pos.loyaltyCrmRewardCost(reward, couponId, potentialQty || 1);
        return `${formatPoints(cost)} ${name}`;
    },
    /** The membership card of the order's customer, when loaded. */
    loyaltyCrmOrderCard() {
        const order = this.pos.get_order();
        const programId = this.pos.config.loyalty_membership_program_id?.id;
        return programId && order?.get_partner() ? order._loyaltyCrmCard(programId) : undefined;
    },
    /** The catalog's till rewards the member cannot take on this order,
     * with why. */
    loyaltyCrmCatalogRewards(available = this.getPotentialRewards()) {
        const card = this.loyaltyCrmOrderCard();
        if (!card || card.id < 0) {
            return [];
        }
        const order = this.pos.get_order();
        const taken = new Set(available.map(({ reward }) => reward.id));
        const balance = order._getRealCouponPoints(card.id);
        const name = card.program_id?.portal_point_name || _t("points");
        return this.pos.models["loyalty.reward"]
            .filter((reward) => reward.program_id?.id === card.program_id?.id && !taken.has(reward.id))
            .sort((a, b) => a.required_points - b.required_points)
            .map((reward) => {
                let reason;
                const tiers = reward.loyalty_tier_key ? reward.loyalty_tier_key.split(",") : [];
                if (tiers.length && !tiers.includes(card.loyalty_tier_key || "")) {
                    reason = _t("Not for this member's tier");
                } else if (balance < reward.required_points) {
                    reason = _t("%s more %s needed", formatPoints(reward.required_points - balance), name);
                } else {
                    reason = _t("Not for this order");
                }
                return {
                    id: reward.id,
                    label: reward.description,
                    cost: `${formatPoints(reward.required_points)} ${name}`,
                    reason,
                };
            });
    },
    async clickRewards() {
        const rewards = this.getPotentialRewards();
        const unavailable = this.loyaltyCrmCatalogRewards(rewards);
        if (!rewards.length && !unavailable.length) {
            return;
        }
        this.dialog.add(LoyaltyCrmRewardPopup, {
            title: _t("Available rewards"),
            available: rewards.map((reward) => ({
                id: `${reward.reward.id}-${reward.coupon_id}`,
                label: reward.reward.description,
                program: reward.reward.program_id.name,
                cost: this.loyaltyCrmCostLabel(reward.reward, reward.coupon_id, reward.potentialQty),
                item: reward,
            })),
            unavailable,
            getPayload: (selected) =>
                this._applyReward(selected.reward, selected.coupon_id, selected.potentialQty),
        });
    },
});
