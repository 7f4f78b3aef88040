/** @odoo-module */
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { PosOrder } from "@point_of_sale/app/models/pos_order";
import { patch } from "@web/core/utils/patch";

/**
 * The campaigns running at the till for each customer picked ({partner id:
 * [campaign]}), as the member panel's server call answers them (with the
 * member's tier applied). Filled by the store, read by the orders.
 */
export const loyaltyCrmTillCampaigns = {};

/** The multiplier of a line of ``product`` (undefined: points of the
 * whole order, which campaigns on every product only multiply): the
 * highest of the matching campaigns, 1 when none matches (as the server's
 * loyalty.campaign._loyalty_factor). */
export function loyaltyCrmCampaignFactor(campaigns, product) {
    let best = 1;
    let found = false;
    for (const campaign of campaigns || []) {
        const everyProduct = !campaign.product_ids.length && !campaign.category_ids.length;
        const matches =
            everyProduct ||
            (product &&
                (campaign.product_ids.includes(product.id) ||
                    campaign.category_ids.includes(product.categ_id?.id)));
        if (matches) {
            best = found ? Math.max(best, campaign.multiplier) : campaign.multiplier;
            found = true;
        }
    }
    return best;
}

/** Whether a running campaign multiplies points of this order's lines. */
export function loyaltyCrmCampaignApplies(campaign, order) {
    if (!campaign.product_ids.length && !campaign.category_ids.length) {
        return true;
    }
    return (order?.get_orderlines() || []).some(
        (line) =>
            !line.is_reward_line &&
            line.product_id &&
            (campaign.product_ids.includes(line.product_id.id) ||
                campaign.category_ids.includes(line.product_id.categ_id?.id))
    );
}

patch(PosOrder.prototype, {
    /** The campaigns running at the till for this order's customer. */
    loyaltyCrmCampaigns() {
        const partner = this.get_partner();
        return (partner && loyaltyCrmTillCampaigns[partner.id]) || [];
    },
    /**
     * Points the running campaigns add to what the order earns in
     * ``program`` (before the tier multiplier), as the server counts them
     * when it posts the paid order (pos.order._loyalty_campaign_extra):
     * each rule the order meets gives its points on the matching lines
     * (multiplier - 1) more times; points per order are multiplied by the
     * campaigns on every product only.
     */
    loyaltyCrmCampaignExtra(program) {
        const campaigns = this.loyaltyCrmCampaigns();
        if (!campaigns.length) {
            return 0;
        }
        const lines = this.get_orderlines().filter((line) => !line.combo_parent_id);
        const price = (line) =>
            line.combo_line_ids?.length ? line.getComboTotalPrice() : line.get_price_with_tax();
        const priceExcl = (line) =>
            line.combo_line_ids?.length
                ? line.getComboTotalPriceWithoutTax()
                : line.get_price_without_tax();
        const factor = (product) => loyaltyCrmCampaignFactor(campaigns, product);
        let extra = 0;
        for (const rule of program.rule_ids) {
            if (rule.mode === "with_code" || !rule.reward_point_amount) {
                continue;
            }
            const valid = (product) =>
                Boolean(product) && (rule.any_product || rule.validProductIds?.has(product.id));
            const threshold = [];
            const counted = [];
            let qty = 0;
            for (const line of lines) {
                const reward = line.reward_id;
                if (!line.is_reward_line) {
                    if (valid(line.product_id)) {
                        threshold.push(line);
                        counted.push(line);
                        qty += line.get_quantity();
                    }
                    continue;
                }
                const rewardProgram = reward?.program_id;
                if (!reward || ["gift_card", "ewallet"].includes(rewardProgram?.program_type)) {
                    continue;
                }
                if (reward.reward_type === "discount") {
                    if (rewardProgram?.id === program.id || !valid(line.product_id)) {
                        continue;
                    }
                    if (rewardProgram?.trigger !== "auto") {
                        threshold.push(line);
                    }
                    counted.push(line);
                } else if ((reward.reward_product_ids || []).some(valid)) {
                    counted.push(line);
                    if (rewardProgram?.id === program.id) {
                        qty -= Math.abs(line.get_quantity());
                    }
                }
            }
            const amount = threshold.reduce(
                (sum, line) =>
                    sum + (rule.minimum_amount_tax_mode === "incl" ? price(line) : priceExcl(line)),
                0
            );
            if (rule.minimum_amount && rule.minimum_amount > amount) {
                continue;
            }
            if (qty < (rule.minimum_qty || 0)) {
                continue;
            }
            if (rule.reward_point_mode === "order") {
                extra += rule.reward_point_amount * (factor(undefined) - 1);
            } else if (rule.reward_point_mode === "money") {
                extra +=
                    rule.reward_point_amount *
                    counted.reduce(
                        (sum, line) => sum + price(line) * (factor(line.product_id) - 1),
                        0
                    );
            } else if (rule.reward_point_mode === "unit") {
                for (const line of counted) {
                    let weight;
                    if (!line.is_reward_line) {
                        weight = line.get_quantity();
                    } else if (line.reward_id?.program_id?.id === program.id) {
                        weight = -Math.abs(line.get_quantity());
                    } else {
                        continue;
                    }
                    extra += rule.reward_point_amount * weight * (factor(line.product_id) - 1);
                }
            }
        }
        return extra;
    },
});
