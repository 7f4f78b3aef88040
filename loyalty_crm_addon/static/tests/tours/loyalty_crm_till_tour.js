/* License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl). */
import * as Chrome from "@point_of_sale/../tests/tours/utils/chrome_util";
import * as Dialog from "@point_of_sale/../tests/tours/utils/dialog_util";
import * as NumberPopup from "@point_of_sale/../tests/tours/utils/number_popup_util";
import * as PaymentScreen from "@point_of_sale/../tests/tours/utils/payment_screen_util";
import * as ProductScreen from "@point_of_sale/../tests/tours/utils/product_screen_util";
import * as ReceiptScreen from "@point_of_sale/../tests/tours/utils/receipt_screen_util";
import * as PosLoyalty from "@pos_loyalty/../tests/tours/utils/pos_loyalty_util";
import { registry } from "@web/core/registry";

// Data made by loyalty_crm_addon/tests/test_pos_till.py (TestLoyaltyPosTill).
const PRODUCT = "LCA Tour Widget"; // 50.00, no tax
const SEARCHED = "Zed Searchable Member"; // not preloaded by the till

function start() {
    return [Chrome.startPoS(), Dialog.confirm("Open Register")].flat();
}

function search(value) {
    return [
        {
            content: `search customers for ${value}`,
            trigger: ".modal-header .input-group input",
            run: `edit ${value}`,
        },
    ];
}

/** The line of ``name`` in the customer list shows ``text``. */
function lineShows(name, text) {
    return {
        content: `${name}: ${text}`,
        trigger: `.modal .partner-list tr:has(b:contains("${name}")) .o_loyalty_crm_member:contains("${text}")`,
    };
}

function panelShows(text, selector = "") {
    return {
        content: `the member panel shows ${text}`,
        trigger: `.product-screen .o_loyalty_crm_member ${selector}:contains("${text}")`,
    };
}

function payCash(total) {
    return [
        ProductScreen.clickPayButton(),
        PaymentScreen.totalIs(total),
        PaymentScreen.clickPaymentMethod("Cash"),
        PaymentScreen.remainingIs("0.00"),
        PaymentScreen.clickValidate(),
        ReceiptScreen.isShown(),
        ReceiptScreen.receiptIsThere(),
    ].flat();
}

/** The walk-in customer, just enrolled, is picked and pays 50.00 for the
 * widget: the order earns 50 points, the receipt prints the balance. */
function newMemberPays({ productAdded = false } = {}) {
    return [
        lineShows("AAA LCA Walk-in", "0 LCA Points"),
        ProductScreen.clickCustomer("AAA LCA Walk-in"),
        PosLoyalty.customerIs("AAA LCA Walk-in"),
        productAdded
            ? ProductScreen.totalAmountIs("50.00")
            : ProductScreen.clickDisplayedProduct(PRODUCT),
        PosLoyalty.checkAddedLoyaltyPoints("50"),
        payCash("50.00"),
        {
            content: "the receipt shows the new member's balance",
            trigger: ".o_loyalty_crm_receipt_balance:contains('50'):not(:contains('.'))",
        },
        ReceiptScreen.clickNextOrder(),
    ].flat();
}

function foundBy(value) {
    return [
        ...search(value),
        {
            content: `${SEARCHED} found by ${value}`,
            trigger: `.modal .partner-list b:contains("${SEARCHED}")`,
        },
    ];
}

registry.category("web_tour.tours").add("loyalty_crm_till_search", {
    steps: () =>
        [
            start(),
            ProductScreen.clickPartnerButton(),
            {
                content: "the member is not preloaded",
                trigger: `.modal .partner-list:not(:has(b:contains("${SEARCHED}")))`,
            },
            foundBy("Zed Searcha"),
            search("nobody-here"),
            {
                content: "nobody found",
                trigger: `.modal .partner-list:not(:has(b:contains("${SEARCHED}")))`,
            },
            foundBy("+32 470 55"),
            search("nobody-here"),
            foundBy("zed.searchable@"),
            search("nobody-here"),
            foundBy("LCAZED2024"),
            // The member's standing is shown on their line.
            lineShows(SEARCHED, "75 LCA Points"),
            ProductScreen.clickCustomer(SEARCHED),
            PosLoyalty.customerIs(SEARCHED),
            panelShows("75 LCA Points"),
        ].flat(3),
});

registry.category("web_tour.tours").add("loyalty_crm_till_search_referral", {
    steps: () =>
        [
            start(),
            ProductScreen.clickPartnerButton(),
            foundBy("ZEDREF77"),
            ProductScreen.clickCustomer(SEARCHED),
            PosLoyalty.customerIs(SEARCHED),
        ].flat(3),
});

registry.category("web_tour.tours").add("loyalty_crm_till_panel", {
    steps: () =>
        [
            start(),
            ProductScreen.clickPartnerButton(),
            search("AAA LCA Panel"),
            lineShows("AAA LCA Panel Member", "Silver"),
            lineShows("AAA LCA Panel Member", "1,234.50 LCA Points"),
            lineShows("AAA LCA Panel Member", "+40 pending"),
            ProductScreen.clickCustomer("AAA LCA Panel Member"),
            PosLoyalty.customerIs("AAA LCA Panel Member"),
            panelShows("Silver", ".o_loyalty_crm_tier"),
            panelShows("1,234.50 LCA Points", ".o_loyalty_crm_balance"),
            panelShows("+40 pending", ".o_loyalty_crm_pending"),
            panelShows("725.50 to Gold", ".o_loyalty_crm_progress"),
            panelShows("34.50 expiring by", ".o_loyalty_crm_expiring"),
        ].flat(3),
});

registry.category("web_tour.tours").add("loyalty_crm_till_partial", {
    steps: () =>
        [
            start(),
            ProductScreen.clickPartnerButton(),
            search("AAA LCA Redeem"),
            ProductScreen.clickCustomer("AAA LCA Redeem Member"),
            PosLoyalty.customerIs("AAA LCA Redeem Member"),
            ProductScreen.clickDisplayedProduct(PRODUCT),
            ProductScreen.totalAmountIs("50.00"),
            PosLoyalty.claimReward("LCA points discount"),
            {
                content: "the cashier is asked how many points to use",
                trigger: ".modal .modal-title:contains('Points to use')",
            },
            {
                content: "up to the balance and the points this order earns (350 = 35.00)",
                trigger: ".modal:contains('Up to 350 points')",
            },
            NumberPopup.enterValue("120"),
            NumberPopup.isShown("120"),
            Dialog.confirm(),
            PosLoyalty.hasRewardLine("LCA points discount", "-12.00"),
            ProductScreen.totalAmountIs("38.00"),
            payCash("38.00"),
            {
                content: "the receipt shows the points spent, whole points without decimals",
                trigger: ".o_loyalty_crm_receipt_spent:contains('120'):not(:contains('.'))",
            },
            {
                content: "the receipt shows the points earned",
                trigger: ".o_loyalty_crm_receipt_earned:contains('50'):not(:contains('.'))",
            },
            {
                content: "the receipt shows the new balance",
                trigger: ".o_loyalty_crm_receipt_balance:contains('230'):not(:contains('.'))",
            },
            ReceiptScreen.clickNextOrder(),
        ].flat(3),
});

registry.category("web_tour.tours").add("loyalty_crm_till_enroll", {
    steps: () =>
        [
            start(),
            ProductScreen.clickPartnerButton(),
            search("AAA LCA Walk"),
            {
                content: "a customer who is not a member can be enrolled",
                trigger: `.modal .partner-list tr:has(b:contains("AAA LCA Walk-in")) .o_loyalty_crm_enroll`,
                run: "click",
            },
            newMemberPays(),
        ].flat(3),
});

registry.category("web_tour.tours").add("loyalty_crm_till_archived", {
    steps: () =>
        [
            start(),
            ProductScreen.clickPartnerButton(),
            search("AAA LCA Redeem"),
            lineShows("AAA LCA Redeem Member", "300 LCA Points"),
            ProductScreen.clickCustomer("AAA LCA Redeem Member"),
            PosLoyalty.customerIs("AAA LCA Redeem Member"),
            ProductScreen.clickDisplayedProduct(PRODUCT),
            payCash("50.00"),
            ReceiptScreen.clickNextOrder(),
            ProductScreen.clickPartnerButton(),
            lineShows("AAA LCA Redeem Member", "350 LCA Points"),
        ].flat(3),
});

/** The till loses / finds its connection (Odoo's own offline handling:
 * every server call fails as when the server cannot be reached). */
function network(state) {
    return {
        content: `the till goes ${state}`,
        trigger: "body",
        run: () => window.dispatchEvent(new Event(state)),
    };
}

registry.category("web_tour.tours").add("loyalty_crm_till_offline", {
    steps: () =>
        [
            start(),
            ProductScreen.clickPartnerButton(),
            search("AAA LCA Walk"),
            {
                content: "the walk-in customer can be enrolled",
                trigger: `.modal .partner-list tr:has(b:contains("AAA LCA Walk-in")) .o_loyalty_crm_enroll`,
            },
            network("offline"),
            {
                content: "enroll while offline",
                trigger: `.modal .partner-list tr:has(b:contains("AAA LCA Walk-in")) .o_loyalty_crm_enroll`,
                run: "click",
            },
            {
                content: "the cashier is told the enrollment failed",
                trigger: ".o_notification:contains('Enrollment failed; try again.')",
            },
            // The cashier goes on with the order meanwhile.
            Dialog.discard(),
            ProductScreen.clickDisplayedProduct(PRODUCT),
            ProductScreen.totalAmountIs("50.00"),
            // The search fails too: the list says so and keeps working.
            ProductScreen.clickPartnerButton(),
            search("Zed Searcha"),
            {
                content: "the search could not reach the server",
                trigger: ".modal .o_loyalty_crm_search_failed:contains('could not reach the server')",
            },
            {
                content: "the member is not found while offline",
                trigger: `.modal .partner-list:not(:has(b:contains("${SEARCHED}")))`,
            },
            network("online"),
            {
                content: "retry the search",
                trigger: ".modal .o_loyalty_crm_search_retry",
                run: "click",
            },
            {
                content: `${SEARCHED} found once the till is online again`,
                trigger: `.modal .partner-list b:contains("${SEARCHED}")`,
            },
            {
                content: "the failure message is gone",
                trigger: ".modal:not(:has(.o_loyalty_crm_search_failed))",
            },
            lineShows(SEARCHED, "75 LCA Points"),
            // Enrollment, retried online, gives the card at once.
            search("AAA LCA Walk"),
            {
                content: "enroll again, online",
                trigger: `.modal .partner-list tr:has(b:contains("AAA LCA Walk-in")) .o_loyalty_crm_enroll`,
                run: "click",
            },
            newMemberPays({ productAdded: true }),
        ].flat(3),
});
