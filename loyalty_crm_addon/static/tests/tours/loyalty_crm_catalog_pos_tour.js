/* License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl). */
import * as Chrome from "@point_of_sale/../tests/tours/utils/chrome_util";
import * as Dialog from "@point_of_sale/../tests/tours/utils/dialog_util";
import * as PaymentScreen from "@point_of_sale/../tests/tours/utils/payment_screen_util";
import * as ProductScreen from "@point_of_sale/../tests/tours/utils/product_screen_util";
import * as ReceiptScreen from "@point_of_sale/../tests/tours/utils/receipt_screen_util";
import * as SelectionPopup from "@point_of_sale/../tests/tours/utils/selection_popup_util";
import * as PosLoyalty from "@pos_loyalty/../tests/tours/utils/pos_loyalty_util";
import { registry } from "@web/core/registry";

// Data made by loyalty_crm_addon/tests/test_reward_catalog_pos.py.
const PRODUCT = "LCA Catalog Widget"; // 50.00, no tax
const REWARD = "LCA 10 off at the till"; // 10.00 off for 100 points

registry.category("web_tour.tours").add("loyalty_crm_catalog_pos", {
    steps: () =>
        [
            Chrome.startPoS(),
            Dialog.confirm("Open Register"),
            ProductScreen.clickPartnerButton(),
            ProductScreen.clickCustomer("AAA Catalog Member"),
            PosLoyalty.customerIs("AAA Catalog Member"),
            ProductScreen.clickDisplayedProduct(PRODUCT),
            ProductScreen.totalAmountIs("50.00"),
            PosLoyalty.isRewardButtonHighlighted(true),
            ProductScreen.clickControlButton("Reward"),
            SelectionPopup.has(REWARD, { run: "click" }),
            // The till asks before the reward spends the member's points.
            Dialog.confirm("Use 100"),
            PosLoyalty.hasRewardLine(REWARD, "-10.00"),
            PosLoyalty.orderTotalIs("40.00"),
            ProductScreen.clickPayButton(),
            PaymentScreen.totalIs("40.00"),
            PaymentScreen.clickPaymentMethod("Cash"),
            PaymentScreen.remainingIs("0.00"),
            PaymentScreen.clickValidate(),
            ReceiptScreen.isShown(),
            ReceiptScreen.receiptIsThere(),
            ReceiptScreen.clickNextOrder(),
            ProductScreen.isShown(),
        ].flat(),
});
