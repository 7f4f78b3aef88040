/** @odoo-module */
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { PosOrder } from "@point_of_sale/app/models/pos_order";
import { patch } from "@web/core/utils/patch";

patch(PosOrder.prototype, {
    /** The member's card of a membership program, when loaded: the card
     * the order earns on (a company's for its buyer), else the customer's. */
    _loyaltyCrmCard(programId) {
        const partner = this.get_partner();
        if (!partner) {
            return undefined;
        }
        const change = Object.values(this.uiState?.couponPointChanges || {}).find(
            (pe) => pe.program_id === programId && pe.coupon_id > 0
        );
        return (
            (change && this.models["loyalty.card"].get(change.coupon_id)) ||
            this.models["loyalty.card"].find(
                (card) => card.partner_id?.id === partner.id && card.program_id?.id === programId
            )
        );
    },
    /** Members earn with the running campaigns and their tier's
     * multiplier, as the server does. */
    pointsForPrograms(programs) {
        const result = super.pointsForPrograms(...arguments);
        for (const program of programs) {
            if (program.program_type !== "loyalty" || !result[program.id]) {
                continue;
            }
            // Running campaigns multiply the points of the matching lines,
            // before the tier's multiplier, as the server does.
            const entries = result[program.id];
            if (entries.length === 1 && !entries[0].barcode && entries[0].points > 0) {
                const extra = this.loyaltyCrmCampaignExtra(program);
                if (extra) {
                    entries[0].points = Math.max(
                        0,
                        Math.round((entries[0].points + extra) * 100 + 1e-6) / 100
                    );
                }
            }
            const multiplier = this._loyaltyCrmCard(program.id)?.loyalty_tier_multiplier || 1;
            if (multiplier !== 1) {
                for (const entry of result[program.id]) {
                    // Rounded down to the cent, as the server does.
                    entry.points = Math.floor(entry.points * multiplier * 100 + 1e-6) / 100;
                }
            }
        }
        return result;
    },
    /** Tier-only rewards are offered to members of those tiers only. */
    getClaimableRewards() {
        return super.getClaimableRewards(...arguments).filter(({ coupon_id, reward }) => {
            if (!reward.loyalty_tier_key) {
                return true;
            }
            const card = this.models["loyalty.card"].get(coupon_id);
            const allowed = reward.loyalty_tier_key.split(",");
            return Boolean(card?.loyalty_tier_key) && allowed.includes(card.loyalty_tier_key);
        });
    },
});

patch(PosOrder.prototype, {
    /**
     * Points this order earns in a membership program with a pending period
     * are not available yet: they cannot pay for this order's rewards (the
     * server refuses them anyway). The balance shown is the card's, which
     * the ledger allows.
     */
    _getRealCouponPoints(coupon_id) {
        let points = super._getRealCouponPoints(...arguments);
        for (const pe of Object.values(this.uiState.couponPointChanges)) {
            if (pe.coupon_id !== coupon_id) {
                continue;
            }
            const program = this.models["loyalty.program"].get(pe.program_id);
            if (
                program?.program_type === "loyalty" &&
                program.loyalty_pending_days > 0 &&
                program.applies_on !== "future"
            ) {
                points -= pe.points;
            }
            break;
        }
        return points;
    },
});

patch(PosOrder.prototype, {
    /**
     * Odoo re-applies the order's rewards at each change, giving a
     * single-product reward as many free units as the points pay for: a
     * membership reward the cashier confirmed keeps the units confirmed
     * (more is asked for again, through the reward list).
     */
    _updateRewardLines() {
        const confirmed = {};
        for (const line of this._get_reward_lines() || []) {
            const reward = line.reward_id;
            if (reward?.reward_type === "product" && this.loyaltyCrmAsked(reward)) {
                confirmed[reward.id] = (confirmed[reward.id] || 0) + Math.abs(line.qty);
            }
        }
        this.loyaltyCrmConfirmedQty = confirmed;
        try {
            return super._updateRewardLines(...arguments);
        } finally {
            this.loyaltyCrmConfirmedQty = null;
        }
    },
    _applyReward(reward, coupon_id, args) {
        const kept = this.loyaltyCrmConfirmedQty?.[reward.id];
        if (kept && args && args.quantity === undefined) {
            args = { ...args, quantity: kept };
        }
        return super._applyReward(reward, coupon_id, args);
    },
    /** Whether the till asks before ``reward`` spends points. */
    loyaltyCrmAsked(reward) {
        const program = reward.program_id;
        return Boolean(
            this.config.loyalty_ask_before_spending &&
                program?.program_type === "loyalty" &&
                program.id === this.config.loyalty_membership_program_id?.id
        );
    },
});
