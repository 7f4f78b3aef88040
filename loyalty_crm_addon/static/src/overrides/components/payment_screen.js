/** @odoo-module */
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { PaymentScreen } from "@point_of_sale/app/screens/payment_screen/payment_screen";
import { PosData } from "@point_of_sale/app/models/data_service";
import { patch } from "@web/core/utils/patch";

/**
 * When the till validates a payment, pos_loyalty asks the server whether the
 * coupons can pay for the rewards (validate_coupon_programs). The server also
 * reserves the membership points the order spends, for this order only, so
 * that another till cannot spend them meanwhile: it needs the order's
 * reference and what each card's reward lines cost.
 */
patch(PosData.prototype, {
    async call(model, method, args = [], kwargs = {}, queue = false) {
        if (
            model === "pos.order" &&
            method === "validate_coupon_programs" &&
            this.loyaltyCrmHold
        ) {
            kwargs = { ...kwargs, loyalty_hold: this.loyaltyCrmHold };
        }
        const result = await super.call(model, method, args, kwargs, queue);
        if (model === "pos.order" && method === "confirm_coupon_programs" && result) {
            // What the ledger posted for the order, for its receipt.
            const order = this.models["pos.order"].get(args[0]);
            if (order && result.loyalty_crm_receipt) {
                order.uiState.loyaltyCrmReceipt = result.loyalty_crm_receipt;
            }
        }
        return result;
    },
});

patch(PaymentScreen.prototype, {
    async validateOrder(isForceValidate) {
        const order = this.currentOrder;
        const spends = {};
        for (const line of order._get_reward_lines()) {
            const card = line.coupon_id;
            if (!card || card.id < 1 || card.program_id?.program_type !== "loyalty") {
                continue;
            }
            spends[card.id] = (spends[card.id] || 0) + line.points_cost;
        }
        this.pos.data.loyaltyCrmHold = {
            uuid: order.uuid,
            config_id: this.pos.config.id,
            spends,
        };
        try {
            return await super.validateOrder(...arguments);
        } finally {
            delete this.pos.data.loyaltyCrmHold;
        }
    },
    async _postPushOrderResolve(order) {
        const res = await super._postPushOrderResolve(...arguments);
        const partner = order.get_partner();
        if (partner) {
            // The member's new standing (balance, tier) for the next order.
            this.pos.loyaltyCrmFetchInfo([partner.id], true);
        }
        return res;
    },
});
