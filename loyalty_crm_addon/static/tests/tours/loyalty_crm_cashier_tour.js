/* License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl). */
import * as Chrome from "@point_of_sale/../tests/tours/utils/chrome_util";
import * as Dialog from "@point_of_sale/../tests/tours/utils/dialog_util";
import * as PaymentScreen from "@point_of_sale/../tests/tours/utils/payment_screen_util";
import * as ProductScreen from "@point_of_sale/../tests/tours/utils/product_screen_util";
import * as ReceiptScreen from "@point_of_sale/../tests/tours/utils/receipt_screen_util";
import * as PosLoyalty from "@pos_loyalty/../tests/tours/utils/pos_loyalty_util";
import { registry } from "@web/core/registry";

// Data made by loyalty_crm_addon/tests/test_pos_cashier.py.
const MEMBER = "AAA LCA Cashier Member"; // 400 points, tier LCA Silver
const PRODUCT = "LCA Tour Widget"; // 50.00, no tax
const COFFEE = "LCA Free Coffee"; // 5.10, free for 150 points
const REWARD = "LCA Free Coffee";

function question(points) {
    return {
        content: `the till asks before spending ${points} points on the coffee`,
        trigger: `.modal:contains("${COFFEE}") .modal-title:contains("${points}")`,
    };
}

registry.category("web_tour.tours").add("loyalty_crm_pos_cashier", {
    steps: () =>
        [
            Chrome.startPoS(),
            Dialog.confirm("Open Register"),
            ProductScreen.clickPartnerButton(),
            ProductScreen.clickCustomer(MEMBER),
            PosLoyalty.customerIs(MEMBER),
            {
                content: "the member's tier reads on the order",
                trigger: ".o_loyalty_crm_member .o_loyalty_crm_tier:contains('LCA Silver')",
            },
            ProductScreen.clickDisplayedProduct(PRODUCT),
            ProductScreen.totalAmountIs("50.00"),

            // Scanning the free product asks; "Not now" sells it at its price.
            ProductScreen.clickDisplayedProduct(COFFEE),
            question("150"),
            {
                content: "the cashier says not now",
                trigger: ".modal .modal-footer button:contains('Not now')",
                run: "click",
            },
            ProductScreen.totalAmountIs("55.10"),
            PosLoyalty.isRewardButtonHighlighted(true),
            ProductScreen.clickControlButton("Reward"),
            {
                content: "the reward list shows what each reward costs",
                trigger: `.o_loyalty_crm_reward_item:contains("${REWARD}") .o_loyalty_crm_reward_cost:contains("150")`,
            },
            {
                content: "the 10 off reward is listed with its cost",
                trigger: `.o_loyalty_crm_reward_item:contains("LCA 10 off your order") .o_loyalty_crm_reward_cost:contains("100")`,
            },
            {
                content: "pick the free coffee",
                trigger: `.o_loyalty_crm_reward_item:contains("${REWARD}")`,
                run: "click",
            },
            question("150"),
            Dialog.confirm(),
            PosLoyalty.hasRewardLine(`Free Product - ${COFFEE}`, "-5.10"),
            PosLoyalty.orderTotalIs("50.00"),

            ProductScreen.clickPayButton(),
            PaymentScreen.clickPaymentMethod("Cash"),
            PaymentScreen.remainingIs("0.00"),
            PaymentScreen.clickValidate(),
            ReceiptScreen.isShown(),
            {
                content: "the receipt shows the points spent",
                trigger: ".pos-receipt .o_loyalty_crm_receipt_spent:contains('150')",
                timeout: 20000,
            },
            {
                content: "the receipt shows earned, balance and tier, once",
                trigger: ".pos-receipt .o_loyalty_crm_receipt_tier:contains('LCA Silver')",
                run() {
                    const blocks = document.querySelectorAll(".pos-receipt .o_loyalty_crm_receipt");
                    const native = document.querySelectorAll(".pos-receipt .loyalty");
                    const earned = document.querySelectorAll(
                        ".pos-receipt .o_loyalty_crm_receipt_earned"
                    );
                    const balance = document.querySelector(
                        ".pos-receipt .o_loyalty_crm_receipt_balance"
                    );
                    if (blocks.length !== 1 || native.length || earned.length !== 1) {
                        throw new Error(
                            `points block ${blocks.length} time(s), Odoo's ${native.length}`
                        );
                    }
                    if (!balance || balance.textContent.trim() !== "300") {
                        throw new Error(`balance ${balance?.textContent}`);
                    }
                },
            },
            ReceiptScreen.clickNextOrder(),
            ProductScreen.isShown(),
        ].flat(),
});
