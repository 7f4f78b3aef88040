/* License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl). */
import { registry } from "@web/core/registry";

// Data made by loyalty_crm_addon/tests/test_quotation_tour.py (TestQuotationTour).
const MEMBER = "LCA Quote Member"; // 350 points, Gold (x2)
const PRODUCT = "LCA Quote Lamp"; // 50.00
const BANNER = ".o_loyalty_quotation_standing";

/** A salesperson quotes a member: the quotation shows their standing, what
 * the order earns and the rewards within reach with their cost; the Rewards
 * dialog names each reward with its cost. */
registry.category("web_tour.tours").add("loyalty_crm_quotation", {
    url: "/odoo/action-sale.action_quotations_with_onboarding/new",
    steps: () => [
        {
            content: "choose the customer",
            trigger: ".o_field_widget[name=partner_id] input",
            run: `edit ${MEMBER}`,
        },
        {
            content: "pick the member",
            trigger: `.ui-autocomplete a:contains('${MEMBER}')`,
            run: "click",
        },
        {
            content: "the member's standing: tier and balance",
            trigger: `${BANNER}:contains('Gold'):contains('350'):contains('Points')`,
        },
        {
            content: "nothing in the order yet: it earns nothing",
            trigger: `${BANNER} [name=loyalty_order_points]:contains('+0')`,
        },
        {
            content: "add a product",
            trigger: ".o_field_x2many_list_row_add a",
            run: "click",
        },
        {
            content: "type the product",
            trigger: ".o_data_row .o_field_widget[name=product_template_id] input",
            run: `edit ${PRODUCT}`,
        },
        {
            content: "pick the product",
            trigger: `.ui-autocomplete a:contains('${PRODUCT}')`,
            run: "click",
        },
        {
            content: "the order earns 100 points (50.00 at the Gold tier's x2)",
            trigger: `${BANNER} [name=loyalty_order_points]:contains('+100')`,
        },
        {
            content: "both rewards are within reach, with their cost",
            trigger: `${BANNER}:contains('LCA 20 off (300 Points)'):contains('LCA 5 off (100 Points)')`,
        },
        {
            content: "save the quotation",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "saved",
            trigger: ".o_form_saved",
        },
        {
            content: "open the rewards",
            trigger: "button[name=action_open_reward_wizard]",
            run: "click",
        },
        {
            content: "the dialog says what the member has to spend",
            trigger: ".modal [name=loyalty_points_available]:contains('450')",
        },
        {
            content: "and names each reward with its cost",
            trigger: ".modal .o_field_widget[name=selected_reward_id] label:contains('LCA 20 off (300 Points)')",
        },
        {
            content: "choose the 20 off",
            trigger: ".modal .o_field_widget[name=selected_reward_id] label:contains('LCA 20 off')",
            run: "click",
        },
        {
            content: "apply it",
            trigger: ".modal button[name=action_apply]",
            run: "click",
        },
        {
            content: "the reward line is on the order",
            trigger: ".o_data_row:contains('LCA 20 off')",
        },
        {
            content: "the 20 off is used: 150 points left for the 5 off only",
            trigger: `${BANNER}:contains('LCA 5 off (100 Points)'):not(:contains('LCA 20 off'))`,
        },
    ],
});
