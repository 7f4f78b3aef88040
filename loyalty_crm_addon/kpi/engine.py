# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Model-free parts of the loyalty KPIs: the figures' keys, the groups that
read every order of a channel, and the scope of a computation. The figures
are computed by the methods of ``loyalty.kpi.engine``
(models/loyalty_kpi_engine.py); definitions are in docs/kpis.md.
"""

from datetime import timedelta

# The group that reads every order of a channel (core's record rules: a
# salesperson without "All Documents" reads only their own sales orders).
CHANNEL_GROUPS = {
    "sale": "sales_team.group_sale_salesman_all_leads",
    "pos": "point_of_sale.group_pos_user",
}

KPI_KEYS = (
    "members",
    "inactive_rate",
    "repeat_purchase_rate_members",
    "repeat_purchase_rate_non_members",
    "avg_days_to_second_purchase_members",
    "redemption_rate",
    "member_revenue_share",
    "aov_members",
    "aov_non_members",
    "points_liability",
    "referral_conversion_rate",
    "nps",
    "nps_responses",
)


def ratio(num, den):
    return round(float(num) / float(den), 6) if den else 0.0


class KpiScope:
    """What the KPIs of one membership program cover: ``program`` over
    ``[date_from, date_to]`` (``end``: the day after), the orders and ledger
    lines of ``company_ids``, ``channel`` ``sale``, ``pos`` or falsy for
    both. ``aggregates`` False reads the raw orders and ledger lines (the
    same definitions; to check the aggregates against)."""

    __slots__ = (
        "aggregates",
        "channel",
        "company_ids",
        "date_from",
        "date_to",
        "end",
        "program",
    )

    def __init__(
        self, program, date_from, date_to, company_ids, channel=False, aggregates=True
    ):
        self.program = program
        self.date_from = date_from
        self.date_to = date_to
        self.end = date_to + timedelta(days=1)
        self.company_ids = list(company_ids)
        self.channel = channel or False
        self.aggregates = aggregates
