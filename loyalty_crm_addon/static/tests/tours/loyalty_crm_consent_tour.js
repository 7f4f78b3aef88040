/* License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl). */
import * as Chrome from "@point_of_sale/../tests/tours/utils/chrome_util";
import * as Dialog from "@point_of_sale/../tests/tours/utils/dialog_util";
import * as ProductScreen from "@point_of_sale/../tests/tours/utils/product_screen_util";
import * as PosLoyalty from "@pos_loyalty/../tests/tours/utils/pos_loyalty_util";
import { registry } from "@web/core/registry";

// Data made by loyalty_crm_addon/tests/test_pos_consent.py (TestLoyaltyPosConsent).
const MEMBER = "AAA LCA Earn Member";
const PANEL = ".product-screen .o_loyalty_crm_member .o_loyalty_crm_consent";
const SMS_PANEL = ".product-screen .o_loyalty_crm_member .o_loyalty_crm_consent_sms";

function consentIs(state, label) {
    return {
        content: `the member panel shows: ${label}`,
        trigger: `${PANEL}[data-consent="${state}"] .o_loyalty_crm_consent_state:contains("${label}")`,
    };
}

function click(button, content) {
    return {
        content,
        trigger: `${PANEL} .o_loyalty_crm_consent_${button}:not([disabled])`,
        run: "click",
    };
}

registry.category("web_tour.tours").add("loyalty_crm_till_consent", {
    steps: () =>
        [
            Chrome.startPoS(),
            Dialog.confirm("Open Register"),
            ProductScreen.clickPartnerButton(),
            {
                content: `search customers for ${MEMBER}`,
                trigger: ".modal-header .input-group input",
                run: "edit AAA LCA Earn",
            },
            ProductScreen.clickCustomer(MEMBER),
            PosLoyalty.customerIs(MEMBER),
            consentIs("none", "Not asked"),
            click("out", "the customer wants no loyalty emails"),
            consentIs("out", "Opted out"),
            {
                content: "opted out: only opting in is offered",
                trigger: `${PANEL}:not(:has(.o_loyalty_crm_consent_out))`,
            },
            click("in", "the customer changes their mind"),
            consentIs("in", "Opted in"),
            // SMS: a choice of its own, below the one about emails
            {
                content: "the customer also wants loyalty SMS",
                trigger: `${SMS_PANEL}[data-consent="none"] .o_loyalty_crm_consent_in:not([disabled])`,
                run: "click",
            },
            {
                content: "the member panel shows: SMS opted in",
                trigger: `${SMS_PANEL}[data-consent="in"] .o_loyalty_crm_consent_state:contains("Opted in")`,
            },
        ].flat(),
});
