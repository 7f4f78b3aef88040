# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.osv import expression
from odoo.tools import SQL, float_compare, float_is_zero, float_round

from ..engine.ledger import ENGINE, PRECISION, PointsCapture
from ..engine.member_figures import EXPIRING_SOON_SQL

TIER_FIELDS = ("loyalty_tier_id", "loyalty_tier_since", "loyalty_tier_review_date")
# What a membership card's ledger decides: only the engine writes it.
GUARDED_FIELDS = {
    "points",
    "partner_id",
    "program_id",
    "loyalty_merged_into_id",
    *TIER_FIELDS,
}


class LoyaltyCard(models.Model):
    """Membership cards: the ledger is the only writer of their points.
    Tiers live in ``loyalty.card.tier`` (``models/loyalty_card_tier.py``)."""

    _name = "loyalty.card"
    _inherit = ["loyalty.card", "loyalty.kpi.member.source.mixin", "loyalty.card.tier"]

    def init(self):
        res = super().init()
        # A program's members in partner order, with the day they joined
        # (the KPIs count a million of them from this index alone).
        self.env.cr.execute(
            """
            CREATE INDEX IF NOT EXISTS loyalty_card_program_partner_idx
                ON loyalty_card (program_id, partner_id) INCLUDE (create_date)
            """
        )
        return res

    ledger_line_ids = fields.One2many(
        "loyalty.ledger.line", "card_id", string="Ledger", readonly=True
    )
    loyalty_tier_id = fields.Many2one(
        "loyalty.tier", string="Tier", readonly=True, index="btree_not_null", copy=False
    )
    loyalty_tier_since = fields.Date(string="Tier Since", readonly=True, copy=False)
    loyalty_tier_review_date = fields.Date(
        readonly=True,
        copy=False,
        help="First tier review that found the member below their tier; the "
        "downgrade waits for the program's grace period from that day.",
    )
    loyalty_merged_into_id = fields.Many2one(
        "loyalty.card",
        string="Merged Into",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="Contacts merged: this card gave its points to that one; its "
        "qualifying points count for that card's tier.",
    )
    loyalty_tier_multiplier = fields.Float(
        related="loyalty_tier_id.earn_multiplier", string="Earn Multiplier"
    )
    loyalty_tier_key = fields.Char(
        compute="_compute_loyalty_tier_key",
        help="Technical: the tier as the point of sale compares it with rewards.",
    )

    @api.depends("loyalty_tier_id")
    def _compute_loyalty_tier_key(self):
        for card in self:
            card.loyalty_tier_key = str(card.loyalty_tier_id.id or "")

    def _send_points_reach_communication(self, points_changes):
        """Milestone emails of membership cards come from member events,
        after the transaction and on the ledger's balance (docs/architecture.md, "One
        history"); Odoo's "When Reaching" plans serve the other cards."""
        return super(
            LoyaltyCard, self.filtered(lambda c: c.program_type != "loyalty")
        )._send_points_reach_communication(points_changes)

    def _format_points(self, points):
        """Points in the reader's language, with a thousands separator and
        decimals only when there are some (1,250 Points; 12.50 Points)."""
        if self.point_name == self.program_id.currency_id.symbol:
            return super()._format_points(points)
        number = self.env["loyalty.ledger.line"]._format_points(points)
        return f"{number} {self.point_name or ''}".strip()

    @api.model
    def _load_pos_data_domain(self, data):
        """Membership cards are not preloaded at the till (a shop may have
        many members): only those of the customers of the orders it loads.
        A member's card is fetched when they are picked."""
        partner_ids = list(
            {
                order["partner_id"]
                for order in data.get("pos.order", {}).get("data", [])
                if order.get("partner_id")
            }
        )
        return expression.AND(
            [
                super()._load_pos_data_domain(data),
                [
                    "|",
                    ("program_id.program_type", "!=", "loyalty"),
                    ("partner_id", "in", partner_ids),
                ],
            ]
        )

    def _load_pos_data_fields(self, config_id):
        return super()._load_pos_data_fields(config_id) + [
            "loyalty_tier_multiplier",
            "loyalty_tier_key",
        ]

    # ------------------------------------------------------------------
    # Figures
    # ------------------------------------------------------------------
    def _loyalty_figures(self):
        """{card: (pending points, points expiring soon, next expiry date, ledger
        line count)} of membership cards."""
        Ledger = self.env["loyalty.ledger.line"]
        today = fields.Date.context_today(Ledger)
        pending = dict(
            Ledger._read_group(
                [("card_id", "in", self.ids), ("state", "=", "pending")],
                ["card_id"],
                ["points:sum"],
            )
        )
        Ledger.flush_model(
            ["card_id", "program_id", "points_residual", "state", "expiry_date"]
        )
        self.env.cr.execute(
            f"""
            SELECT l.card_id, SUM(l.points_residual), MIN(l.expiry_date)
              FROM loyalty_ledger_line l
              JOIN loyalty_program pr ON pr.id = l.program_id
             WHERE l.card_id = ANY(%(cards)s) AND {EXPIRING_SOON_SQL}
             GROUP BY l.card_id
            """,  # noqa: S608 -- a constant of engine/member_figures.py
            {"cards": self.ids, "today": today},
        )
        expiring = {
            self.browse(card_id): (points, first)
            for card_id, points, first in self.env.cr.fetchall()
        }
        counts = dict(
            Ledger._read_group([("card_id", "in", self.ids)], ["card_id"], ["__count"])
        )
        return {
            card: (
                pending.get(card, 0.0),
                *expiring.get(card, (0.0, False)),
                counts.get(card, 0),
            )
            for card in self
        }

    # ------------------------------------------------------------------
    # The ledger is the only writer of points
    # ------------------------------------------------------------------
    def _loyalty_refuse(self):
        raise UserError(
            self.env._(
                "The points, member, program and tier of the membership card "
                "%(card)s follow its points history: only the loyalty engine "
                "changes them. A loyalty manager adjusts points with a manual "
                "adjustment.",
                card=self[:1].display_name or self.env._("(new card)"),
            )
        )

    def _loyalty_same_points(self, points):
        """Whether all cards are membership cards holding ``points``."""
        points = self._fields["points"].convert_to_cache(points, self)
        return all(
            card.program_type == "loyalty"
            and not float_compare(card.points, points, precision_digits=PRECISION)
            for card in self
        )

    def _loyalty_guarded_changes(self, vals):
        """{card: fields of ``vals`` it guards that would really change}."""
        Program = self.env["loyalty.program"].sudo()
        into_membership = "program_id" in vals and (
            Program.browse(
                self._fields["program_id"].convert_to_cache(vals["program_id"], self)
            ).program_type
            == "loyalty"
        )
        members = self.filtered(
            lambda c: c.program_type == "loyalty" or into_membership
        )
        if not members:
            return {}
        with_history = {
            card.id
            for [card] in self.env["loyalty.ledger.line"]
            .sudo()
            ._read_group([("card_id", "in", members.ids)], ["card_id"])
        }
        changes = {}
        for card in members:
            has_history = card.id in with_history or not float_is_zero(
                card.points, precision_digits=PRECISION
            )
            changed = set()
            for fname in GUARDED_FIELDS.intersection(vals):
                if fname in ("partner_id", "program_id") and not has_history:
                    continue
                if fname != "program_id" and card.program_type != "loyalty":
                    continue
                field = self._fields[fname]
                new = field.convert_to_cache(vals[fname], card)
                old = field.convert_to_cache(card[fname], card)
                if fname == "points":
                    if float_compare(new, old, precision_digits=PRECISION):
                        changed.add(fname)
                elif (new or False) != (old or False):
                    changed.add(fname)
            if changed:
                changes[card] = changed
        return changes

    def _loyalty_post_deltas(self, deltas, entry_type, **values):
        """Post {card: points} as ledger lines of ``entry_type`` with
        ``values`` (source, document, description): the lines move the
        cards. Earned points get the card's tier multiplier on record and
        wait as pending when the program has a pending period."""
        Ledger = self.env["loyalty.ledger.line"]
        vals_list = []
        for card, delta in deltas.items():
            if float_is_zero(delta, precision_digits=PRECISION):
                continue
            line_values = dict(values)
            if entry_type == "earn" and delta > 0:
                line_values["multiplier"] = card.loyalty_tier_multiplier or 1.0
                if card.program_id.loyalty_pending_days:
                    line_values["state"] = "pending"
            vals_list.append(
                Ledger._prepare_line(card, entry_type, delta, **line_values)
            )
        return Ledger._post(vals_list)

    def _loyalty_add_points(self, deltas, locked=None, keep_held=False):
        """Move card balances by ``deltas`` ({card: points}) as the ledger
        says, under the cards' row lock (taken here but for the ``locked``
        cards); a membership card never goes below zero. ``keep_held``: a
        debit leaves the points that tills hold for orders being paid.

        Membership cards move in one UPDATE that locks, checks and writes
        (``_loyalty_move_points``); their history is the ledger, so the
        move is not tracked again in the card's chatter."""
        deltas = {
            card: float_round(delta, PRECISION)
            for card, delta in deltas.items()
            if not float_is_zero(delta, precision_digits=PRECISION)
        }
        if not deltas:
            return
        # Cards with ledger lines cannot be deleted: no exists() needed.
        cards = self.browse([card.id for card in deltas]).sudo()
        members = cards.filtered(lambda c: c.program_type == "loyalty")
        if members:
            members._loyalty_move_points(
                {card.id: deltas[card] for card in members},
                locked=locked,
                keep_held=keep_held,
            )
        others = cards - members
        if not others:
            return
        (others - (locked or others.browse()).sudo())._loyalty_lock()
        others = others.with_context(loyalty_ledger_origin=ENGINE)
        for card in others:
            delta = deltas[card]
            if delta < 0:
                card._loyalty_check_available(-delta)
            card.points = float_round(card.points + delta, PRECISION)

    def _loyalty_move_points(self, deltas, locked=None, keep_held=False):
        """Lock, check and move membership cards by ``deltas`` ({card id:
        points}) in one UPDATE; a debit the card cannot pay (with what tills
        hold when ``keep_held``) raises "Not enough points" and moves
        nothing. Several cards are locked in id order first (no deadlock
        between two batches)."""
        self.env["loyalty.card"].flush_model(["points"])
        if len(deltas) > 1:
            (self - (locked or self.browse()).sudo())._loyalty_lock()
        held = SQL("0")
        if keep_held:
            self.env["loyalty.points.hold"].flush_model()
            held = SQL(
                """CASE WHEN m.delta < 0 THEN COALESCE((
                       SELECT SUM(h.points) FROM loyalty_points_hold h
                        WHERE h.card_id = c.id
                          AND h.expiry > now() at time zone 'UTC'), 0)
                   ELSE 0 END"""
            )
        ids = sorted(deltas)
        self.env.cr.execute(
            SQL(
                """
                UPDATE loyalty_card c
                   SET points = ROUND((c.points + m.delta)::numeric, 2),
                       write_uid = %(uid)s,
                       write_date = now() at time zone 'UTC'
                  FROM unnest(%(ids)s::int[], %(deltas)s::numeric[]) AS m(id, delta)
                 WHERE c.id = m.id
                   AND ROUND((c.points + m.delta - %(held)s)::numeric, 2) >= 0
                RETURNING c.id, c.points
                """,
                ids=ids,
                deltas=[deltas[i] for i in ids],
                uid=self.env.uid,
                held=held,
            )
        )
        balances = dict(self.env.cr.fetchall())
        cards = self.browse(ids)
        cards.invalidate_recordset(["points", "write_uid", "write_date"])
        moved = cards.browse(list(balances))
        self.env.cache.update(
            moved, self._fields["points"], [balances[i] for i in moved.ids]
        )
        refused = cards - moved
        if refused:
            card = refused[0]
            held = 0.0
            if keep_held:
                held = sum(
                    self.env["loyalty.points.hold"]
                    .sudo()
                    .search(
                        [
                            ("card_id", "=", card.id),
                            ("expiry", ">", fields.Datetime.now()),
                        ]
                    )
                    .mapped("points")
                )
            card._loyalty_check_available(-deltas[card.id], refused=True, held=held)
        moved.modified(["points"])

    def _loyalty_check_available(self, points, refused=False, held=0.0):
        """A membership card (locked by the caller) holds ``points``;
        ``refused``: the card's UPDATE found it did not; ``held``: points
        of the card that tills hold."""
        self.ensure_one()
        available = self.points - held
        if refused or (
            self.program_type == "loyalty"
            and float_compare(points, available, precision_digits=PRECISION) > 0
        ):
            message = self.env._(
                "Not enough points: %(partner)s has %(balance)s available, "
                "%(points)s asked.",
                partner=self.partner_id.display_name,
                balance=self.env["loyalty.ledger.line"]._format_points(available),
                points=self.env["loyalty.ledger.line"]._format_points(points),
            )
            if held:
                message += " " + self.env._(
                    "%(held)s points are held by an order being paid at a till.",
                    held=self.env["loyalty.ledger.line"]._format_points(held),
                )
            raise UserError(message)

    def _loyalty_lock(self):
        """Row lock on the cards: money-like values move under it. The cache
        then holds the balances as they are under the lock."""
        if self.ids:
            self.env.flush_all()
            self.env.cr.execute(
                "SELECT id, points FROM loyalty_card WHERE id IN %s"
                " ORDER BY id FOR UPDATE",
                [tuple(self.ids)],
            )
            balances = dict(self.env.cr.fetchall())
            self.invalidate_recordset(["points"])
            locked = self.browse(list(balances))
            self.env.cache.update(
                locked, self._fields["points"], [balances[i] for i in locked.ids]
            )

    def _loyalty_adjust(self, points, reason):
        """A manual adjustment of the card by ``points`` (rights checked by
        the caller): an ``adjust`` line, never below zero, noted on the
        member."""
        self.ensure_one()
        self._loyalty_lock()
        if points < 0:
            self._loyalty_check_available(-points)
        Ledger = self.env["loyalty.ledger.line"]
        line = Ledger._post(
            [
                Ledger._prepare_line(
                    self, "adjust", points, source="manual", description=reason
                )
            ],
            locked=self,
        )
        # Rights were checked by the caller; staff may not edit contacts.
        self.partner_id.sudo().message_post(
            body=self.env._(
                "Loyalty points adjusted by %(points)s: %(reason)s",
                points=("+" if points > 0 else "")
                + self.env["loyalty.ledger.line"]._format_points(points),
                reason=reason,
            ),
            author_id=self.env.user.partner_id.id,
        )
        return line

    @api.model_create_multi
    def create(self, vals_list):
        cards = super().create(vals_list)
        # New members, however their card was made, get a referral code.
        members = cards.filtered(lambda c: c.program_type == "loyalty")
        members.partner_id.commercial_partner_id._loyalty_assign_referral_codes()
        if self.env.context.get("loyalty_ledger_origin") is ENGINE:
            return cards
        if any(members.mapped(lambda c: any(c[f] for f in TIER_FIELDS))):
            members._loyalty_refuse()
        opening = {
            card: card.points
            for card in members
            if not float_is_zero(card.points, precision_digits=PRECISION)
        }
        if opening:
            # The card opens at zero; its first ledger line gives it its
            # points: an opening balance in the name of whoever may create
            # cards (loyalty, sales and POS managers, as in native Odoo, or
            # server code). Existing cards' points stay the engine's.
            self.browse([c.id for c in opening]).with_context(
                loyalty_ledger_origin=ENGINE
            ).write({"points": 0})
            self._loyalty_post_deltas(
                opening,
                "adjust",
                source="import" if self.env.su else "manual",
                description=self.env._("Opening balance"),
            )
        return cards

    def write(self, vals):
        """A guard: the points, member, program and tier of a membership
        card change through the ledger's posting path only (``ENGINE``).
        Native code changing points inside a core hook the addon extends
        has its change captured (``PointsCapture``), and that hook posts it;
        server code running as superuser (a data script, Odoo's own tests)
        gets an adjustment line; everyone else is refused."""
        origin = self.env.context.get("loyalty_ledger_origin")
        if origin is ENGINE or not GUARDED_FIELDS.intersection(vals):
            return super().write(vals)
        if set(vals) == {"points"} and self._loyalty_same_points(vals["points"]):
            # Native flows rewrite a membership card's balance unchanged
            # (the till adds the 0 points the ledger leaves it): nothing to do.
            self.check_access("write")
            return True
        captured = isinstance(origin, PointsCapture)
        changes = self._loyalty_guarded_changes(vals)
        for card, fnames in changes.items():
            if fnames - {"points", "partner_id"}:
                card._loyalty_refuse()
            if "points" in fnames and not (captured or self.env.su):
                card._loyalty_refuse()
            if "partner_id" in fnames and not self.env.su:
                card._loyalty_refuse()
        new_points = self._fields["points"].convert_to_cache(vals.get("points"), self)
        deltas = {
            card: float_round(new_points - card.points, PRECISION)
            for card, fnames in changes.items()
            if "points" in fnames
        }
        if not deltas:
            return super().write(vals)
        members = self.browse([card.id for card in deltas])
        others = self - members
        if others:
            super(LoyaltyCard, others).write(vals)
        rest = {k: v for k, v in vals.items() if k != "points"}
        if rest:
            super(LoyaltyCard, members).write(rest)
        if captured:
            origin.add(deltas)
        else:
            self._loyalty_post_deltas(
                deltas,
                "adjust",
                source="import",
                description=self.env._("Balance updated"),
            )
        return True

    @api.ondelete(at_uninstall=False)
    def _unlink_except_ledger(self):
        if self.sudo().ledger_line_ids:
            raise UserError(
                self.env._(
                    "A membership card with a points history cannot be deleted; "
                    "archive it instead."
                )
            )
