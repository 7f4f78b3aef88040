/* License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl). */
import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

// Data made by loyalty_crm_addon/tests/test_manager_tour.py (TestLoyaltyManagerTour).
const MEMBER = "LCA Tour Gold Member"; // 1,250 points, Gold
const HALF = "LCA Tour Half Member"; // 12.50 points

/** Open a top menu of the Loyalty app, or a menu of one of its dropdowns. */
function openMenu(xmlid, parent = false) {
    const steps = [];
    if (parent) {
        steps.push({
            content: `open the ${parent} menu`,
            trigger: `.o_menu_sections button[data-menu-xmlid='loyalty_crm_addon.${parent}']`,
            run: "click",
        });
    }
    steps.push({
        content: `open ${xmlid}`,
        trigger: `${parent ? ".o-dropdown--menu" : ".o_menu_sections"} [data-menu-xmlid='loyalty_crm_addon.${xmlid}']`,
        run: "click",
    });
    return steps;
}

function shows(content, trigger) {
    return { content, trigger };
}

function switchView(type) {
    return { content: `switch to the ${type} view`, trigger: `.o_switch_view.o_${type}`, run: "click" };
}

registry.category("web_tour.tours").add("loyalty_crm_manager_menu", {
    url: "/odoo",
    steps: () =>
        [
            stepUtils.showAppsMenuItem(),
            {
                content: "open the Loyalty app",
                trigger: ".o_app[data-menu-xmlid='loyalty_crm_addon.menu_loyalty_crm_root']",
                run: "click",
            },
            // Members: kanban then list, balance as people write it.
            shows(
                "the members kanban shows the member's tier and balance",
                `.o_kanban_record:contains('${MEMBER}'):contains('Gold'):contains('1,250 points')`
            ),
            shows(
                "no decimals on whole points",
                `.o_kanban_view:not(:has(.o_kanban_record:contains('1,250.00')))`
            ),
            shows("decimals when the points have them", `.o_kanban_record:contains('${HALF}'):contains('12.50 points')`),
            switchView("list"),
            shows(
                "the members list shows the balance",
                `.o_data_row:contains('${MEMBER}') td[name='loyalty_balance']:contains('1,250'):not(:contains('.'))`
            ),
            ...openMenu("menu_loyalty_members_at_risk", "menu_loyalty_members_root"),
            shows("members at risk", `.o_data_row:contains('${MEMBER}')`),
            ...openMenu("menu_loyalty_cards", "menu_loyalty_members_root"),
            shows(
                "the member's card and its balance",
                `.o_data_row:contains('${MEMBER}'):contains('Gold') td[name='points']:contains('1,250'):not(:contains('.'))`
            ),
            ...openMenu("menu_loyalty_ledger", "menu_loyalty_points_root"),
            shows("the ledger lists the adjustment", `.o_data_row:contains('${MEMBER}'):contains('Welcome gift')`),
            ...openMenu("menu_loyalty_reward_catalog", "menu_loyalty_points_root"),
            shows("the reward catalog shows the program's reward", ".o_kanban_record:contains('LCA Tour Voucher')"),
            ...openMenu("menu_loyalty_reward_claims", "menu_loyalty_points_root"),
            shows("the claim of the member", `.o_data_row:contains('${MEMBER}'):contains('LCA Tour Voucher')`),
            ...openMenu("menu_loyalty_member_events", "menu_loyalty_points_root"),
            shows("the tier upgrade event", `.o_data_row:contains('${MEMBER}'):contains('Tier Upgrade')`),
            ...openMenu("menu_loyalty_referrals", "menu_loyalty_members_root"),
            shows("the referral the member brought", `.o_data_row:contains('${MEMBER}'):contains('LCA Tour Friend')`),
            // Reporting
            ...openMenu("menu_loyalty_dashboard", "menu_loyalty_reporting"),
            shows("the dashboard shows figures", ".o_loyalty_dashboard"),
            ...openMenu("menu_loyalty_reporting_ledger", "menu_loyalty_reporting"),
            shows("points analysis opens as a graph", ".o_graph_renderer canvas"),
            switchView("pivot"),
            shows("and as a pivot", ".o_pivot table .o_pivot_header_cell_closed"),
            ...openMenu("menu_loyalty_reporting_tiers", "menu_loyalty_reporting"),
            shows("tier distribution graph", ".o_graph_renderer canvas"),
            ...openMenu("menu_loyalty_reporting_advocates", "menu_loyalty_reporting"),
            shows("top advocates graph", ".o_graph_renderer canvas"),
            // Configuration
            ...openMenu("menu_loyalty_settings", "menu_loyalty_configuration"),
            shows("the loyalty settings", ".o_action:contains('Membership Program')"),
            ...openMenu("menu_loyalty_programs", "menu_loyalty_configuration"),
            shows("the membership program", ".o_data_row:contains('LCA Tour Club'), .o_kanban_record:contains('LCA Tour Club')"),
            ...openMenu("menu_loyalty_tiers", "menu_loyalty_configuration"),
            shows("the tiers", ".o_data_row:contains('Gold')"),
            ...openMenu("menu_loyalty_automation_rules", "menu_loyalty_configuration"),
            {
                content: "the shipped loyalty rules, by purpose",
                trigger: ".o_data_row td[name='name']:contains('Loyalty: tier upgrade')",
                run: "click",
            },
            shows(
                "the rule's follow-up is a no-code Create Activity action",
                ".o_form_view [name='action_server_ids'] [data-name='server_action_icon'].fa-clock-o"
            ),
            shows(
                "and its email a no-code Send Email action",
                ".o_form_view [name='action_server_ids'] [data-name='server_action_icon'].fa-envelope"
            ),
            ...openMenu("menu_loyalty_balance_import", "menu_loyalty_configuration"),
            shows("the balance import", ".o_action:contains('Import')"),
        ].flat(),
});
