# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models

from .base_automation import ONE_RECORD
from .ir_model import LOYALTY_SMS_MODELS


class IrActionsServer(models.Model):
    _inherit = "ir.actions.server"

    def _loyalty_runs_per_record(self):
        """Whether the action must run once per record when a loyalty rule
        runs on a batch of member events: Execute Code that names
        ``record`` (one record; ``records`` is the batch), itself or in a
        child action. The other types run on the batch (``run`` loops over
        the records for those that act on one)."""
        self.ensure_one()
        if self.state == "code":
            return bool(ONE_RECORD.search(self.code or ""))
        if self.state == "multi":
            return any(child._loyalty_runs_per_record() for child in self.child_ids)
        return False

    def _run_action_mail_post_multi(self, eval_context=None):
        """An email action on loyalty records renders its template for all
        of them at once (``send_mail_batch``: rendering and ``mail.mail``
        creation by batch) where Odoo's renders and queues one email per
        record; same emails, same consent gate (``mail.template``)."""
        res_ids = self._context.get("active_ids")
        if (
            self.mail_post_method != "email"
            or not self.template_id
            or not (self.model_name or "").startswith("loyalty.")
            or not res_ids
            or len(res_ids) < 2
            or self._is_recompute()
        ):
            return super()._run_action_mail_post_multi(eval_context=eval_context)
        ctx = dict(self.env.context)
        ctx.pop("default_type", None)
        ctx.pop("default_parent_id", None)
        ctx["mail_create_nosubscribe"] = True
        ctx["mail_post_autofollow"] = self.mail_post_autofollow
        # Odoo's cleaned context (keys removed, not only set)
        self.template_id.with_env(self.env(context=ctx)).send_mail_batch(
            res_ids, force_send=False, raise_exception=False
        )
        return False

    # ------------------------------------------------------------------
    # SMS on member events
    # ------------------------------------------------------------------
    @api.depends("state")
    def _compute_available_model_ids(self):
        """Member events (not a mail thread: no chatter) may send SMS too."""
        res = super()._compute_available_model_ids()
        event_model = self.env["ir.model"].search([("model", "in", LOYALTY_SMS_MODELS)])
        for action in self.filtered(lambda a: a.state == "sms"):
            action.available_model_ids |= event_model
        return res

    @api.constrains("state", "model_id")
    def _check_sms_model_coherency(self):
        # Odoo sends SMS on mail threads only; the member events send them
        # to their member (``_run_action_sms_multi`` below).
        return super(
            IrActionsServer,
            self.filtered(lambda a: a.model_id.model not in LOYALTY_SMS_MODELS),
        )._check_sms_model_coherency()

    def _run_action_sms_multi(self, eval_context=None):
        """An SMS action on loyalty records (the member events of the
        shipped SMS rules) texts only the members who opted in to loyalty
        SMS and have a valid mobile number (``_loyalty_can_sms``); the
        others get nothing, not even a cancelled SMS. The SMS are queued
        (``sms.sms``, state ``outgoing``) for Odoo's SMS queue, in one
        batch; loyalty records have no chatter to log them in."""
        records = eval_context and (
            eval_context.get("records") or eval_context.get("record")
        )
        if (
            not self.sms_template_id
            or not records
            or not records._name.startswith("loyalty.")
            or "partner_id" not in records._fields
            or self._is_recompute()
        ):
            return super()._run_action_sms_multi(eval_context=eval_context)
        allowed = records.partner_id._loyalty_can_sms()
        records = records.filtered(lambda r: r.partner_id in allowed)
        if not records:
            return False
        composer = (
            self.env["sms.composer"]
            .with_context(
                default_res_model=records._name,
                default_res_ids=records.ids,
                default_composition_mode="mass",
                default_template_id=self.sms_template_id.id,
                default_mass_keep_log=False,
            )
            .create({})
        )
        composer.action_send_sms()
        return False
