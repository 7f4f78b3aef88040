from . import loyalty_ledger_adjust
from . import loyalty_card_update_balance
from . import loyalty_generate_wizard
from . import loyalty_balance_import
from . import privacy_lookup_wizard
from . import loyalty_reward_claim_wizard
from . import base_partner_merge
