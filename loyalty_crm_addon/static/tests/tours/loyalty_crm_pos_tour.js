/* License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl). */
import * as Chrome from "@point_of_sale/../tests/tours/utils/chrome_util";
import * as Dialog from "@point_of_sale/../tests/tours/utils/dialog_util";
import * as PaymentScreen from "@point_of_sale/../tests/tours/utils/payment_screen_util";
import * as ProductScreen from "@point_of_sale/../tests/tours/utils/product_screen_util";
import * as ReceiptScreen from "@point_of_sale/../tests/tours/utils/receipt_screen_util";
import * as SelectionPopup from "@point_of_sale/../tests/tours/utils/selection_popup_util";
import * as PosLoyalty from "@pos_loyalty/../tests/tours/utils/pos_loyalty_util";
import { registry } from "@web/core/registry";

// Data made by loyalty_crm_addon/tests/test_pos_tour.py (TestLoyaltyPosTour).
const PRODUCT = "LCA Tour Widget"; // 50.00, no tax
const POINTS = "LCA Points"; // the membership program's points name
const REWARD = "LCA 10 off your order"; // fixed 10.00 discount for 100 points

function loyaltyStat(kind, value) {
    return {
        content: `loyalty ${kind} shows ${value}`,
        trigger: `.loyalty-points-${kind}:contains("${value}")`,
    };
}

function payCashAndValidate(total) {
    return [
        ProductScreen.clickPayButton(),
        PaymentScreen.totalIs(total),
        PaymentScreen.clickPaymentMethod("Cash"),
        PaymentScreen.remainingIs("0.00"),
        PaymentScreen.clickValidate(),
        ReceiptScreen.isShown(),
        ReceiptScreen.receiptIsThere(),
        ReceiptScreen.totalAmountContains(total),
        ReceiptScreen.clickNextOrder(),
        ProductScreen.isShown(),
    ].flat();
}

registry.category("web_tour.tours").add("loyalty_crm_pos_earn", {
    steps: () =>
        [
            Chrome.startPoS(),
            Dialog.confirm("Open Register"),

            ProductScreen.clickPartnerButton(),
            ProductScreen.clickCustomer("AAA LCA Earn Member"),
            PosLoyalty.customerIs("AAA LCA Earn Member"),
            ProductScreen.clickDisplayedProduct(PRODUCT),
            ProductScreen.selectedOrderlineHas(PRODUCT, "1.00", "50.00"),
            ProductScreen.totalAmountIs("50.00"),

            // The member's card: 200 points, +50 for this order, 250 after it.
            PosLoyalty.isPointsDisplayed(true),
            {
                content: "the membership points are shown",
                trigger: `.loyalty-points-title:contains("${POINTS}")`,
            },
            loyaltyStat("balance", "200"),
            PosLoyalty.checkAddedLoyaltyPoints("50"),
            loyaltyStat("totaltext-end", "250"),

            payCashAndValidate("50.00"),
        ].flat(),
});

registry.category("web_tour.tours").add("loyalty_crm_pos_redeem", {
    steps: () =>
        [
            Chrome.startPoS(),
            Dialog.confirm("Open Register"),

            ProductScreen.clickPartnerButton(),
            ProductScreen.clickCustomer("AAA LCA Redeem Member"),
            PosLoyalty.customerIs("AAA LCA Redeem Member"),
            ProductScreen.clickDisplayedProduct(PRODUCT),
            ProductScreen.totalAmountIs("50.00"),
            loyaltyStat("balance", "150"),
            PosLoyalty.checkAddedLoyaltyPoints("50"),

            // 150 points are enough for the 100-point reward.
            PosLoyalty.isRewardButtonHighlighted(true),
            ProductScreen.clickControlButton("Reward"),
            SelectionPopup.has(REWARD, { run: "click" }),
            // The till asks before the reward spends the member's points.
            Dialog.confirm("Use 100"),
            PosLoyalty.hasRewardLine(REWARD, "-10.00"),
            PosLoyalty.orderTotalIs("40.00"),
            // 150 + 50 won - 100 spent = 100.
            loyaltyStat("spent", "100"),
            loyaltyStat("totaltext-end", "100"),

            payCashAndValidate("40.00"),
        ].flat(),
});

registry.category("web_tour.tours").add("loyalty_crm_pos_tier", {
    steps: () =>
        [
            Chrome.startPoS(),
            Dialog.confirm("Open Register"),

            ProductScreen.clickPartnerButton(),
            ProductScreen.clickCustomer("AAA LCA Tier Member"),
            PosLoyalty.customerIs("AAA LCA Tier Member"),
            ProductScreen.clickDisplayedProduct(PRODUCT),
            ProductScreen.totalAmountIs("50.00"),
            // Silver members earn double: 50.00 spent gives 100 points.
            PosLoyalty.checkAddedLoyaltyPoints("100"),
            // The Gold-only reward is not offered to a Silver member.
            PosLoyalty.isRewardButtonHighlighted(false),

            payCashAndValidate("50.00"),
        ].flat(),
});

registry.category("web_tour.tours").add("loyalty_crm_pos_pending", {
    steps: () =>
        [
            Chrome.startPoS(),
            Dialog.confirm("Open Register"),

            ProductScreen.clickPartnerButton(),
            ProductScreen.clickCustomer("AAA LCA Refund Member"),
            PosLoyalty.customerIs("AAA LCA Refund Member"),
            ProductScreen.clickDisplayedProduct(PRODUCT),
            ProductScreen.clickDisplayedProduct(PRODUCT),
            ProductScreen.clickDisplayedProduct(PRODUCT),
            ProductScreen.totalAmountIs("150.00"),
            // No points on the card; the 150 this order earns are pending:
            // they cannot pay for the 100-point reward.
            PosLoyalty.checkAddedLoyaltyPoints("150"),
            loyaltyStat("totaltext-end", "150"),
            PosLoyalty.isRewardButtonHighlighted(false),

            payCashAndValidate("150.00"),
        ].flat(),
});

registry.category("web_tour.tours").add("loyalty_crm_pos_held", {
    steps: () =>
        [
            Chrome.startPoS(),
            Dialog.confirm("Open Register"),

            ProductScreen.clickPartnerButton(),
            ProductScreen.clickCustomer("AAA LCA Redeem Member"),
            PosLoyalty.customerIs("AAA LCA Redeem Member"),
            ProductScreen.clickDisplayedProduct(PRODUCT),
            // The till was loaded with 150 points: the reward is offered.
            PosLoyalty.isRewardButtonHighlighted(true),
            ProductScreen.clickControlButton("Reward"),
            SelectionPopup.has(REWARD, { run: "click" }),
            // The till asks before the reward spends the member's points.
            Dialog.confirm("Use 100"),
            PosLoyalty.hasRewardLine(REWARD, "-10.00"),
            ProductScreen.clickPayButton(),
            PaymentScreen.clickPaymentMethod("Cash"),
            PaymentScreen.remainingIs("0.00"),
            PaymentScreen.clickValidate(),
            // Another till holds 120 of them: refused before the customer pays.
            Dialog.is({ title: "Error validating rewards" }),
            Dialog.bodyIs("held by an order being paid at another till"),
            Dialog.confirm(),
            PaymentScreen.isShown(),
        ].flat(),
});
