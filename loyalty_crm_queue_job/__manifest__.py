# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "Loyalty CRM - Job Queue",
    "summary": "Loyalty CRM's batch work as OCA queue jobs, shared by servers",
    "version": "18.0.1.0.0",
    "category": "Sales/Loyalty",
    "website": "https://github.com/loyalty-crm/loyalty_crm_addon",
    "author": "Loyalty CRM contributors",
    "license": "LGPL-3",
    "depends": ["loyalty_crm_addon", "queue_job"],
    "data": ["data/queue_job_data.xml"],
    "auto_install": True,
    "installable": True,
}
