/* License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl). */
import * as Chrome from "@point_of_sale/../tests/tours/utils/chrome_util";
import * as Dialog from "@point_of_sale/../tests/tours/utils/dialog_util";
import * as PaymentScreen from "@point_of_sale/../tests/tours/utils/payment_screen_util";
import * as ProductScreen from "@point_of_sale/../tests/tours/utils/product_screen_util";
import * as ReceiptScreen from "@point_of_sale/../tests/tours/utils/receipt_screen_util";
import * as PosLoyalty from "@pos_loyalty/../tests/tours/utils/pos_loyalty_util";
import { registry } from "@web/core/registry";

// Data made by loyalty_crm_addon/tests/test_engagement_till.py.
const MEMBER = "AAA LCA Earn Member";
const PRODUCT = "LCA Tour Widget"; // 50.00, no tax; double points today
const PANEL = ".product-screen .o_loyalty_crm_member";

function panelShows(selector, text) {
    return {
        content: `the member panel shows ${text}`,
        trigger: `${PANEL} ${selector}:contains("${text}")`,
    };
}

registry.category("web_tour.tours").add("loyalty_crm_engagement_till", {
    steps: () =>
        [
            Chrome.startPoS(),
            Dialog.confirm("Open Register"),
            ProductScreen.clickPartnerButton(),
            ProductScreen.clickCustomer(MEMBER),
            PosLoyalty.customerIs(MEMBER),
            // Badges, the nearest achievement, the campaign running.
            panelShows(".o_loyalty_crm_badge", "First Steps"),
            panelShows(".o_loyalty_crm_badge_count", "1 badge"),
            panelShows(".o_loyalty_crm_next_achievement", "2 more orders for Streak Master"),
            panelShows(".o_loyalty_crm_campaign", "Double points on Widgets"),
            ProductScreen.clickDisplayedProduct(PRODUCT),
            ProductScreen.totalAmountIs("50.00"),
            panelShows(".o_loyalty_crm_campaign.fw-bold", "on this order"),
            // 50 points, doubled by the campaign, as the server posts them.
            PosLoyalty.checkAddedLoyaltyPoints("100"),
            // The customer answers "would you recommend us?".
            {
                content: "ask the question",
                trigger: `${PANEL} .o_loyalty_crm_nps_ask`,
                run: "click",
            },
            {
                content: "the customer says 9",
                trigger: `${PANEL} .o_loyalty_crm_nps_score[data-score="9"]`,
                run: "click",
            },
            panelShows(".o_loyalty_crm_nps_done", "9/10"),
            ProductScreen.clickPayButton(),
            PaymentScreen.clickPaymentMethod("Cash"),
            PaymentScreen.remainingIs("0.00"),
            PaymentScreen.clickValidate(),
            ReceiptScreen.isShown(),
            ReceiptScreen.clickNextOrder(),
            ProductScreen.isShown(),
        ].flat(),
});
