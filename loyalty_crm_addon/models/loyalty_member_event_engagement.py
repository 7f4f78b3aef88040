# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models


class LoyaltyMemberEvent(models.Model):
    """Engagement events: an achievement reached, a promoter's feedback
    (NPS 9-10). Achievements' progress of the members whose ledger moved is
    computed by the processing, before the rules run."""

    _inherit = "loyalty.member.event"  # pylint: disable=consider-merging-classes-inherited

    event_type = fields.Selection(
        selection_add=[
            ("achievement", "Achievement Reached"),
            ("promoter", "Promoter Feedback"),
        ],
        ondelete={"achievement": "cascade", "promoter": "cascade"},
    )
    achievement_id = fields.Many2one(
        "loyalty.achievement", ondelete="set null", readonly=True
    )
    feedback_id = fields.Many2one(
        "loyalty.feedback", ondelete="set null", readonly=True
    )

    @api.model
    def _cron_process_events(self, batch_size=1000, max_batches=0):
        # Progress first: the achievements it completes record events that
        # this run processes.
        self.env["loyalty.achievement"]._loyalty_process_due(batch_size)
        return super()._cron_process_events(
            batch_size=batch_size, max_batches=max_batches
        )
