/* License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl). */
import * as Chrome from "@point_of_sale/../tests/tours/utils/chrome_util";
import * as Dialog from "@point_of_sale/../tests/tours/utils/dialog_util";
import * as PaymentScreen from "@point_of_sale/../tests/tours/utils/payment_screen_util";
import * as ProductScreen from "@point_of_sale/../tests/tours/utils/product_screen_util";
import * as TextInputPopup from "@point_of_sale/../tests/tours/utils/text_input_popup_util";
import { registry } from "@web/core/registry";

// Data made by loyalty_crm_addon/tests/test_referral_pos.py (TestReferralPosTour).
registry.category("web_tour.tours").add("loyalty_crm_pos_referral", {
    steps: () =>
        [
            Chrome.startPoS(),
            Dialog.confirm("Open Register"),
            ProductScreen.clickPartnerButton(),
            ProductScreen.clickCustomer("AAA LCA Referred Friend"),
            ProductScreen.clickDisplayedProduct("LCA Referral Widget"),
            ProductScreen.totalAmountIs("50.00"),
            // The cashier types the code the friend gives, loosely.
            ...ProductScreen.clickControlButton("Referral Code"),
            TextInputPopup.inputText("lcaa 2345"),
            Dialog.confirm(),
            {
                content: "the cashier is told who refers",
                trigger: ".o_notification:contains('Referred by')",
            },
            ProductScreen.clickPayButton(),
            PaymentScreen.clickPaymentMethod("Cash"),
            PaymentScreen.clickValidate(),
            {
                // The server converts the referral while it saves the order.
                content: "receipt screen is shown",
                trigger: ".pos .receipt-screen",
                timeout: 30000,
            },
            {
                content: "the receipt prints the referral bonus",
                trigger: ".pos-receipt .o_loyalty_crm_receipt_referrer:contains('Referred by')",
                timeout: 20000,
            },
        ].flat(),
});
