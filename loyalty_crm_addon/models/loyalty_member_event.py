# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import calendar
from collections import defaultdict

import psycopg2

from odoo import api, fields, models
from odoo.tools import float_compare, mute_logger

NO_TRACKING = {
    "mail_create_nolog": True,
    "mail_create_nosubscribe": True,
    "tracking_disable": True,
}


class _FollowUps(dict):
    """Work queued by the rules for one batch of events. Compared by
    identity: environments are cached by context, and an equal but older
    queue in the context would swallow the work."""

    __eq__ = object.__eq__
    __hash__ = object.__hash__


EVENT_TYPES = [
    ("tier_upgrade", "Tier Upgrade"),
    ("tier_downgrade", "Tier Downgrade"),
    ("points_reached", "Points Threshold Reached"),
    ("reward_unlocked", "Reward Unlocked"),
    ("first_redemption", "First Redemption"),
    ("nth_order", "Nth Order"),
    ("birthday", "Birthday"),
    ("points_expiring", "Points Expiring Soon"),
    ("inactive", "Inactive Member"),
    ("referral_converted", "Referral Converted"),
]


class LoyaltyMemberEvent(models.Model):
    """Something worth acting on happened to a member.

    The engine records each occurrence once (``key`` is unique); staff react
    to them with automation rules (base_automation, trigger on creation,
    filtered on ``event_type``), so a new kind of event is one more rule.
    The ``_loyalty_*`` methods below are what the shipped rules call.
    """

    _name = "loyalty.member.event"
    _description = "Loyalty Member Event"
    _order = "date desc, id desc"
    _rec_name = "description"

    partner_id = fields.Many2one(
        "res.partner", required=True, index=True, ondelete="cascade", readonly=True
    )
    card_id = fields.Many2one(
        "loyalty.card", index=True, ondelete="set null", readonly=True
    )
    program_id = fields.Many2one(
        "loyalty.program", index=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one("res.company", index=True, readonly=True)
    event_type = fields.Selection(EVENT_TYPES, required=True, index=True, readonly=True)
    date = fields.Datetime(required=True, default=fields.Datetime.now, readonly=True)
    tier_id = fields.Many2one("loyalty.tier", ondelete="set null", readonly=True)
    previous_tier_id = fields.Many2one(
        "loyalty.tier", ondelete="set null", readonly=True
    )
    reward_id = fields.Many2one("loyalty.reward", ondelete="set null", readonly=True)
    points = fields.Float(readonly=True)
    expiry_date = fields.Date(readonly=True)
    description = fields.Char(readonly=True)
    key = fields.Char(
        required=True,
        readonly=True,
        help="Identifies one occurrence of an event: the same key is never "
        "recorded twice.",
    )
    lead_id = fields.Many2one(
        "crm.lead", string="Opportunity", ondelete="set null", readonly=True
    )

    _sql_constraints = [
        ("key_unique", "UNIQUE(key)", "This event was already recorded."),
    ]

    # ------------------------------------------------------------------
    # Recording events
    # ------------------------------------------------------------------
    @api.model
    def _emit(self, vals_list):
        """Record the events not recorded yet; returns the new ones."""
        keys = [vals["key"] for vals in vals_list]
        if not keys:
            return self.browse()
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT key FROM loyalty_member_event WHERE key = ANY(%s)", [keys]
        )
        known = {row[0] for row in self.env.cr.fetchall()}
        new_vals, seen = [], set()
        for vals in vals_list:
            if vals["key"] not in known and vals["key"] not in seen:
                seen.add(vals["key"])
                new_vals.append(vals)
        if not new_vals:
            return self.browse()
        # The rules run once per new event (base_automation); their heavy
        # work is queued and done once for the whole batch.
        queue = _FollowUps()
        Event = self.sudo().with_context(loyalty_event_queue=queue)
        try:
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                events = Event.create(new_vals)
        except psycopg2.errors.UniqueViolation:
            # A concurrent transaction recorded some of them first: the
            # business transaction goes on, with the events left to record.
            queue.clear()
            events = Event.browse()
            for vals in new_vals:
                try:
                    with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                        events |= Event.create([vals])
                except psycopg2.errors.UniqueViolation:
                    continue
        while queue:
            (method, args), ids = queue.popitem()
            getattr(self.sudo().browse(ids), method)(*args)
        return self.sudo().browse(events.ids)

    def _loyalty_defer(self, method, *args):
        """Queue ``method`` for the batch being emitted; False outside one."""
        queue = self.env.context.get("loyalty_event_queue")
        if queue is None:
            return False
        queue.setdefault((method, args), []).extend(self.ids)
        return True

    @api.model
    def _prepare_event(self, card, event_type, key, **values):
        return {
            "partner_id": card.partner_id.id,
            "card_id": card.id,
            "program_id": card.program_id.id,
            "company_id": (card.company_id or card.program_id.company_id).id,
            "event_type": event_type,
            "key": key,
            **values,
        }

    @api.model
    def _emit_from_ledger(self, lines):
        """Events that new ledger lines give rise to: points reached, reward
        unlocked, first redemption, Nth order. A few queries per batch."""
        lines = lines.filtered(
            lambda ln: ln.program_id.program_type == "loyalty" and ln.card_id.partner_id
        )
        if not lines:
            return self.browse()
        Ledger = self.env["loyalty.ledger.line"].sudo()
        delta = defaultdict(float)
        redeemed = defaultdict(int)
        orders = defaultdict(set)
        for line in lines:
            if line.state == "posted":
                delta[line.card_id] += line.points
            if line.entry_type == "redeem":
                redeemed[line.card_id] += 1
            elif line.entry_type == "earn" and (
                line.sale_order_id or line.pos_order_id
            ):
                orders[line.card_id].add((line.sale_order_id.id, line.pos_order_id.id))
        vals_list = self._balance_event_vals(delta)
        if redeemed:
            counts = dict(
                Ledger._read_group(
                    [
                        ("card_id", "in", [c.id for c in redeemed]),
                        ("entry_type", "=", "redeem"),
                    ],
                    ["card_id"],
                    ["__count"],
                )
            )
            for card, count in redeemed.items():
                if counts.get(card, 0) <= count:
                    vals_list.append(
                        self._prepare_event(
                            card,
                            "first_redemption",
                            f"first_redeem:{card.id}",
                            description=self.env._("First redemption"),
                        )
                    )
        cards = [card for card in orders if card.program_id.loyalty_nth_order > 0]
        if cards:
            totals = {
                card: sales + pos
                for card, sales, pos in Ledger._read_group(
                    [
                        ("card_id", "in", [c.id for c in cards]),
                        ("entry_type", "=", "earn"),
                    ],
                    ["card_id"],
                    ["sale_order_id:count_distinct", "pos_order_id:count_distinct"],
                )
            }
            for card in cards:
                nth, total = card.program_id.loyalty_nth_order, totals.get(card, 0)
                reached = total // nth * nth
                if reached and reached > total - len(orders[card]):
                    vals_list.append(
                        self._prepare_event(
                            card,
                            "nth_order",
                            f"nth_order:{card.id}:{reached}",
                            points=reached,
                            description=self.env._("Order #%s", reached),
                        )
                    )
        return self._emit(vals_list)

    @api.model
    def _balance_event_vals(self, gains):
        """Points milestones and rewards that balances rising by ``gains``
        ({card: points}, already on the cards) reach."""
        vals_list = []
        rising = {card: d for card, d in gains.items() if d > 0}
        rewards = self._loyalty_cheapest_rewards(
            self.env["loyalty.card"].union(*rising)
        )
        for card, gained in rising.items():
            after = card.points
            before = after - gained
            step = card.program_id.loyalty_points_milestone
            if step > 0:
                reached = (after // step) * step
                if reached >= step and float_compare(reached, before, 2) > 0:
                    vals_list.append(
                        self._prepare_event(
                            card,
                            "points_reached",
                            f"points:{card.id}:{reached:g}",
                            points=reached,
                            description=self.env._(
                                "%(points)s points reached", points=format(reached, "g")
                            ),
                        )
                    )
            reward = rewards.get(card)
            if reward and before < reward.required_points <= after:
                vals_list.append(
                    self._prepare_event(
                        card,
                        "reward_unlocked",
                        f"reward:{card.id}:{reward.id}",
                        reward_id=reward.id,
                        points=after,
                        description=self.env._(
                            "Reward unlocked: %s", reward.description
                        ),
                    )
                )
        return vals_list

    @api.model
    def _loyalty_cheapest_rewards(self, cards):
        """{card: the cheapest reward of its program the member can claim}."""
        rewards = cards.program_id.reward_ids.filtered(
            lambda r: r.active and r.required_points > 0
        )
        # Tier-restricted rewards count only for members of those tiers.
        allowed = getattr(
            type(rewards), "_loyalty_allowed_for", lambda reward, card: True
        )
        result = {}
        for card in cards:
            claimable = rewards.filtered(
                lambda r, card=card: (
                    r.program_id == card.program_id and allowed(r, card)
                )
            )
            if claimable:
                result[card] = min(claimable, key=lambda r: r.required_points)
        return result

    # ------------------------------------------------------------------
    # Scheduled detection (set-based, batched, resumable)
    # ------------------------------------------------------------------
    def _cron_batches(self, query, params, build_vals, batch_size):
        """Run ``query`` (keyset-paginated on its first column) by batches,
        emitting the events ``build_vals`` makes of each row."""
        cron = self.env["ir.cron"]
        commits = self.env["loyalty.ledger.line"]._cron_commits()
        last, done = 0, 0
        while True:
            self.env.flush_all()
            self.env.cr.execute(query, {**params, "last": last, "limit": batch_size})
            rows = self.env.cr.fetchall()
            if not rows:
                break
            last = rows[-1][0]
            # One notification email per activity would flood the assigned
            # users: they get them in their activity menu.
            done += len(
                self.with_context(mail_activity_quick_update=True, **NO_TRACKING)._emit(
                    [build_vals(row) for row in rows]
                )
            )
            cron._notify_progress(done=done, remaining=0)
            if commits:
                self.env.cr.commit()  # pylint: disable=invalid-commit
            self.env.invalidate_all()
        return done

    @api.model
    def _cron_detect_inactivity(self, batch_size=10000):
        """An event per member with no earn nor redeem for the program's
        ``loyalty_inactivity_days``, once per period of inactivity.

        Members already told about are skipped by ``_emit`` (a lookup in the
        unique index on ``key``), not by an anti-join: its plan depends on
        statistics that a big run makes stale."""
        query = """
            SELECT DISTINCT ON (p.id) p.id, c.id, c.program_id,
                   COALESCE(c.company_id, pr.company_id), c.loyalty_tier_id, a.last
              FROM loyalty_card c
              JOIN loyalty_program pr ON pr.id = c.program_id
              JOIN res_partner p ON p.id = c.partner_id
             CROSS JOIN LATERAL (
                   SELECT COALESCE(p.loyalty_last_activity_date,
                                   c.create_date::date) AS last
             ) a
             WHERE pr.program_type = 'loyalty' AND pr.active AND p.active
               AND p.id > %(last)s
               AND a.last <= %(today)s::date - pr.loyalty_inactivity_days
             ORDER BY p.id, c.id
             LIMIT %(limit)s
        """

        def build_vals(row):
            partner_id, card_id, program_id, company_id, tier_id, last = row
            return {
                "partner_id": partner_id,
                "card_id": card_id,
                "program_id": program_id,
                "company_id": company_id,
                "tier_id": tier_id,
                "event_type": "inactive",
                "key": f"inactive:{partner_id}:{last}",
                "description": self.env._(
                    "No points earned or redeemed since %s", last
                ),
            }

        today = fields.Date.context_today(self)
        return self._cron_batches(query, {"today": today}, build_vals, batch_size)

    @api.model
    def _cron_detect_birthdays(self, batch_size=10000):
        today = fields.Date.context_today(self)
        days = [today.day]
        # Members born on 29 February celebrate on the 28th in common years.
        if today.month == 2 and today.day == 28 and not calendar.isleap(today.year):
            days.append(29)
        query = """
            SELECT DISTINCT ON (p.id) p.id, c.id, c.program_id,
                   COALESCE(c.company_id, pr.company_id)
              FROM res_partner p
              JOIN loyalty_card c ON c.partner_id = p.id
              JOIN loyalty_program pr ON pr.id = c.program_id
             WHERE pr.program_type = 'loyalty' AND pr.active AND p.active
               AND p.id > %(last)s
               AND EXTRACT(MONTH FROM p.loyalty_birthday) = %(month)s
               AND EXTRACT(DAY FROM p.loyalty_birthday) = ANY(%(days)s)
             ORDER BY p.id, c.id
             LIMIT %(limit)s
        """

        def build_vals(row):
            partner_id, card_id, program_id, company_id = row
            return {
                "partner_id": partner_id,
                "card_id": card_id,
                "program_id": program_id,
                "company_id": company_id,
                "event_type": "birthday",
                "key": f"birthday:{partner_id}:{today.year}",
                "description": self.env._("Birthday"),
            }

        params = {"month": today.month, "days": days}
        return self._cron_batches(query, params, build_vals, batch_size)

    @api.model
    def _cron_detect_expiring_points(self, batch_size=10000):
        """An event per card and expiry date of its open lots that expire
        within the program's ``loyalty_expiry_warning_days``."""
        today = fields.Date.context_today(self)
        query = """
            SELECT MIN(l.id), l.card_id, c.partner_id, c.program_id,
                   COALESCE(c.company_id, pr.company_id), l.expiry_date,
                   SUM(l.points_residual)
              FROM loyalty_ledger_line l
              JOIN loyalty_card c ON c.id = l.card_id
              JOIN loyalty_program pr ON pr.id = c.program_id
             WHERE l.points_residual > 0 AND l.state = 'posted'
               AND l.expiry_date >= %(today)s
               AND l.expiry_date <= %(today)s::date + pr.loyalty_expiry_warning_days
               AND pr.loyalty_expiry_warning_days > 0
               AND c.partner_id IS NOT NULL
             GROUP BY l.card_id, l.expiry_date, c.partner_id, c.program_id,
                      c.company_id, pr.company_id
            HAVING MIN(l.id) > %(last)s
             ORDER BY MIN(l.id)
             LIMIT %(limit)s
        """

        def build_vals(row):
            __, card_id, partner_id, program_id, company_id, expiry, points = row
            return {
                "partner_id": partner_id,
                "card_id": card_id,
                "program_id": program_id,
                "company_id": company_id,
                "event_type": "points_expiring",
                "key": f"expiring:{card_id}:{expiry}",
                "points": points,
                "expiry_date": expiry,
                "description": self.env._(
                    "%(points)s points expire on %(date)s",
                    points=format(points, "g"),
                    date=expiry,
                ),
            }

        return self._cron_batches(query, {"today": today}, build_vals, batch_size)

    # ------------------------------------------------------------------
    # Actions of the shipped automation rules
    # ------------------------------------------------------------------
    def _loyalty_responsible_user(self):
        """The member's salesperson, else the program's responsible, else
        the administrator."""
        self.ensure_one()
        partner = self.partner_id
        for user in (
            partner.user_id,
            partner.commercial_partner_id.user_id,
            self.program_id.loyalty_responsible_id,
        ):
            if user.active and not user.share:
                return user
        user = self.env.user
        if user._is_superuser() or user.share:
            user = self.env.ref("base.user_admin", raise_if_not_found=False) or user
        return user

    def _loyalty_default_summary(self):
        self.ensure_one()
        name = self.partner_id.display_name
        return {
            "tier_upgrade": self.env._(
                "Congratulate %(name)s on reaching %(tier)s",
                name=name,
                tier=self.tier_id.name,
            ),
            "tier_downgrade": self.env._(
                "%(name)s moved down to %(tier)s: offer help",
                name=name,
                tier=self.tier_id.name or self.env._("no tier"),
            ),
            "first_redemption": self.env._(
                "%s redeemed points for the first time: ask for feedback", name
            ),
            "nth_order": self.env._(
                "Thank %(name)s for order #%(n)s", name=name, n=format(self.points, "g")
            ),
            "inactive": self.env._("Win back %s: no loyalty activity lately", name),
        }.get(self.event_type) or self.env._("Loyalty follow-up: %s", name)

    def _loyalty_schedule_activity(self, summary=False, note=False):
        """A follow-up activity on each member (not on the event)."""
        if self._loyalty_defer("_loyalty_schedule_activity", summary, note):
            return self.env["mail.activity"]
        activity_type = self.env.ref(
            "loyalty_crm_addon.mail_activity_type_loyalty_followup"
        )
        model_id = self.env["ir.model"]._get_id("res.partner")
        deadline = activity_type._get_date_deadline()
        vals_list = [
            {
                "res_model_id": model_id,
                "res_id": event.partner_id.id,
                "activity_type_id": activity_type.id,
                "user_id": event._loyalty_responsible_user().id,
                "summary": summary or event._loyalty_default_summary(),
                "note": note or event.description,
                "date_deadline": deadline,
            }
            for event in self
        ]
        return self.env["mail.activity"].sudo().create(vals_list)

    def _loyalty_add_to_mailing_list(
        self, xmlid="loyalty_crm_addon.mailing_list_winback"
    ):
        """Put the members on a mailing list: their mailing contact (made
        when missing) is subscribed once; an opt-out is respected."""
        if self._loyalty_defer("_loyalty_add_to_mailing_list", xmlid):
            return
        mailing_list = self.env.ref(xmlid)
        partners = self.partner_id.filtered("email_normalized")
        if not partners:
            return
        Contact = self.env["mailing.contact"].sudo().with_context(**NO_TRACKING)
        contacts = Contact.search(
            [("email_normalized", "in", partners.mapped("email_normalized"))],
            order="id",
        )
        by_email = {}
        for contact in contacts:
            by_email.setdefault(contact.email_normalized, contact)
        subscribed = set(
            self.env["mailing.subscription"]
            .sudo()
            .search(
                [("list_id", "=", mailing_list.id), ("contact_id", "in", contacts.ids)]
            )
            .contact_id.mapped("email_normalized")
        )
        new_contacts, subscriptions = {}, []
        for partner in partners:
            email = partner.email_normalized
            if email in subscribed or email in new_contacts:
                continue
            if email in by_email:
                subscribed.add(email)
                subscriptions.append(
                    {"contact_id": by_email[email].id, "list_id": mailing_list.id}
                )
            else:
                new_contacts[email] = {
                    "name": partner.name,
                    "email": partner.email,
                    "list_ids": [(4, mailing_list.id)],
                }
        if subscriptions:
            self.env["mailing.subscription"].sudo().create(subscriptions)
        if new_contacts:
            Contact.create(list(new_contacts.values()))

    def _loyalty_is_top_tier(self):
        self.ensure_one()
        tier = self.tier_id or self.card_id.loyalty_tier_id
        tiers = self.program_id.loyalty_tier_ids
        return bool(tier) and tier == tiers.sorted("threshold")[-1:]

    def _loyalty_create_opportunity(self):
        """A win-back opportunity for members of their program's top tier."""
        if self._loyalty_defer("_loyalty_create_opportunity"):
            return
        events = self.filtered(lambda e: not e.lead_id and e._loyalty_is_top_tier())
        leads = (
            self.env["crm.lead"]
            .sudo()
            .with_context(mail_create_nosubscribe=True)
            .create(
                [
                    {
                        "type": "opportunity",
                        "name": self.env._(
                            "Win back %s",
                            event.partner_id.commercial_partner_id.display_name,
                        ),
                        "partner_id": event.partner_id.commercial_partner_id.id,
                        "user_id": event._loyalty_responsible_user().id,
                        "company_id": event.company_id.id,
                        "description": event.description,
                    }
                    for event in events
                ]
            )
        )
        for event, lead in zip(events, leads, strict=True):
            event.lead_id = lead
