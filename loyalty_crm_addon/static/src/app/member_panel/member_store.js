/** @odoo-module */
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { PosStore } from "@point_of_sale/app/store/pos_store";
import { patch } from "@web/core/utils/patch";
import { loyaltyCrmTillCampaigns } from "@loyalty_crm_addon/overrides/models/pos_order_campaign";

// Programs whose cards are single-use codes, not balances.
const COUPON_TYPES = new Set(["coupons", "promotion", "next_order_coupons", "promo_code", "buy_x_get_y"]);

/**
 * The member's standing (balance, pending points, tier, progress, points
 * expiring soon) comes from the server, one call for the partners shown,
 * cached per partner. A failed call leaves an error the panel shows with a
 * retry button; the till goes on working.
 */
patch(PosStore.prototype, {
    async setup() {
        this.loyaltyCrm = { info: {}, errors: {}, loading: {}, cardsChecked: {} };
        return await super.setup(...arguments);
    },
    /**
     * The till's customer search: one server call answers the ids found,
     * the partners (loaded into the till as data.read would) and their
     * standing. Raises when the call fails (offline, server error).
     */
    async loyaltyCrmFind(query, offset = 0, limit = 30) {
        const found = await this.data.call(
            "res.partner",
            "loyalty_pos_find",
            [query, this.config.id],
            { offset, limit }
        );
        const missing = found.partners.filter((p) => !this.models["res.partner"].get(p.id));
        if (missing.length) {
            const data = await this.data.missingRecursive({ "res.partner": missing });
            this.models.loadData(data);
        }
        this.loyaltyCrmSetInfo(found.members);
        return found;
    },
    loyaltyCrmSetInfo(members) {
        for (const [id, info] of Object.entries(members)) {
            this.loyaltyCrmStoreInfo(id, info);
            delete this.loyaltyCrm.errors[id];
        }
    },
    /** The standing of a partner, and the campaigns running at the till
     * for them, which the order's points include. */
    loyaltyCrmStoreInfo(id, info) {
        this.loyaltyCrm.info[id] = info;
        const campaigns = info?.campaigns || [];
        const changed =
            JSON.stringify(loyaltyCrmTillCampaigns[id] || []) !== JSON.stringify(campaigns);
        loyaltyCrmTillCampaigns[id] = campaigns;
        // Points already computed for the customer's order follow.
        if (changed && String(this.get_order()?.get_partner()?.id) === String(id)) {
            this.updatePrograms().catch((error) =>
                console.warn("Loyalty: points not updated", error)
            );
        }
    },
    loyaltyCrmInfo(partner) {
        return partner ? this.loyaltyCrm.info[partner.id] : undefined;
    },
    async loyaltyCrmFetchInfo(partnerIds, force = false) {
        const ids = [...new Set(partnerIds)].filter(
            (id) =>
                id > 0 &&
                (force || !(id in this.loyaltyCrm.info)) &&
                !this.loyaltyCrm.loading[id]
        );
        if (!ids.length) {
            return;
        }
        for (const id of ids) {
            this.loyaltyCrm.loading[id] = true;
        }
        try {
            const result = await this.data.call("res.partner", "loyalty_pos_member_info", [
                ids,
                this.config.id,
            ]);
            for (const id of ids) {
                delete this.loyaltyCrm.errors[id];
                if (result[id]) {
                    this.loyaltyCrmStoreInfo(id, result[id]);
                }
            }
        } catch (error) {
            console.warn("Loyalty: member standing not loaded", error);
            for (const id of ids) {
                this.loyaltyCrm.errors[id] = true;
            }
        } finally {
            for (const id of ids) {
                delete this.loyaltyCrm.loading[id];
            }
        }
    },
    async loyaltyCrmEnroll(partner) {
        const info = await this.data.call("res.partner", "loyalty_pos_enroll", [
            [partner.id],
            this.config.id,
        ]);
        this.loyaltyCrmStoreInfo(partner.id, info);
        delete this.loyaltyCrm.errors[partner.id];
        delete this.loyaltyCrm.cardsChecked[partner.id];
        // The new card is loaded at once, so the order earns on it.
        if (info.card_id && !this.models["loyalty.card"].get(info.card_id)) {
            await this.fetchCoupons([["id", "=", info.card_id]]);
        }
        if (this.get_order()?.get_partner()?.id === partner.id) {
            await this.updatePrograms();
        }
        return info;
    },
    /**
     * Membership cards are not preloaded: the customer's card is loaded
     * before the order's points are computed (with the tier multiplier).
     * A failed call is retried on the next update.
     */
    async loyaltyCrmEnsureCards(partner) {
        if (!partner || partner.id < 0 || this.loyaltyCrm.cardsChecked[partner.id]) {
            return;
        }
        // The member is the commercial partner: a company's buyer earns and
        // spends on the company's card, which their standing names.
        await this.loyaltyCrmFetchInfo([partner.id]);
        // Still loading (the customer was just picked): checked next time.
        const infoReady = partner.id in this.loyaltyCrm.info;
        const memberCardId = this.loyaltyCrmInfo(partner)?.card_id;
        if (memberCardId && !this.models["loyalty.card"].get(memberCardId)) {
            try {
                await this.fetchCoupons([["id", "=", memberCardId]], 1);
            } catch (error) {
                console.warn("Loyalty: member card not loaded", error);
                return;
            }
        }
        const programIds = this.models["loyalty.program"]
            .filter((p) => p.program_type === "loyalty")
            .map((p) => p.id);
        const missing = programIds.filter(
            (id) =>
                !this.models["loyalty.card"].find(
                    (c) => c.partner_id?.id === partner.id && c.program_id?.id === id
                )
        );
        try {
            if (missing.length) {
                await this.fetchCoupons(
                    [
                        ["partner_id", "=", partner.id],
                        ["program_id", "in", missing],
                    ],
                    missing.length
                );
            }
            this.loyaltyCrm.cardsChecked[partner.id] = infoReady;
        } catch (error) {
            console.warn("Loyalty: member card not loaded", error);
        }
    },
    /**
     * A scanned or typed membership card code: the card is not preloaded,
     * so it is looked up on the server first (with its member), then Odoo's
     * own flow selects the member. A failed lookup leaves Odoo's flow as is.
     */
    async activateCode(code) {
        const known =
            this.models["loyalty.card"].find((card) => card.code === code) ||
            this.models["loyalty.rule"].find(
                (rule) =>
                    rule.mode === "with_code" && (rule.promo_barcode === code || rule.code === code)
            );
        if (!known && code) {
            try {
                const found = await this.loyaltyCrmFind(code, 0, 1);
                const partnerId = found.ids?.[0];
                if (partnerId) {
                    await this.fetchCoupons(
                        [
                            ["code", "=", code],
                            ["partner_id", "=", partnerId],
                        ],
                        1
                    );
                }
            } catch (error) {
                console.warn("Loyalty: card code not looked up", error);
            }
        }
        return super.activateCode(...arguments);
    },
    /** The card of a membership program is the member's: for a company's
     * buyer, the company's card (native code looks up the buyer's own). */
    async couponForProgram(program) {
        const partner = this.get_order()?.get_partner();
        const info = this.loyaltyCrmInfo(partner);
        if (program.program_type === "loyalty" && info?.card_id && info.program_id === program.id) {
            const card = this.models["loyalty.card"].get(info.card_id);
            if (card) {
                return card;
            }
        }
        return await super.couponForProgram(...arguments);
    },
    async updatePrograms() {
        await this.loyaltyCrmEnsureCards(this.get_order()?.get_partner());
        return super.updatePrograms(...arguments);
    },
    async selectPartner(partner) {
        const res = await super.selectPartner(...arguments);
        const selected = this.get_order()?.get_partner();
        if (selected) {
            this.loyaltyCrmFetchInfo([selected.id], true);
        }
        return res;
    },
    /** Cards whose program is not at this till (archived, another company)
     * are never shown. With a membership program, the member panel of the
     * customer's line shows the member's balance: the program's card is not
     * listed again, nor single-use coupons ("1.00 Coupon point(s)"), which
     * are codes, not balances. */
    getLoyaltyCards(partner) {
        const info = this.loyaltyCrmInfo(partner);
        const membership =
            this.config.loyalty_membership_program_id?.id ||
            (info?.is_member ? info.program_id : false);
        const hideCoupons = Boolean(this.config.loyalty_membership_program_id);
        return super
            .getLoyaltyCards(...arguments)
            .filter(
                (card) =>
                    card &&
                    card.program_id &&
                    card.program_id.program_type &&
                    card.program_id.id !== membership &&
                    !(hideCoupons && COUPON_TYPES.has(card.program_id.program_type))
            );
    },
});
