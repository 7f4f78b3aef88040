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
 * not preload every member. One call answers the partners found, loaded as
 * the till loads them, and their standing. A failed call (offline, server
 * error) leaves the list as it was with a Retry button; the till goes on.
 */
patch(PartnerList.prototype, {
    setup() {
        super.setup(...arguments);
        this.state.loyaltyCrmFound = { query: "", ids: [] };
        this.state.loyaltyCrmFailed = "";
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
        if (query === this.state.query) {
            await this.loyaltyCrmTry(() => this.searchPartner());
        }
    },
    loyaltyCrmRetry() {
        this.state.previousQuery = "";
        return this.loyaltyCrmSearch(this.state.query);
    },
    /** A failed search (offline, server error) leaves the list as it was
     * and says so; the next key stroke or Retry searches again. */
    async loyaltyCrmTry(search) {
        const query = (this.state.query || "").trim();
        try {
            const result = await search();
            this.state.loyaltyCrmFailed = "";
            return result;
        } catch (error) {
            console.warn("Loyalty: customer search failed", error);
            this.state.loyaltyCrmFailed = query;
        }
    },
    async onEnter() {
        return await this.loyaltyCrmTry(() => super.onEnter(...arguments));
    },
    async getNewPartners() {
        const query = (this.state.query || "").trim();
        if (!query) {
            return super.getNewPartners(...arguments);
        }
        const { ids } = await this.pos.loyaltyCrmFind(query, this.state.currentOffset, 30);
        const known = this.state.loyaltyCrmFound;
        this.state.loyaltyCrmFound = {
            query,
            ids: known.query === query ? [...new Set([...known.ids, ...ids])] : ids,
        };
        if (!ids.length && !this.state.currentOffset) {
            // Nothing by the member keys: Odoo's own search (address, VAT,
            // ...), as without the addon.
            return await super.getNewPartners(...arguments);
        }
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
