# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Settings of OCA's loyalty addons that only Sales honours.

The point of sale ignores them (there is no POS counterpart of these OCA
addons), and so does the till's points check of this addon, which computes
points as pos_loyalty's till does. On a membership program (type "loyalty",
whose points the ledger moves in every channel) they would make a member earn
or redeem differently in Sales and at the till: they are refused there, and
stay available on promotions, coupons and the other program types. None of
these addons is a dependency: the checks read their fields when they exist.
The constraints are on loyalty.program and loyalty.rule; the pre_init_hook
refuses to install the addon where a membership program already uses them.
"""

# (OCA addon, field of loyalty.program): set, it applies in Sales only
SALES_ONLY_PROGRAM_FIELDS = (
    ("loyalty_limit", "max_customer_application"),
    ("loyalty_limit", "salesmen_limit_ids"),
    ("loyalty_limit", "salesmen_strict_limit"),
    ("loyalty_partner_applicability", "partner_ids"),
    ("loyalty_partner_applicability", "partner_domain"),
)
# (OCA addon, field of loyalty.rule, value applying in Sales only)
SALES_ONLY_RULE_VALUES = (
    ("loyalty_criteria_multi_product", "loyalty_criteria", "multi_product"),
)


def sales_only_program_fields(model):
    """Names of the fields of ``SALES_ONLY_PROGRAM_FIELDS`` that exist."""
    return [name for _addon, name in SALES_ONLY_PROGRAM_FIELDS if name in model._fields]


def _is_set(value):
    if isinstance(value, str):  # a domain: "[]" restricts nothing
        return value.replace(" ", "") not in ("", "[]")
    return bool(value)


def sales_only_errors(programs):
    """Messages, one per membership program among ``programs`` that uses a
    setting only Sales honours (empty: none does)."""
    env = programs.env
    errors = []
    for program in programs.filtered(lambda p: p.program_type == "loyalty"):
        found = [
            (addon, program._fields[name]._description_string(env))
            for addon, name in SALES_ONLY_PROGRAM_FIELDS
            if name in program._fields and _is_set(program[name])
        ]
        found += [
            (addon, rule._fields[name]._description_string(env))
            for addon, name, value in SALES_ONLY_RULE_VALUES
            for rule in program.rule_ids
            if name in rule._fields and rule[name] == value
        ]
        for addon, setting in dict.fromkeys(found):
            errors.append(
                env._(
                    "%(program)s is a membership program: its points move "
                    "through the loyalty ledger in Sales and at the point of "
                    "sale alike, but '%(setting)s' (module %(module)s) is only "
                    "honoured in Sales, so members would earn or redeem "
                    "differently at the till. Leave it empty on membership "
                    "programs; it stays available on promotions and coupons.",
                    program=program.display_name,
                    setting=setting,
                    module=addon,
                )
            )
    return errors
