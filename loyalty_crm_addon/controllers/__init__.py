from . import loyalty_history
from . import portal
from . import portal_privacy
from . import portal_rewards
from . import portal_engagement
