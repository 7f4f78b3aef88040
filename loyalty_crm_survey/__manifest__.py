# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "Loyalty CRM - Surveys",
    "summary": "After-purchase NPS survey: members' answers become loyalty feedback",
    "version": "18.0.1.0.0",
    "category": "Sales/Loyalty",
    "website": "https://github.com/loyalty-crm/loyalty_crm_addon",
    "author": "Loyalty CRM contributors",
    "license": "LGPL-3",
    "depends": ["loyalty_crm_addon", "survey"],
    "data": [
        "data/loyalty_survey_data.xml",
        "views/loyalty_program_views.xml",
        "views/survey_user_input_views.xml",
    ],
    "post_init_hook": "post_init_hook",
    "auto_install": True,
    "installable": True,
}
