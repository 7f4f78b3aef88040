# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Segments, churn scores and points habits moved from columns of
``res_partner`` to the narrow ``loyalty_member_score`` table (the model
``loyalty.member.score`` since 18.0.1.4.0, whose id is the member's; created
before this runs): the scores already computed are carried over, then the
old columns (and the segment index) are dropped."""

COLUMNS = (
    "loyalty_segment",
    "loyalty_churn_score",
    "loyalty_churn_reason",
    "loyalty_points_habit",
)


def migrate(cr, version):
    cr.execute(
        """
        SELECT COUNT(*) FROM information_schema.columns
         WHERE table_name = 'res_partner' AND column_name = ANY(%s)
        """,
        [list(COLUMNS)],
    )
    if cr.fetchone()[0] != len(COLUMNS):
        return
    cr.execute(
        """
        INSERT INTO loyalty_member_score (
            id, partner_id, segment, churn_score, churn_reason, points_habit)
        SELECT id, id, loyalty_segment, loyalty_churn_score, loyalty_churn_reason,
               loyalty_points_habit
          FROM res_partner
         WHERE loyalty_segment IS NOT NULL OR loyalty_points_habit IS NOT NULL
        ON CONFLICT DO NOTHING
        """
    )
    cr.execute(
        "ALTER TABLE res_partner "
        + ", ".join(f"DROP COLUMN IF EXISTS {column}" for column in COLUMNS)
    )
