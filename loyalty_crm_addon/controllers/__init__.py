from . import loyalty_history
from . import portal
