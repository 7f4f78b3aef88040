# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models

from .base_automation import ONE_RECORD


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
