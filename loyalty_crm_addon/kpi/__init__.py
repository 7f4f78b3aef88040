# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Loyalty KPIs and member scoring: set-based SQL used by the reports, the
dashboard, the API and the segment cron (plain Python, beside models/)."""
