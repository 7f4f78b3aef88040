# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The one definition of "expiring soon" (a member's figures themselves are
``loyalty.card._loyalty_figures``)."""

# "Expiring soon", the one definition (contact figures and filter, member
# events, till): posted points still open in lots that expire from today to
# the end of the program's expiry warning period (0: never). On ledger
# lines ``l`` of programs ``pr``.
EXPIRING_SOON_SQL = """
    l.points_residual > 0 AND l.state = 'posted'
    AND pr.loyalty_expiry_warning_days > 0
    AND l.expiry_date >= %(today)s
    AND l.expiry_date <= %(today)s::date + pr.loyalty_expiry_warning_days
"""
