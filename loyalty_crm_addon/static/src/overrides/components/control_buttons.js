/** @odoo-module */
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { ControlButtons } from "@point_of_sale/app/screens/product_screen/control_buttons/control_buttons";
import { TextInputPopup } from "@point_of_sale/app/utils/input_popups/text_input_popup";
import { makeAwaitable } from "@point_of_sale/app/store/make_awaitable_dialog";
import { formatPoints } from "@loyalty_crm_addon/core/format_points";
import { _t } from "@web/core/l10n/translation";
import { patch } from "@web/core/utils/patch";

patch(ControlButtons.prototype, {
    /** The new customer's referral code goes with the order; the server
     * checks it (and its fraud rules) when the order is paid. The cashier
     * is told at once whether the code is known and who refers. */
    async clickLoyaltyReferralCode() {
        const order = this.pos.get_order();
        const code = await makeAwaitable(this.dialog, TextInputPopup, {
            title: _t("Referral Code"),
            placeholder: _t("e.g. ABCD-2345"),
            startingValue: order.loyalty_referral_code || "",
        });
        if (typeof code !== "string") {
            return;
        }
        const typed = code.trim().toUpperCase();
        delete order.uiState.loyaltyCrmReferral;
        if (!typed) {
            order.loyalty_referral_code = false;
            return;
        }
        let check;
        try {
            check = await this.pos.data.call("res.partner", "loyalty_pos_check_referral", [
                typed,
                order.get_partner()?.id || false,
                this.pos.config.id,
            ]);
        } catch {
            // Offline: the code goes with the order, checked when it syncs.
            order.loyalty_referral_code = typed;
            this.notification.add(
                _t("The code could not be checked now; it will be when the order is saved."),
                { type: "warning" }
            );
            return;
        }
        if (!check.valid) {
            order.loyalty_referral_code = false;
            this.notification.add(check.message, { type: "danger" });
            return;
        }
        order.loyalty_referral_code = check.code;
        order.uiState.loyaltyCrmReferral = check;
        this.notification.add(
            check.bonus
                ? _t("%(message)s The customer gets %(bonus)s points with a first purchase of at least %(minimum)s.", {
                      message: check.message,
                      bonus: formatPoints(check.bonus),
                      minimum: this.env.utils.formatCurrency(check.min_amount || 0),
                  })
                : check.message,
            { type: "success" }
        );
    },
});
