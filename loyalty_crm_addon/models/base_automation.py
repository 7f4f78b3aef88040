# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models

from .loyalty_member_event import PROCESSING, PROCESSING_KEY


class BaseAutomation(models.Model):
    _inherit = "base.automation"

    def _get_actions(self, records, triggers):
        """Rules on member events run in the events' processing only
        (``loyalty.member.event._loyalty_process``), each event in its own
        savepoint: an event is recorded inside a sale or a till order, and
        whatever rule staff add on events, with whatever trigger, must not
        run (nor fail) there. Outside the processing, base_automation's
        patched create, write and unlink find no rule for the model.
        The processing's mark is a Python object: an RPC context cannot
        carry it. Time-based rules run in base_automation's own cron, as
        ever, never in a business transaction."""
        if (
            records._name == "loyalty.member.event"
            and self.env.context.get(PROCESSING_KEY) is not PROCESSING
        ):
            if "__action_done" not in self.env.context:
                return self.with_context(__action_done={}).browse()
            return self.browse()
        return super()._get_actions(records, triggers)
