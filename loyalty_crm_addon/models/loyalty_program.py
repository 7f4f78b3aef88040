# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models, tools
from odoo.exceptions import AccessError, UserError, ValidationError

from ..engine.sales_only import sales_only_errors, sales_only_program_fields
from ..kpi.engine import CHANNEL_GROUPS, KpiScope

# The shipped campaigns (draft mailings of mailing_data.xml).
LOYALTY_MAILINGS = (
    "loyalty_crm_addon.mailing_loyalty_winback",
    "loyalty_crm_addon.mailing_loyalty_tier_welcome",
    "loyalty_crm_addon.mailing_loyalty_points_expiring",
    "loyalty_crm_addon.mailing_loyalty_birthday",
)


class LoyaltyProgram(models.Model):
    _inherit = "loyalty.program"

    loyalty_tier_ids = fields.One2many(
        "loyalty.tier", "program_id", string="Tiers", copy=True
    )
    loyalty_tier_window_days = fields.Integer(
        string="Tier Window (days)",
        default=365,
        help="Points earned over this many days qualify a member for a tier.",
    )
    loyalty_points_validity_days = fields.Integer(
        string="Points Validity (days)",
        default=0,
        help="Points expire this many days after they were earned; 0 = never.",
    )
    loyalty_pending_days = fields.Integer(
        string="Pending Period (days)",
        default=0,
        help="Points earned by an order become available after this many days "
        "(e.g. the return period); 0 = at once.",
    )
    loyalty_inactivity_days = fields.Integer(
        string="Inactive After (days)",
        default=90,
        help="A member who neither earns nor redeems for this many days is inactive.",
    )
    loyalty_tier_grace_days = fields.Integer(
        string="Tier Grace Period (days)",
        default=0,
        help="A member who no longer qualifies keeps their tier this many days "
        "after the review that first found it; 0 = downgrade at that review.",
    )
    loyalty_referrer_points = fields.Float(string="Referrer Points")
    loyalty_referee_points = fields.Float(string="Referee Points")
    loyalty_responsible_id = fields.Many2one(
        "res.users",
        string="Responsible",
        help="Gets the follow-up activities of members without a salesperson.",
    )
    loyalty_ledger_line_count = fields.Integer(
        compute="_compute_loyalty_ledger_line_count"
    )

    loyalty_signup_bonus = fields.Float(
        string="Sign-up Bonus",
        help="Points a new member gets once, when they join the program.",
    )
    loyalty_birthday_bonus = fields.Float(
        string="Birthday Bonus",
        help="Points a member gets on their birthday, once a year.",
    )

    _sql_constraints = [
        (
            "loyalty_days_positive",
            "CHECK(loyalty_tier_window_days > 0 AND loyalty_points_validity_days >= 0"
            " AND loyalty_pending_days >= 0 AND loyalty_inactivity_days > 0"
            " AND loyalty_tier_grace_days >= 0)",
            "Day counts of a loyalty program cannot be negative.",
        ),
    ]

    def _load_pos_data_fields(self, config_id):
        # The till keeps points pending at the order out of its rewards.
        return super()._load_pos_data_fields(config_id) + ["loyalty_pending_days"]

    @api.constrains("loyalty_referrer_points", "loyalty_referee_points")
    def _check_loyalty_referral_points(self):
        for program in self:
            if (
                program.loyalty_referrer_points < 0
                or program.loyalty_referee_points < 0
            ):
                raise ValidationError(self.env._("Referral points cannot be negative."))

    @api.constrains("program_type", "loyalty_tier_ids")
    def _check_loyalty_tiers_membership(self):
        for program in self:
            if program.loyalty_tier_ids and program.program_type != "loyalty":
                raise ValidationError(
                    self.env._(
                        "Tiers belong to membership (loyalty card) programs only."
                    )
                )

    def _loyalty_tier_for_points(self, points):
        """The highest tier whose threshold ``points`` meet."""
        self.ensure_one()
        reached = self.loyalty_tier_ids.filtered(lambda t: t.threshold <= points)
        return reached.sorted("threshold")[-1:] if reached else reached

    def _compute_loyalty_ledger_line_count(self):
        data = dict(
            self.env["loyalty.ledger.line"]._read_group(
                [("program_id", "in", self.ids)], ["program_id"], ["__count"]
            )
        )
        for program in self:
            program.loyalty_ledger_line_count = data.get(program, 0)

    @api.model
    def _loyalty_demo_populate(self):
        """Entry point of the demo data (demo/loyalty_crm_demo.xml): members,
        orders and redemptions made through the real flows, by plain Python
        loaded only then."""
        from ..demo.loyalty_crm_demo import populate

        return populate(self.env)

    @api.model
    def _loyalty_demo_referrals(self):
        """Entry point of the demo referrals (demo/loyalty_referral_demo.xml)."""
        from ..demo.loyalty_referral_demo import populate_referrals

        return populate_referrals(self.env)

    @api.model
    def _loyalty_demo_today(self):
        """Entry point of today's demo picture (demo/loyalty_today_demo.xml):
        return period, birthdays, bonuses."""
        from ..demo.loyalty_crm_demo import populate_today

        return populate_today(self.env)

    def action_open_loyalty_ledger(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "loyalty_crm_addon.action_loyalty_ledger_line"
        )
        action["domain"] = [("program_id", "=", self.id)]
        action["context"] = {}
        return action

    # Member events (automation)
    loyalty_points_milestone = fields.Float(
        string="Points Milestone Every",
        default=1000,
        help="A member is congratulated each time the balance reaches a new "
        "multiple of this many points; 0 = never.",
    )
    loyalty_nth_order = fields.Integer(
        string="Milestone Order Every",
        default=10,
        help="Every Nth order earning points (sales and POS) is celebrated; 0 = never.",
    )
    loyalty_expiry_warning_days = fields.Integer(
        string="Warn of Expiry (days)",
        default=30,
        help="Members are told of points expiring within this many days; 0 = never.",
    )

    @api.constrains(
        "loyalty_points_milestone", "loyalty_nth_order", "loyalty_expiry_warning_days"
    )
    def _check_loyalty_event_settings(self):
        for program in self:
            if (
                min(
                    program.loyalty_points_milestone,
                    program.loyalty_nth_order,
                    program.loyalty_expiry_warning_days,
                )
                < 0
            ):
                raise ValidationError(
                    self.env._("Milestones and warning days cannot be negative.")
                )

    @api.constrains(
        lambda self: ["program_type", "rule_ids", *sales_only_program_fields(self)]
    )
    def _check_loyalty_sales_only_settings(self):
        """Membership programs use no setting of OCA's loyalty addons that
        only Sales honours (engine/sales_only.py)."""
        errors = sales_only_errors(self)
        if errors:
            raise ValidationError(errors[0])

    # Referrals
    loyalty_referral_monthly_cap = fields.Integer(
        string="Referral Cap per Month",
        default=0,
        help="A member earns referral points for at most this many new "
        "customers per month; 0 = no cap.",
    )
    loyalty_referral_min_amount = fields.Float(
        string="Referral Minimum Order",
        default=0.0,
        help="The referred customer's first order must reach this total for "
        "the referral to convert.",
    )

    @api.constrains("loyalty_referral_monthly_cap", "loyalty_referral_min_amount")
    def _check_loyalty_referral_settings(self):
        for program in self:
            if (
                program.loyalty_referral_monthly_cap < 0
                or program.loyalty_referral_min_amount < 0
            ):
                raise ValidationError(
                    self.env._("Referral cap and minimum cannot be negative.")
                )

    # ------------------------------------------------------------------
    # Enrolment switch and KPIs (loyalty.kpi.engine)
    # ------------------------------------------------------------------
    loyalty_auto_enroll = fields.Boolean(
        string="Enrol Customers Automatically",
        default=True,
        help="Customers become members with their first confirmed order or "
        "paid POS order. Off: customers who are not members neither get a "
        "card nor earn points; they join only when enrolled (contact, till, "
        "portal, import).",
    )
    loyalty_point_value = fields.Float(
        string="Value of a Point",
        digits="Product Price",
        default=0.0,
        help="What one point is worth in the company's currency, for the "
        "points liability.",
    )

    @api.constrains("loyalty_point_value")
    def _check_loyalty_point_value(self):
        if any(program.loyalty_point_value < 0 for program in self):
            raise ValidationError(self.env._("A point cannot be worth less than 0."))

    @api.model
    def _loyalty_kpi_dates(self, date_from, date_to):
        dates = []
        for value in (date_from, date_to):
            try:
                dates.append(fields.Date.to_date(value))
            except (TypeError, ValueError):
                dates.append(None)
        if None in dates or not all(dates):
            raise UserError(self.env._("Give the period as two dates, YYYY-MM-DD."))
        if dates[0] > dates[1]:
            raise UserError(self.env._("The period ends before it starts."))
        return dates

    def _loyalty_kpi_scope(self, date_from, date_to, company_ids=None, channel=False):
        """The scope of the program's KPIs (``loyalty.kpi.engine``), checked:
        loyalty staff, every order it counts readable, allowed companies."""
        self.ensure_one()
        if not self.env.su and not self.env.user.has_group(
            "loyalty_crm_addon.group_loyalty_user"
        ):
            raise AccessError(self.env._("Only loyalty staff see loyalty figures."))
        if self.program_type != "loyalty":
            raise UserError(self.env._("KPIs are figures of membership programs."))
        if channel not in (False, None, "", "sale", "pos"):
            raise UserError(self.env._("The channel is 'sale' or 'pos'."))
        date_from, date_to = self._loyalty_kpi_dates(date_from, date_to)
        # The figures are read with the caller's rights (the engine reads
        # them in SQL): every order they count, of allowed companies only.
        counted = {channel} if channel else set(CHANNEL_GROUPS)
        if not counted <= set(self._loyalty_kpi_channels()):
            raise AccessError(
                self.env._(
                    "The loyalty KPIs count every order of the period: they "
                    "need access to all sales orders (Sales: All Documents) "
                    "and to POS orders (Point of Sale user) of the channels "
                    "they cover. The revenue of your own orders is in the "
                    "Member Revenue report."
                )
            )
        allowed = self.env.companies
        if company_ids:
            companies = self.env["res.company"].browse(company_ids) & allowed
        elif self.company_id:
            companies = self.company_id & allowed
        else:
            companies = allowed
        if not companies:
            raise AccessError(
                self.env._("These figures are of companies you have no access to.")
            )
        return KpiScope(self.sudo(), date_from, date_to, companies.ids, channel=channel)

    @api.model
    def _loyalty_kpi_channels(self):
        """The channels whose orders the caller may all read: sales orders
        with "All Documents" (a salesperson limited to their own documents
        reads only theirs), POS orders as a POS user."""
        return [
            channel
            for channel, group in CHANNEL_GROUPS.items()
            if self.env.su or self.env.user.has_group(group)
        ]

    @api.readonly
    def get_loyalty_kpis(self, date_from, date_to):
        """The program's KPIs over ``date_from``..``date_to`` (both included,
        'YYYY-MM-DD'): a dict of plain numbers, rates as fractions 0-1 and
        0.0 where there is nothing to measure (see docs/kpis.md). Read-only:
        on a read replica when Odoo has one (``db_replica_host``)."""
        return self.env["loyalty.kpi.engine"]._kpis(
            self._loyalty_kpi_scope(date_from, date_to)
        )

    @api.model
    @api.readonly
    def get_loyalty_dashboard_data(
        self,
        program_id=False,
        date_from=False,
        date_to=False,
        company_ids=None,
        channel=False,
    ):
        """Everything the loyalty dashboard shows, in one call."""
        today = fields.Date.context_today(self)
        program = (
            self.browse(program_id)
            if program_id
            else self.env.company.loyalty_membership_program_id
        )
        if not program:
            return {"program": False}
        # Both channels by default; the one the caller may read if only one.
        readable = self._loyalty_kpi_channels()
        if not channel and len(readable) == 1:
            channel = readable[0]
        engine = self.env["loyalty.kpi.engine"]
        scope = program._loyalty_kpi_scope(
            date_from or today.replace(month=1, day=1),
            date_to or today,
            company_ids=company_ids,
            channel=channel,
        )
        programs = self.search([("program_type", "=", "loyalty")])
        return {
            "program": {"id": program.id, "name": program.name},
            "programs": [{"id": p.id, "name": p.name} for p in programs],
            "companies": [{"id": c.id, "name": c.name} for c in self.env.companies],
            "date_from": fields.Date.to_string(scope.date_from),
            "date_to": fields.Date.to_string(scope.date_to),
            "channel": scope.channel,
            "currency": program.currency_id.symbol or "",
            "kpis": engine._kpis(scope),
            "trend": engine._monthly_trend(scope),
            "tiers": engine._tier_distribution(scope),
            # models/loyalty_program_dashboard.py
            **program._loyalty_dashboard_extras(scope),
        }

    # ------------------------------------------------------------------
    # Bonuses: ledger lines of type ``bonus`` with a reference that makes
    # each one unique (sign-up once per card, birthday once per year).
    # ------------------------------------------------------------------
    @api.model
    def _loyalty_post_bonuses(self, bonuses):
        """Post ``[(card, points, reference, description, event_type)]``
        bonus lines, skipping references the card already has, and record
        a member event for each (its rule sends the email). Returns the
        lines."""
        Ledger = self.env["loyalty.ledger.line"].sudo()
        bonuses = [b for b in bonuses if b[1] > 0]
        if not bonuses:
            return Ledger
        cards = self.env["loyalty.card"].union(*[b[0] for b in bonuses])
        cards._loyalty_lock()
        done = set(
            Ledger.search(
                [
                    ("card_id", "in", cards.ids),
                    ("entry_type", "=", "bonus"),
                    ("reference", "in", [b[2] for b in bonuses]),
                ]
            ).mapped(lambda ln: (ln.card_id.id, ln.reference))
        )
        vals_list, events = [], []
        for card, points, reference, description, event_type in bonuses:
            if (card.id, reference) in done:
                continue
            done.add((card.id, reference))
            vals_list.append(
                Ledger._prepare_line(
                    card,
                    "bonus",
                    points,
                    source="system",
                    reference=reference,
                    description=description,
                )
            )
            events.append(
                {
                    "partner_id": card.partner_id.id,
                    "card_id": card.id,
                    "program_id": card.program_id.id,
                    "company_id": card.company_id.id,
                    "event_type": event_type,
                    "points": points,
                    "description": description,
                    "key": f"{event_type}:{reference}:{card.id}",
                }
            )
        lines = Ledger._post(vals_list)
        self.env["loyalty.member.event"]._emit(events)
        return lines

    @api.model
    def _loyalty_post_signup_bonuses(self, cards):
        return self._loyalty_post_bonuses(
            [
                (
                    card,
                    card.program_id.loyalty_signup_bonus,
                    f"signup:{card.id}",
                    self.env._("Sign-up bonus"),
                    "signup_bonus",
                )
                for card in cards
                if card.program_id.loyalty_signup_bonus
            ]
        )

    @api.model
    def _loyalty_post_birthday_bonuses(self):
        """Birthday bonus of the members whose birthday event was recorded
        today (the birthday scan), once per member and year."""
        today = fields.Date.context_today(self)
        events = (
            self.env["loyalty.member.event"]
            .sudo()
            .search(
                [
                    ("event_type", "=", "birthday"),
                    ("key", "=like", f"birthday:%:{today.year}"),
                    ("program_id.loyalty_birthday_bonus", ">", 0),
                    ("card_id", "!=", False),
                ]
            )
        )
        return self._loyalty_post_bonuses(
            [
                (
                    event.card_id,
                    event.program_id.loyalty_birthday_bonus,
                    f"birthday:{event.partner_id.id}:{today.year}",
                    self.env._("Birthday bonus %s", today.year),
                    "birthday_bonus",
                )
                for event in events
            ]
        )

    # ------------------------------------------------------------------
    # Shipped campaigns
    # ------------------------------------------------------------------
    @api.model
    def _loyalty_mailing_owner(self):
        """The company membership program's responsible, else a marketing
        user (not a bot), else the administrator."""
        owner = self.env.company.loyalty_membership_program_id.loyalty_responsible_id
        if owner:
            return owner
        group = self.env.ref(
            "mass_mailing.group_mass_mailing_user", raise_if_not_found=False
        )
        marketers = (group.users if group else self.env["res.users"]).filtered(
            lambda u: (
                u.active and not u.share and u.id != self.env.ref("base.user_root").id
            )
        )
        admin = self.env.ref("base.user_admin", raise_if_not_found=False)
        return (marketers - admin)[:1] or admin or marketers[:1]

    @api.model
    def _loyalty_assign_mailings(self):
        """Give the shipped draft campaigns to their owner."""
        owner = self._loyalty_mailing_owner()
        mailings = (
            self.env["mailing.mailing"]
            .sudo()
            .browse(
                [
                    m.id
                    for m in (
                        self.env.ref(xmlid, raise_if_not_found=False)
                        for xmlid in LOYALTY_MAILINGS
                    )
                    if m
                ]
            )
        )
        if owner:
            mailings.filtered(lambda m: m.state == "draft").write({"user_id": owner.id})
        return True

    # ------------------------------------------------------------------
    # What the engine reads of a program on every order, cached
    # ------------------------------------------------------------------
    @api.model
    @tools.ormcache("program_id")
    def _loyalty_engine_data(self, program_id):
        """Plain values the engine reads on every order of ``program_id``:
        ``rules`` (dicts of the earning rules' values, with their product
        domain), ``rewards`` ((id, points, tier ids) of its active rewards
        costing points, cheapest first) and ``has_tiers``. Cached until a
        program, rule, reward or tier changes."""
        self = self.sudo().with_context(active_test=True)  # noqa: PLW0642
        program = self.browse(program_id).exists()
        rules = self.env["loyalty.rule"].search([("program_id", "=", program_id)])
        rewards = program.reward_ids.filtered(
            lambda r: r.active and r.required_points > 0
        ).sorted(lambda r: (r.required_points, r.id))
        return {
            "rules": tuple(
                {
                    "mode": rule.mode,
                    "minimum_amount": rule.minimum_amount,
                    "minimum_amount_tax_mode": rule.minimum_amount_tax_mode,
                    "minimum_qty": rule.minimum_qty,
                    "reward_point_mode": rule.reward_point_mode,
                    "reward_point_amount": rule.reward_point_amount,
                    "domain": repr(rule._get_valid_product_domain()),
                    "currency_id": rule.currency_id.id,
                    "company_id": rule.company_id.id,
                }
                for rule in rules
            ),
            "rewards": tuple(
                (reward.id, reward.required_points, tuple(reward.tier_ids.ids))
                for reward in rewards
            ),
            "has_tiers": bool(program.loyalty_tier_ids),
        }

    def unlink(self):
        self.env.registry.clear_cache()
        if (
            self.env["res.company"]
            .sudo()
            .search_count([("loyalty_membership_program_id", "in", self.ids)], limit=1)
        ):
            # Its members are no longer members (KPI order facts).
            self.env["loyalty.kpi.order"]._touch(everything=True)
        return super().unlink()

    def write(self, vals):
        if {"active", "company_id", "currency_id"} & set(vals):
            self.env.registry.clear_cache()
        res = super().write(vals)
        if "loyalty_responsible_id" in vals and (
            self.env.company.loyalty_membership_program_id in self
        ):
            self._loyalty_assign_mailings()
        return res
