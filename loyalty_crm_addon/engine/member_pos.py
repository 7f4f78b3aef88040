# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Model-free parts of the till's member search: its keys, their indexes,
which keys a query can be the start of. The search, the member panel and
the till's new cards are methods of ``res.partner``
(models/res_partner_till.py)."""

from odoo.tools import SQL
from odoo.tools.sql import create_index

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


def search_keys(query):
    """Only the keys ``query`` can be the start of: a phone number has no
    letter, a name no "@"."""
    if "@" in query:
        return ("email",)
    if not any(char.isalpha() for char in query):
        return ("phone", "mobile")
    return ("name", "name_word2", "name_word3", "email")
