# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import re

from odoo import fields, models

from .loyalty_member_event import PROCESSING, PROCESSING_KEY

# Code that names ``record`` (one record) runs once per record; code that
# only uses ``records`` runs once for the batch.
ONE_RECORD = re.compile(r"\brecord\b")


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

    def _process(self, records, domain_post=None):
        """In the processing of member events, each action of the rule runs
        once for the batch of events (``active_ids``: the events), not once
        per event as base_automation does: an email action renders its
        template for the batch and queues its emails in one go, an activity
        action plans them in one go. ``ir.actions.server.run`` still runs
        the action types that act on one record (create a record, update,
        webhook...) record by record, and an Execute Code action that names
        ``record`` runs per event; whatever staff configure behaves as
        before. A failing batch is run again event by event by the
        processing."""
        if (
            records._name != "loyalty.member.event"
            or self.env.context.get(PROCESSING_KEY) is not PROCESSING
        ):
            return super()._process(records, domain_post=domain_post)
        self.ensure_one()
        # base_automation's bookkeeping of what ran, as in ``_process``
        automation_done = self._context.get("__action_done", {})
        records_done = automation_done.get(self, records.browse())
        records -= records_done
        if not records:
            return
        if self.env.context.get("__action_feedback"):
            automation_done[self] = records_done + records
        else:
            automation_done = dict(automation_done)
            automation_done[self] = records_done + records
            self = self.with_context(__action_done=automation_done)
            records = records.with_context(__action_done=automation_done)
        records = records.filtered(self._check_trigger_fields)
        automation_done[self] = records_done + records
        if not records:
            return
        if "date_automation_last" in records._fields:
            records.date_automation_last = fields.Datetime.now()
        batch = {
            "active_model": records._name,
            "active_ids": records.ids,
            "active_id": records[:1].id,
            "domain_post": domain_post,
        }
        for action in self.sudo().action_server_ids:
            if action._loyalty_runs_per_record():
                contexts = [
                    dict(batch, active_ids=record.ids, active_id=record.id)
                    for record in records
                ]
            else:
                contexts = [batch]
            for ctx in contexts:
                try:
                    action.with_context(**ctx).run()
                except Exception as e:
                    self._add_postmortem(e)
                    raise
