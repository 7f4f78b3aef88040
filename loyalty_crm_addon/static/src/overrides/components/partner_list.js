/** @odoo-module */
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { PartnerList } from "@point_of_sale/app/screens/partner_list/partner_list";
import { PartnerLine } from "@point_of_sale/app/screens/partner_list/partner_line/partner_line";
import { OrderSummary } from "@point_of_sale/app/screens/product_screen/order_summary/order_summary";
import { LoyaltyMemberPanel } from "@loyalty_crm_addon/app/member_panel/member_panel";
import { useEffect } from "@odoo/owl";
import { patch } from "@web/core/utils/patch";

PartnerLine.components = { ...PartnerLine.components, LoyaltyMemberPanel };
OrderSummary.components = { ...OrderSummary.components, LoyaltyMemberPanel };

/**
 * The customer search runs on the server (name, phone, email, barcode,
 * membership card code, referral code) as the cashier types: the till does
 * not preload every member. Partners found are loaded with their cards.
 */
patch(PartnerList.prototype, {
    setup() {
        super.setup(...arguments);
        this.state.loyaltyCrmFound = { query: "", ids: [] };
        let timer;
        useEffect(
            (query) => {
                clearTimeout(timer);
                if ((query || "").trim().length >= 2) {
                    timer = setTimeout(() => this.loyaltyCrmSearch(query), 250);
                }
                return () => clearTimeout(timer);
            },
            () => [this.state.query]
        );
    },
    async loyaltyCrmSearch(query) {
        try {
            if (query === this.state.query) {
                await this.searchPartner();
            }
        } catch (error) {
            // The list keeps what it has; the next key stroke searches again.
            console.warn("Loyalty: customer search failed", error);
        }
    },
    async getNewPartners() {
        const query = (this.state.query || "").trim();
        if (!query) {
            return super.getNewPartners(...arguments);
        }
        const ids = await this.pos.data.call("res.partner", "loyalty_pos_search", [
            query,
            this.pos.config.id,
        ], { offset: this.state.currentOffset, limit: 30 });
        const missing = ids.filter((id) => !this.pos.models["res.partner"].get(id));
        if (missing.length) {
            await this.pos.data.read("res.partner", missing);
        }
        const found = this.state.loyaltyCrmFound;
        this.state.loyaltyCrmFound = {
            query,
            ids: found.query === query ? [...new Set([...found.ids, ...ids])] : ids,
        };
        this.pos.loyaltyCrmFetchInfo(ids);
        return ids.map((id) => this.pos.models["res.partner"].get(id)).filter(Boolean);
    },
    getPartners() {
        const partners = super.getPartners(...arguments);
        const found = this.state.loyaltyCrmFound;
        if (!found.ids.length || found.query !== (this.state.query || "").trim()) {
            return partners;
        }
        const shown = new Set(partners.map((p) => p.id));
        const extra = found.ids
            .filter((id) => !shown.has(id))
            .map((id) => this.pos.models["res.partner"].get(id))
            .filter(Boolean);
        return [...extra, ...partners];
    },
});
