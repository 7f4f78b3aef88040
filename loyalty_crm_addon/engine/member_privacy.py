# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What members' privacy touches, model-free: the loyalty models holding
member data and the contact's personal fields. The export and erasure are
methods of ``res.partner`` (models/res_partner_privacy.py)."""

ERASED = "[erased]"
# Loyalty models holding member data, with the fields linking them to the
# member; those of other features are used when installed.
PRIVACY_MODELS = {
    "loyalty.ledger.line": ("partner_id",),
    "loyalty.member.event": ("partner_id",),
    "loyalty.referral": ("referrer_id", "referee_id", "referee_commercial_id"),
    "loyalty.reward.claim": ("partner_id",),
    "loyalty.balance.import.line": ("partner_id",),
}
# Personal fields of the contact cleared on erasure.
PARTNER_FIELDS = (
    "email",
    "phone",
    "mobile",
    "street",
    "street2",
    "zip",
    "city",
    "website",
    "function",
    "comment",
    "ref",
    "loyalty_birthday",
    "image_1920",
)
