# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from . import loyalty_queue_job_mixin
from . import loyalty_ledger_line
from . import loyalty_member_event
from . import loyalty_tier
from . import res_partner
