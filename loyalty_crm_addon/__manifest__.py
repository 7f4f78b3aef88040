# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "Loyalty CRM",
    "summary": "Points ledger, tiers, referrals and CRM automation on Odoo's loyalty programs",
    "version": "18.0.1.0.0",
    "category": "Sales/Loyalty",
    "website": "https://github.com/loyalty-crm/loyalty_crm_addon",
    "author": "Loyalty CRM contributors",
    "license": "LGPL-3",
    "depends": [
        "sale_management",
        "point_of_sale",
        "loyalty",
        "sale_loyalty",
        "pos_loyalty",
        "crm",
        "mass_mailing",
        "base_automation",
    ],
    "data": [
        "security/loyalty_crm_security.xml",
        "security/ir.model.access.csv",
        "data/ir_cron_data.xml",
        "wizard/loyalty_ledger_adjust_views.xml",
        "views/loyalty_ledger_line_views.xml",
        "views/loyalty_card_views.xml",
        "views/loyalty_program_views.xml",
        "views/loyalty_tier_views.xml",
        "views/res_partner_views.xml",
        "views/sale_order_views.xml",
        "views/pos_order_views.xml",
        "views/res_config_settings_views.xml",
        "views/loyalty_crm_menus.xml",
    ],
    "demo": [
        "demo/loyalty_crm_demo.xml",
    ],
    "assets": {
        "point_of_sale._assets_pos": [
            "loyalty_crm_addon/static/src/overrides/**/*",
        ],
        "web.assets_tests": [
            "loyalty_crm_addon/static/tests/tours/**/*",
        ],
    },
    "post_init_hook": "post_init_hook",
    "installable": True,
    "application": False,
}
