# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Since 18.0.1.4.0 the member is the commercial partner in every channel: a
company's buyers earn and spend on the company's card. Membership cards that
buyers got before (their own orders earned on them) join their company's card
of the program, as Odoo's contact merge joins them: their balance (per lot
expiry date) and pending points move through ledger lines, the buyer's card is
archived and marked as merged into the company's, whose tier counts its
qualifying points. Every ledger line stays where it was."""

from odoo import SUPERUSER_ID, api

from odoo.addons.loyalty_crm_addon.models.loyalty_member_event import QUIET


def migrate(cr, version):
    # The move is no news to members: no tier email from an upgrade.
    env = api.Environment(cr, SUPERUSER_ID, {"loyalty_event_mute": QUIET})
    cards = env["loyalty.card"].search(
        [
            ("program_id.program_type", "=", "loyalty"),
            ("partner_id.parent_id", "!=", False),
        ]
    )
    buyers = cards.partner_id.filtered(lambda p: p != p.commercial_partner_id)
    Merge = env["base.partner.merge.automatic.wizard"]
    for company, contacts in buyers.grouped("commercial_partner_id").items():
        Merge._loyalty_merge_membership_cards(
            contacts,
            company,
            description=env._(
                "Points of %s's contacts are the company's", company.display_name
            ),
        )
