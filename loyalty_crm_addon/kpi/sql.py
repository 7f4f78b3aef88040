# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""SQL fragments shared by the reports, the KPI engine and the scoring."""

# The orders the loyalty KPIs count: confirmed sales orders and paid POS
# orders, untaxed, refunds (negative POS orders) left out. The customer is
# the order's partner, the one whose card native Odoo credits. ``id`` is the
# order key (2 × the sales order's id, 2 × the POS order's id + 1),
# ``src_id`` the order's own id (an index probe for a few given orders).
ORDERS_SQL = """
    SELECT so.id * 2 AS id, 'sale' AS channel, so.name AS name,
           so.date_order AS date, so.company_id, so.partner_id,
           so.amount_untaxed AS amount, so.id AS src_id
      FROM sale_order so
     WHERE so.state = 'sale'
    UNION ALL
    SELECT po.id * 2 + 1, 'pos', po.name, po.date_order, po.company_id,
           po.partner_id, po.amount_total - po.amount_tax, po.id
      FROM pos_order po
     WHERE po.state IN ('paid', 'done', 'invoiced')
       AND po.amount_total - po.amount_tax >= 0
"""

# Reversals carry the ``tier_qualifying`` flag of the line they reverse, so
# the kind of a reversal is known without joining it: issued points are
# earn, bonus and referral lines and their reversals, redeemed points are
# redeem lines and their reversals (points given back).
ISSUED_SQL = "CASE WHEN l.tier_qualifying THEN l.points ELSE 0 END"
REDEEMED_SQL = (
    "CASE WHEN l.entry_type = 'redeem' OR (l.entry_type = 'reversal'"
    " AND NOT COALESCE(l.tier_qualifying, FALSE)) THEN -l.points ELSE 0 END"
)
