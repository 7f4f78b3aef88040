from . import loyalty_ledger_adjust
