/** @odoo-module */
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { ControlButtons } from "@point_of_sale/app/screens/product_screen/control_buttons/control_buttons";
import { NumberPopup } from "@point_of_sale/app/utils/input_popups/number_popup";
import { makeAwaitable } from "@point_of_sale/app/store/make_awaitable_dialog";
import { loyaltyCrmChoiceKey } from "@loyalty_crm_addon/overrides/models/pos_order_points";
import { formatPoints } from "@loyalty_crm_addon/core/format_points";
import { parseFloat } from "@web/views/fields/parsers";
import { _t } from "@web/core/l10n/translation";
import { patch } from "@web/core/utils/patch";

patch(ControlButtons.prototype, {
    /**
     * A per-point membership reward asks how many points to use, when the
     * cashier has a choice (the question names the reward); any other
     * membership reward that spends points is confirmed first when the
     * till asks before spending (its cost and the member's balance named).
     */
    async _applyReward(reward, coupon_id, potentialQty) {
        const order = this.pos.get_order();
        const asks = this.pos.loyaltyCrmAsks(reward);
        let chosen = false;
        if (order.loyaltyCrmIsPerPoint(reward)) {
            chosen = await this.loyaltyCrmChoosePoints(reward, coupon_id);
            if (chosen === false) {
                return false;
            }
        }
        if (asks && !chosen) {
            const ok = await this.pos.loyaltyCrmConfirmSpend(reward, coupon_id, potentialQty || 1);
            if (!ok) {
                return false;
            }
        }
        this.pos.loyaltyCrmConfirmedReward = reward;
        try {
            if (asks && potentialQty && this.loyaltyCrmOnOrder(reward)) {
                // The free product is on the order already (the cashier said
                // "not now" when it was scanned): that one is made free, no
                // second one is added.
                const result = order._applyReward(reward, coupon_id, {
                    product: reward.reward_product_ids[0],
                    quantity: 1,
                });
                if (result !== true) {
                    this.notification.add(result);
                }
                this.pos.updateRewards();
                return result;
            }
            return await super._applyReward(...arguments);
        } finally {
            this.pos.loyaltyCrmConfirmedReward = null;
        }
    },
    /** Whether the free product of ``reward`` is on the order, not free. */
    loyaltyCrmOnOrder(reward) {
        if (reward.reward_type !== "product" || reward.multi_product) {
            return false;
        }
        const order = this.pos.get_order();
        const productId = reward.reward_product_ids[0]?.id;
        const sold = order
            .get_orderlines()
            .filter((line) => !line.is_reward_line && line.product_id?.id === productId)
            .reduce((qty, line) => qty + line.get_quantity(), 0);
        const free = order
            ._get_reward_lines()
            .filter((line) => line.reward_id?.id === reward.id)
            .reduce((qty, line) => qty + Math.abs(line.get_quantity()), 0);
        return sold > free;
    },
    /** The points a per-point reward uses, chosen by the cashier: null when
     * there is no choice (the least the reward asks is the most the order
     * can use: Odoo's own flow applies it at once), false when cancelled. */
    async loyaltyCrmChoosePoints(reward, coupon_id) {
        const order = this.pos.get_order();
        const maxPoints = order.loyaltyCrmMaxPoints(reward, coupon_id);
        if (!(maxPoints > (reward.required_points || 0) + 1e-6)) {
            return null;
        }
        const maxLabel = formatPoints(maxPoints);
        const value = await makeAwaitable(this.dialog, NumberPopup, {
            title: _t("Points to use for %s", reward.description),
            subtitle: _t("Up to %s points", maxLabel),
            startingValue: maxLabel,
            isValid: (buffer) => {
                let points;
                try {
                    points = parseFloat(buffer || "0");
                } catch {
                    return false;
                }
                return points > 0 && points <= maxPoints + 1e-6;
            },
        });
        if (value === undefined || value === null || value === "") {
            return false;
        }
        const points = Math.round(parseFloat(value) * 100) / 100;
        if (!(points > 0) || points > maxPoints + 1e-6) {
            this.notification.add(_t("Choose between 0 and %s points.", maxLabel));
            return false;
        }
        order.uiState.loyaltyCrmPoints[loyaltyCrmChoiceKey(reward, coupon_id)] = points;
        return points;
    },
});
