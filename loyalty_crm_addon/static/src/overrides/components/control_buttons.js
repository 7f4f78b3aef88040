/** @odoo-module */
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { ControlButtons } from "@point_of_sale/app/screens/product_screen/control_buttons/control_buttons";
import { TextInputPopup } from "@point_of_sale/app/utils/input_popups/text_input_popup";
import { makeAwaitable } from "@point_of_sale/app/store/make_awaitable_dialog";
import { _t } from "@web/core/l10n/translation";
import { patch } from "@web/core/utils/patch";

patch(ControlButtons.prototype, {
    /** The new customer's referral code goes with the order; the server
     * checks it (and its fraud rules) when the order is paid. */
    async clickLoyaltyReferralCode() {
        const order = this.pos.get_order();
        const code = await makeAwaitable(this.dialog, TextInputPopup, {
            title: _t("Referral Code"),
            placeholder: _t("e.g. ABCD-2345"),
            startingValue: order.loyalty_referral_code || "",
        });
        if (typeof code === "string") {
            order.loyalty_referral_code = code.trim().toUpperCase() || false;
        }
    },
});
