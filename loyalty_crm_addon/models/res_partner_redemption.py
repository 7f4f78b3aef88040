# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
import weakref

from odoo import models
from odoo.exceptions import UserError
from odoo.service.model import MAX_TRIES_ON_CONCURRENCY_FAILURE

_logger = logging.getLogger(__name__)
# Conflicts on a card met by the request of a cursor (the RPC dispatcher
# retries a request on its cursor).
BUSY_TRIES = weakref.WeakKeyDictionary()


class ResPartner(models.Model):
    """The redemption's hot path (``loyalty_redeem_points``): what it reads
    of the user, and what it answers when other redemptions hold the card."""

    # res.partner is extended per capability, each in its own file.
    _inherit = "res.partner"  # pylint: disable=consider-merging-classes-inherited

    def _loyalty_with_tz(self):
        """These records with the user's time zone in their context (the
        context's, else the user's, read with one small query when the user
        is not loaded yet: a redemption reads nothing else of the user)."""
        if self.env.context.get("tz"):
            return self
        user = self.env.user
        if self.env.cache.contains(user, user._fields["partner_id"]):
            return self.with_context(tz=user.tz)
        self.env.cr.execute(
            """
            SELECT p.tz FROM res_users u JOIN res_partner p ON p.id = u.partner_id
             WHERE u.id = %s
            """,
            [user.id],
        )
        row = self.env.cr.fetchone()
        return self.with_context(tz=(row and row[0]) or "UTC")

    def _loyalty_busy(self, error):
        """What a redemption that met a concurrent one on the same card
        raises: the database's error, which the RPC dispatcher answers by
        running the call again in a new transaction (it then waits its
        turn), as long as the dispatcher still retries; a clear "try again"
        instead of the raw database error when this is the dispatcher's
        last try (counted per cursor: one request, retried on it).
        Nothing is written either way."""
        cr = self.env.cr
        tries = BUSY_TRIES[cr] = BUSY_TRIES.get(cr, 0) + 1
        if tries < MAX_TRIES_ON_CONCURRENCY_FAILURE:
            return error
        BUSY_TRIES.pop(cr, None)
        _logger.info("Loyalty redemption: card busy after %s tries", tries)
        return UserError(
            self.env._(
                "This member's points are being used by other redemptions at "
                "this very moment: nothing was spent. Please try again."
            )
        )
