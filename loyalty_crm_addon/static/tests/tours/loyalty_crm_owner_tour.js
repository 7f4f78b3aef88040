/* License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl). */
import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

// Data made by loyalty_crm_addon/tests/test_owner_tour.py (TestLoyaltyOwnerTour).
const TOP = "LCA Owner Top Member"; // the most points
const PROGRAM = "LCA Owner Club";

registry.category("web_tour.tours").add("loyalty_crm_owner_main_path", {
    url: "/odoo",
    steps: () => [
        stepUtils.showAppsMenuItem(),
        {
            content: "open the Loyalty app",
            trigger: ".o_app[data-menu-xmlid='loyalty_crm_addon.menu_loyalty_crm_root']",
            run: "click",
        },
        {
            content: "every top menu has a label: no overflow '+' menu",
            trigger: ".o_menu_sections:not(:has(.o_menu_sections_more))",
        },
        // Find the top members: the shared "Top Holders" search.
        { content: "the members", trigger: ".o_kanban_record" },
        { content: "switch to the list", trigger: ".o_switch_view.o_list", run: "click" },
        { content: "the members list", trigger: ".o_list_view .o_data_row" },
        {
            content: "open the search options",
            trigger: ".o_control_panel .o_searchview_dropdown_toggler",
            run: "click",
        },
        { content: "the search options are open", trigger: ".o_search_bar_menu .o_favorite_menu" },
        {
            content: "the saved search of the top holders",
            trigger: ".o_favorite_menu .o_menu_item:contains('Top Holders')",
            run: "click",
        },
        {
            content: "the member with the most points comes first",
            trigger: `.o_data_row:first-child td[name='name']:contains('${TOP}')`,
        },
        {
            content: "their balance and lifetime points are columns",
            trigger: ".o_list_view th[data-name='loyalty_lifetime_points']",
        },
        // Edit the program's rewards: every reward has a card that says what it is.
        {
            content: "open the Configuration menu",
            trigger: ".o_menu_sections button[data-menu-xmlid='loyalty_crm_addon.menu_loyalty_configuration']",
            run: "click",
        },
        {
            content: "open the programs",
            trigger: ".o-dropdown--menu [data-menu-xmlid='loyalty_crm_addon.menu_loyalty_programs']",
            run: "click",
        },
        {
            content: "programs open in the Loyalty app",
            trigger: ".o_main_navbar .o_menu_brand:contains('Loyalty')",
        },
        {
            content: "open the membership program",
            trigger: `.o_data_row td[name='name']:contains('${PROGRAM}')`,
            run: "click",
        },
        {
            content: "the Rules & Rewards tab",
            trigger: ".o_notebook .nav-link:contains('Rules & Rewards')",
            run: "click",
        },
        {
            content: "the gift card credit has its card",
            trigger: ".o_field_loyalty_one2many .o_kanban_record:contains('LCA 20 Gift Card'):contains('on')",
        },
        {
            content: "the experience has its card",
            trigger: ".o_field_loyalty_one2many .o_kanban_record:contains('LCA Cooking Class'):contains('Experience')",
        },
        {
            content: "no reward card is blank",
            trigger: ".o_field_loyalty_one2many .o_kanban_record [name='reward_info']",
            run() {
                const cards = document.querySelectorAll(
                    ".o_field_loyalty_one2many .o_kanban_record:not(.o_kanban_ghost) [name='reward_info']"
                );
                const blank = [...cards].filter((card) => !card.innerText.trim());
                if (cards.length < 3 || blank.length) {
                    throw new Error(`${blank.length} of ${cards.length} reward cards are blank`);
                }
            },
        },
        {
            content: "open the experience to edit it",
            trigger: ".o_field_loyalty_one2many .o_kanban_record:contains('LCA Cooking Class')",
            run: "click",
        },
        {
            content: "the reward form shows the tiers once",
            trigger: ".modal .o_form_view:has(.o_field_widget[name='tier_ids'])",
            run() {
                const count = document.querySelectorAll(".modal .o_form_view div[name='tier_ids']").length;
                if (count !== 1) {
                    throw new Error(`The reward form shows ${count} Tiers fields`);
                }
            },
        },
        {
            content: "rename it",
            trigger: ".modal .o_field_widget[name='description'] input",
            run: "edit LCA Cooking Class for Two",
        },
        {
            content: "save the reward",
            trigger: ".modal .o_form_button_save, .modal .modal-footer .btn-primary",
            run: "click",
        },
        {
            content: "the edited reward's card",
            trigger: ".o_field_loyalty_one2many .o_kanban_record:contains('LCA Cooking Class for Two')",
        },
        ...stepUtils.saveForm(),
    ],
});
