from . import test_ledger
from . import test_tiers
from . import test_pos_tour
from . import test_automation
from . import test_referral
from . import test_portal
from . import test_referral_pos
