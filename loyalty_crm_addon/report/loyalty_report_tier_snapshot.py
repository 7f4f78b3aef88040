# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

from ..kpi.scoring import BACKFILL_SQL, SEGMENTS


class LoyaltyReportTierSnapshot(models.Model):
    """Members per tier and segment, one snapshot per month: the segment
    cron refreshes the current month's rows, earlier months stay as they
    were, so the tier distribution can be followed over time."""

    _name = "loyalty.report.tier.snapshot"
    _description = "Loyalty Members per Tier over Time"
    _order = "month desc, program_id, tier_id"
    _check_company_auto = True

    month = fields.Date(required=True, index=True, readonly=True)
    program_id = fields.Many2one(
        "loyalty.program", required=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one("res.company", index=True, readonly=True)
    tier_id = fields.Many2one("loyalty.tier", ondelete="cascade", readonly=True)
    segment = fields.Selection(SEGMENTS, readonly=True)
    member_count = fields.Integer(string="Members", readonly=True)

    @api.model
    def _loyalty_backfill(self, months=12):
        """Rebuild the months before the first snapshot from the ledger, for
        the companies' membership programs (managers; run once after
        installing on a database with history)."""
        if not self.env.su and not self.env.user.has_group(
            "loyalty_crm_addon.group_loyalty_manager"
        ):
            raise AccessError(self.env._("Only loyalty managers rebuild reports."))
        today = fields.Date.context_today(self)
        programs = (
            self.env["res.company"]
            .sudo()
            .search([("loyalty_membership_program_id", "!=", False)])
            .loyalty_membership_program_id
        )
        return sum(
            self._loyalty_backfill_program(program, today, months)
            for program in programs
        )

    @api.model
    def _loyalty_backfill_program(self, program, today, months=12):
        """Snapshots of the months before the first one, rebuilt from the
        ledger: the tier each member's qualifying points gave at the month's
        end (grace periods are not replayed; segments are unknown). Months
        that have a snapshot are left alone. Linear in cards × months: run
        it once after installing on an existing database."""
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                BACKFILL_SQL,
                today=today,
                months=months,
                program=program.id,
                uid=self.env.uid,
            )
        )
        self.env.invalidate_all()
        return self.env.cr.rowcount
