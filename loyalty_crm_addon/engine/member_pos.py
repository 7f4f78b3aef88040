# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The till's member search and member panel, on the server: a shop with
many members never loads them all into the till. The public entries are
``res.partner.loyalty_pos_find`` (the till's one call),
``loyalty_pos_search`` and ``loyalty_pos_member_info``; they check the
input, this module finds and describes the members."""

from odoo import fields
from odoo.tools import SQL
from odoo.tools.sql import create_index

from .ledger import PRECISION

POS_SEARCH_LIMIT = 30
MAX_POS_QUERY = 128
# What a cashier types the start of, lower-cased (the name also from its
# second and from its third word: a surname), with the rows each index
# holds.
POS_SEARCH_COLUMNS = ("name", "phone", "mobile", "email")
POS_SEARCH_KEYS = {
    **{column: (f"lower({column})", "") for column in POS_SEARCH_COLUMNS},
    "name_word2": (r"regexp_replace(lower(name), '^\S+\s+', '')", "name ~ ' '"),
    "name_word3": (
        r"regexp_replace(lower(name), '^\S+\s+\S+\s+', '')",
        "name ~ ' .* '",
    ),
}


def create_indexes(cr, has_trigram):
    """The indexes of the search: the start of each key, lower-cased, by a
    btree in byte order (COLLATE "C": prefix search and the order of its
    results by the same index, whatever the database's collation); a word
    anywhere in the name by trigrams; a barcode of a company in its
    jsonb."""
    for column in POS_SEARCH_COLUMNS:
        # Indexes of the first version (text_pattern_ops).
        cr.execute(
            SQL(
                "DROP INDEX IF EXISTS %s",
                SQL.identifier(f"res_partner_loyalty_pos_{column}_prefix"),
            )
        )
    for name, (expression, where) in POS_SEARCH_KEYS.items():
        create_index(
            cr,
            f"res_partner_loyalty_pos_{name}_key",
            "res_partner",
            [f'({expression}) COLLATE "C"', "id"],
            where=where,
        )
    create_index(
        cr,
        "res_partner_loyalty_pos_barcode",
        "res_partner",
        ["barcode jsonb_path_ops"],
        "gin",
        where="barcode IS NOT NULL",
    )
    if has_trigram:
        create_index(
            cr,
            "res_partner_loyalty_pos_name_trgm",
            "res_partner",
            ["lower(name) gin_trgm_ops"],
            "gin",
        )


def _search_keys(query):
    """Only the keys ``query`` can be the start of: a phone number has no
    letter, a name no "@"."""
    if "@" in query:
        return ("email",)
    if not any(char.isalpha() for char in query):
        return ("phone", "mobile")
    return ("name", "name_word2", "name_word3", "email")


def pos_search(Partner, query, config, offset, limit):
    """Ids of the partners found for ``query`` (a stripped, non-empty
    text): first those holding it as a whole card code, referral code or
    barcode (of the till's company); then those whose name (or its second
    or third word), phone, mobile or email starts with it, in the order of
    what matched; a word further in the name only when nothing else
    matched. One statement; each branch reads its own index in order and
    stops at ``offset + limit`` rows, so that a page costs the same with
    100,000 matches as with one. The user's access rules apply."""
    company = config.company_id.id
    escaped = (
        query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    )
    prefix = escaped + "%"
    # Each branch gives its first rows by its key (filters applied): the
    # first rows of their union by (rank, key) are the right ones.
    top = offset + limit
    kept = SQL("p.active AND (p.company_id IS NULL OR p.company_id = %s)", company)

    def branch(rank, key, condition):
        return SQL(
            "(SELECT p.id, %(key)s AS key, %(rank)s AS rank FROM res_partner p"
            " WHERE %(condition)s AND %(kept)s ORDER BY %(key)s, p.id"
            " LIMIT %(top)s)",
            key=key,
            rank=rank,
            condition=condition,
            kept=kept,
            top=top,
        )

    name_key = SQL('lower(p.name) COLLATE "C"')
    branches = [
        branch(
            0,
            name_key,
            SQL(
                "p.id IN (SELECT c.partner_id FROM loyalty_card c"
                " WHERE c.code = %s AND c.active AND c.partner_id IS NOT NULL"
                " AND (c.company_id IS NULL OR c.company_id = %s))",
                query,
                company,
            ),
        ),
        branch(
            0,
            name_key,
            SQL(
                "p.barcode IS NOT NULL AND p.barcode @> jsonb_build_object(%s, %s)",
                str(company),
                query,
            ),
        ),
        branch(0, name_key, SQL("p.loyalty_referral_code = %s", query)),
    ]
    keys = _search_keys(query)
    for name in keys:
        expression, where = POS_SEARCH_KEYS[name]
        key = SQL(f'({expression}) COLLATE "C"')
        condition = SQL("%s LIKE %s", key, prefix)
        if where:
            condition = SQL(f"{where} AND %s", condition)
        branches.append(branch(1, key, condition))
    found = SQL("SELECT id, key, rank FROM hits")
    if Partner.env.registry.has_trigram and len(query) >= 3 and "name" in keys:
        # Costly on common words: only when nothing else matched (a
        # one-time filter: the scan is skipped otherwise).
        found = SQL(
            "%s UNION ALL (SELECT p.id, %s, 2 FROM res_partner p"
            " WHERE NOT EXISTS (SELECT 1 FROM hits)"
            " AND lower(p.name) LIKE %s AND %s ORDER BY 2, p.id LIMIT %s)",
            found,
            name_key,
            "% " + prefix,
            kept,
            top,
        )
    Partner.flush_model()
    Partner.env["loyalty.card"].flush_model(
        ["code", "active", "partner_id", "company_id"]
    )
    rows = Partner.env.execute_query(
        SQL(
            """
            WITH hits AS MATERIALIZED (%(branches)s)
            SELECT id FROM (%(found)s) f
             GROUP BY id
             ORDER BY min(rank), min(key), id
             LIMIT %(limit)s OFFSET %(offset)s
            """,
            branches=SQL(" UNION ALL ").join(branches),
            found=found,
            limit=limit,
            offset=offset,
        )
    )
    found_ids = [row[0] for row in rows]
    if not found_ids:
        return []
    allowed = set(Partner._search([("id", "in", found_ids)]))
    return [pid for pid in found_ids if pid in allowed]


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


def till_member_cards(env, data):
    """A till's ``confirm_coupon_programs`` data ({card id: values}) with
    the new membership cards it makes for a company's buyer given to the
    company: its existing card of the program replaces the till's new one
    (returned {card id: the till's id}), else the card is made for it."""
    new = {
        k: v
        for k, v in data.items()
        if k < 0 and v.get("partner_id") and not v.get("giftCardId")
    }
    programs = (
        env["loyalty.program"]
        .sudo()
        .browse({v["program_id"] for v in new.values()})
        .filtered(lambda p: p.program_type == "loyalty")
    )
    new = {k: v for k, v in new.items() if v["program_id"] in programs.ids}
    if not new:
        return data, {}
    Partner = env["res.partner"].sudo()
    members = {
        p.id: p.commercial_partner_id.id
        for p in Partner.browse({v["partner_id"] for v in new.values()}).exists()
    }
    cards = (
        env["loyalty.card"]
        .sudo()
        .search(
            [
                ("program_id", "in", programs.ids),
                ("partner_id", "in", list(set(members.values()))),
            ],
            order="id desc",
        )
    )
    existing = {(c.program_id.id, c.partner_id.id): c.id for c in cards}
    data, renamed = dict(data), {}
    for key, vals in new.items():
        member_id = members.get(vals["partner_id"])
        if not member_id:
            continue
        card_id = existing.get((vals["program_id"], member_id))
        if card_id and card_id not in data:
            del data[key]
            data[card_id] = dict(vals, partner_id=member_id)
            renamed[card_id] = key
        else:
            data[key] = dict(vals, partner_id=member_id)
    return data, renamed
