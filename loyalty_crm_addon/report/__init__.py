from . import loyalty_report_order
from . import loyalty_report_points
from . import loyalty_report_tier_snapshot
