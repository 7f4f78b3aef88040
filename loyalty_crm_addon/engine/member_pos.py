# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The till's member search and member panel, on the server: a shop with
many members never loads them all into the till. The public entries are
``res.partner.loyalty_pos_search`` and ``loyalty_pos_member_info``; they
check the input, this module finds and describes the members."""

from odoo import fields
from odoo.tools import SQL

from .ledger import PRECISION

POS_SEARCH_LIMIT = 30
POS_SEARCH_COLUMNS = ("name", "phone", "mobile", "email")
MAX_POS_QUERY = 128


def pos_holders(Partner, query, config):
    """Partners whose barcode, membership card code or referral code is
    ``query``."""
    holders = (
        Partner.env["loyalty.card"]
        .sudo()
        .search_fetch(
            [
                ("code", "=", query),
                ("partner_id", "!=", False),
                ("company_id", "in", [False, config.company_id.id]),
            ],
            ["partner_id"],
            limit=5,
        )
        .partner_id
    )
    holders |= Partner.search_fetch([("barcode", "=", query)], ["id"], limit=5)
    if "loyalty_referral_code" in Partner._fields:
        holders |= Partner.sudo().search_fetch(
            [("loyalty_referral_code", "=", query)], ["id"], limit=5
        )
    return holders


def pos_search(Partner, query, config, offset, limit):
    """Ids of the partners whose name (or a word of it), phone, mobile or
    email starts with ``query`` (a stripped, non-empty text), or who hold
    it as a whole barcode, card code or referral code; by index, in name
    order, within the user's access rules."""
    escaped = (
        query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    )
    prefix = escaped + "%"
    matches = SQL(" OR ").join(
        SQL("lower(p.%s) LIKE %s", SQL.identifier(column), prefix)
        for column in POS_SEARCH_COLUMNS
    )
    holders = pos_holders(Partner, query, config)
    rows = Partner.env.execute_query(
        SQL(
            """
            SELECT p.id FROM res_partner p
             WHERE p.active
               AND (p.company_id IS NULL OR p.company_id = %(company)s)
               AND (%(matches)s
                    OR lower(p.name) LIKE %(word)s
                    OR p.id = ANY(%(holders)s))
             ORDER BY p.name, p.id
             LIMIT %(limit)s OFFSET %(offset)s
            """,
            company=config.company_id.id,
            matches=matches,
            word="% " + prefix,
            holders=holders.ids,
            limit=limit,
            offset=offset,
        )
    )
    # The user's access rules apply to what is returned.
    found = Partner.browse(row[0] for row in rows)
    allowed = set(Partner.search([("id", "in", found.ids)]).ids)
    return [pid for pid in found.ids if pid in allowed]


def member_info(partners, config):
    """Standing of the partners at the till, as plain values keyed by
    partner id (str)."""
    program = config.company_id.loyalty_membership_program_id
    result = {}
    for partner in partners:
        card = partner.loyalty_card_id
        info = {
            "partner_id": partner.id,
            "is_member": bool(card) and bool(program),
            "program_id": program.id,
            "can_enroll": bool(program)
            and not card
            and partner.commercial_partner_id.active,
        }
        if info["is_member"]:
            tier = partner.loyalty_tier_id
            next_tier = partner.loyalty_next_tier_id
            qualifying = partner.loyalty_tier_points
            progress = 100.0
            if next_tier and next_tier.threshold:
                progress = max(
                    0.0, min(100.0, 100.0 * qualifying / next_tier.threshold)
                )
            info.update(
                {
                    "card_id": card.id,
                    "card_code": card.code or "",
                    "point_name": program.portal_point_name or "",
                    "balance": round(partner.loyalty_balance, PRECISION),
                    "pending": round(partner.loyalty_pending_balance, PRECISION),
                    "tier": tier.name or "",
                    "tier_color": tier.color or 0,
                    "next_tier": next_tier.name or "",
                    "points_to_next_tier": round(
                        partner.loyalty_points_to_next_tier, PRECISION
                    ),
                    "tier_progress": round(progress, 1),
                    "expiring": round(partner.loyalty_expiring_points, PRECISION),
                    "expiry_date": fields.Date.to_string(
                        partner.loyalty_next_expiry_date
                    )
                    or "",
                }
            )
        result[str(partner.id)] = info
    return result
