/** @odoo-module */
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { PosStore } from "@point_of_sale/app/store/pos_store";
import { ask } from "@point_of_sale/app/store/make_awaitable_dialog";
import { formatPoints } from "@loyalty_crm_addon/core/format_points";
import { _t } from "@web/core/l10n/translation";
import { patch } from "@web/core/utils/patch";

/**
 * "Ask before a reward spends points" (the till's setting, on by default):
 * a reward of the membership program that costs points is given only once
 * the cashier said yes to a question naming it and its cost. Odoo gives a
 * scanned product that is some reward's free product at once; here the
 * product is added at its price and the question follows. Other programs'
 * rewards (promotions, coupons) are Odoo's as before.
 */
patch(PosStore.prototype, {
    /** Whether giving ``reward`` needs the cashier's yes. */
    loyaltyCrmAsks(reward) {
        const program = reward?.program_id;
        return Boolean(
            this.config.loyalty_ask_before_spending &&
                program &&
                program.program_type === "loyalty" &&
                program.id === this.config.loyalty_membership_program_id?.id &&
                (reward.required_points > 0 || reward.clear_wallet)
        );
    },
    /** Points one claim of ``reward`` for ``qty`` free units costs. */
    loyaltyCrmRewardCost(reward, couponId, qty = 1) {
        const order = this.get_order();
        if (reward.clear_wallet && order) {
            return order._getRealCouponPoints(couponId);
        }
        if (reward.reward_type === "product") {
            const claims = Math.max(1, Math.ceil(qty / (reward.reward_product_qty || 1) - 1e-9));
            return reward.required_points * claims;
        }
        return reward.required_points;
    },
    loyaltyCrmPointName(reward) {
        return reward.program_id?.portal_point_name || _t("points");
    },
    /** The question; resolves to whether the cashier said yes. */
    async loyaltyCrmConfirmSpend(reward, couponId, qty = 1) {
        const order = this.get_order();
        const cost = this.loyaltyCrmRewardCost(reward, couponId, qty);
        const balance = order ? order._getRealCouponPoints(couponId) : 0;
        const name = this.loyaltyCrmPointName(reward);
        return await ask(this.dialog, {
            title: _t("Use %(points)s %(name)s?", { points: formatPoints(cost), name }),
            body: _t(
                "%(reward)s costs %(points)s %(name)s. The member has %(balance)s %(name)s; %(left)s are left after it.",
                {
                    reward: reward.description,
                    points: formatPoints(cost),
                    name,
                    balance: formatPoints(balance),
                    left: formatPoints(Math.max(0, balance - cost)),
                }
            ),
            confirmLabel: _t("Use %s %s", formatPoints(cost), name),
            cancelLabel: _t("Not now"),
        });
    },
    getPotentialFreeProductRewards() {
        const result = super.getPotentialFreeProductRewards(...arguments);
        if (!this.loyaltyCrmHoldAutoClaim) {
            return result;
        }
        // Odoo's addLineToCurrentOrder gives these at once: not here.
        return result.filter(({ reward }) => !this.loyaltyCrmAsks(reward));
    },
    async addLineToCurrentOrder(vals, opt = {}, configure = true) {
        const product = vals.product_id;
        const order = this.get_order();
        // The rewards Odoo would give with this product (one, or none).
        const matching = order
            ? this.getPotentialFreeProductRewards().filter(({ reward }) =>
                      reward.reward_product_ids.some((p) => p.id === product?.id)
                  )
            : [];
        const asked =
            matching.length === 1 && this.loyaltyCrmAsks(matching[0].reward) ? matching[0] : null;
        this.loyaltyCrmHoldAutoClaim = (this.loyaltyCrmHoldAutoClaim || 0) + 1;
        let result;
        try {
            result = await super.addLineToCurrentOrder(...arguments);
        } finally {
            this.loyaltyCrmHoldAutoClaim -= 1;
        }
        if (!asked || result === undefined) {
            return result;
        }
        // Chosen in the reward list, with its cost, and confirmed there.
        const confirmed = this.loyaltyCrmConfirmedReward === asked.reward;
        if (confirmed || (await this.loyaltyCrmConfirmSpend(asked.reward, asked.coupon_id))) {
            if (this.get_order() === order) {
                await this.updatePrograms();
                order._applyReward(asked.reward, asked.coupon_id, { product });
                this.updateRewards();
            }
        }
        return result;
    },
});
