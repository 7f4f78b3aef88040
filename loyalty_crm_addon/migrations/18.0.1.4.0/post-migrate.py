# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""One history: a membership card's history is its ledger. Odoo's history
lines of membership cards are removed (``hooks.delete_membership_history``):
those written since the ledger exists repeat its lines, older ones are summed
up by the card's opening balance line, and none was shown or counted any
more. The uninstall hook gives Odoo history lines back from the ledger."""

import logging

from odoo.addons.loyalty_crm_addon.hooks import delete_membership_history

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    count = delete_membership_history(cr)
    _logger.info("One history: %s history lines of membership cards removed", count)
