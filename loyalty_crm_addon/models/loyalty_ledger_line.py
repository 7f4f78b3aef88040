# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import float_is_zero, float_round, format_date

from ..engine.ledger import (
    ENGINE,
    ENGINE_FIELDS,
    NATIVE_DEMO_MODULES,
    PRECISION,
    PROTECTED_FIELDS,
    QUALIFYING_TYPES,
)


class LoyaltyLedgerLine(models.Model):
    _name = "loyalty.ledger.line"
    # Lots, reversals capped, release and expiry (models/loyalty_ledger_lots.py)
    _inherit = ["loyalty.ledger.lots"]
    _description = "Loyalty Points Ledger Line"
    _order = "date desc, id desc"
    _check_company_auto = True
    _rec_name = "description"

    card_id = fields.Many2one(
        "loyalty.card",
        required=True,
        index=True,
        ondelete="restrict",
        readonly=True,
    )
    program_id = fields.Many2one(
        "loyalty.program", required=True, index=True, ondelete="restrict", readonly=True
    )
    partner_id = fields.Many2one(
        "res.partner", index=True, ondelete="restrict", readonly=True
    )
    company_id = fields.Many2one("res.company", index=True, readonly=True)
    member_tier_id = fields.Many2one(
        related="card_id.loyalty_tier_id",
        string="Member Tier",
        store=True,
        index=True,
        help="The member's current tier, to analyse points by tier.",
    )
    date = fields.Datetime(
        required=True, index=True, default=fields.Datetime.now, readonly=True
    )
    entry_type = fields.Selection(
        [
            ("earn", "Earned"),
            ("redeem", "Redeemed"),
            ("expire", "Expired"),
            ("adjust", "Adjustment"),
            ("referral", "Referral"),
            ("bonus", "Bonus"),
            ("reversal", "Reversal"),
        ],
        string="Type",
        required=True,
        index=True,
        readonly=True,
    )
    points = fields.Float(required=True, readonly=True, digits=(16, PRECISION))
    points_residual = fields.Float(
        string="Points Left",
        readonly=True,
        digits=(16, PRECISION),
        help="For a lot of points: what is still unspent and unexpired.",
    )
    state = fields.Selection(
        [("pending", "Pending"), ("posted", "Posted")],
        required=True,
        default="posted",
        index=True,
        readonly=True,
    )
    release_date = fields.Date(
        readonly=True, help="Pending points become available on this date."
    )
    expiry_date = fields.Date(index=True, readonly=True)
    reversed_line_id = fields.Many2one(
        "loyalty.ledger.line",
        string="Reverses",
        index="btree_not_null",
        ondelete="restrict",
        readonly=True,
    )
    reversal_line_ids = fields.One2many(
        "loyalty.ledger.line", "reversed_line_id", string="Reversals", readonly=True
    )
    reference = fields.Char(index="btree_not_null", readonly=True)
    description = fields.Char(readonly=True)
    source = fields.Selection(
        [
            ("sale", "Sales Order"),
            ("pos", "Point of Sale"),
            ("invoice", "Credit Note"),
            ("api", "Redemption"),
            ("manual", "Manual"),
            ("import", "Import / Card Update"),
            ("referral", "Referral"),
            ("system", "Scheduled"),
            ("catalog", "Reward Catalog"),
        ],
        required=True,
        default="manual",
        readonly=True,
    )
    sale_order_id = fields.Many2one(
        "sale.order", index="btree_not_null", ondelete="restrict", readonly=True
    )
    pos_order_id = fields.Many2one(
        "pos.order", index="btree_not_null", ondelete="restrict", readonly=True
    )
    move_id = fields.Many2one(
        "account.move",
        string="Credit Note",
        index="btree_not_null",
        ondelete="restrict",
        readonly=True,
    )
    multiplier = fields.Float(
        default=1.0,
        readonly=True,
        digits=(16, 2),
        help="Tier earn multiplier applied to these points.",
    )
    tier_qualifying = fields.Boolean(
        readonly=True,
        help="Counts towards the member's tier: points earned (earn, bonus, "
        "referral) and their reversals.",
    )
    user_id = fields.Many2one(
        "res.users", default=lambda self: self.env.user, readonly=True
    )

    _sql_constraints = [
        (
            "pending_has_release_date",
            "CHECK(state = 'posted' OR release_date IS NOT NULL)",
            "Pending points need a release date.",
        ),
        (
            "points_not_zero",
            "CHECK(points <> 0)",
            "A ledger line moves points.",
        ),
    ]

    def init(self):
        # The same redemption reference twice deducts once (idempotent API).
        self.env.cr.execute(
            """
            CREATE UNIQUE INDEX IF NOT EXISTS loyalty_ledger_line_api_reference_uniq
            ON loyalty_ledger_line (card_id, reference)
            WHERE source = 'api' AND reference IS NOT NULL
            """
        )
        # A bonus (sign-up, birthday of a year) is given once per card.
        self.env.cr.execute(
            """
            CREATE UNIQUE INDEX IF NOT EXISTS loyalty_ledger_line_bonus_reference_uniq
            ON loyalty_ledger_line (card_id, reference)
            WHERE entry_type = 'bonus' AND reference IS NOT NULL
            """
        )
        # Points that qualify for tiers, read by every upgrade check.
        self.env.cr.execute(
            """
            CREATE INDEX IF NOT EXISTS loyalty_ledger_line_tier_idx
            ON loyalty_ledger_line (card_id, date) INCLUDE (points)
            WHERE tier_qualifying
            """
        )
        # Points waiting for release: few rows, read by the release cron.
        self.env.cr.execute(
            """
            CREATE INDEX IF NOT EXISTS loyalty_ledger_line_pending_idx
            ON loyalty_ledger_line (id) INCLUDE (release_date)
            WHERE state = 'pending'
            """
        )
        # Lots still open, the hot path of spending and expiry.
        self.env.cr.execute(
            """
            CREATE INDEX IF NOT EXISTS loyalty_ledger_line_open_lot_idx
            ON loyalty_ledger_line (card_id, expiry_date, id)
            WHERE points_residual > 0
            """
        )

    # ------------------------------------------------------------------
    # Immutability
    # ------------------------------------------------------------------
    def _is_engine(self):
        return self.env.context.get("loyalty_ledger_engine") is ENGINE

    @api.model_create_multi
    def create(self, vals_list):
        if not self._is_engine():
            raise UserError(
                self.env._(
                    "Ledger lines are written by the loyalty engine only. "
                    "Use a manual adjustment to correct a balance."
                )
            )
        return super().create(vals_list)

    def write(self, vals):
        touched = set(vals) - {"display_name"}
        if touched & PROTECTED_FIELDS or (
            touched & ENGINE_FIELDS and not self._is_engine()
        ):
            raise UserError(
                self.env._(
                    "Ledger lines cannot be changed. "
                    "Record a reversal or an adjustment instead."
                )
            )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(
            self.env._(
                "Ledger lines cannot be deleted. "
                "Record a reversal or an adjustment instead."
            )
        )

    def _engine(self):
        return self.sudo().with_context(loyalty_ledger_engine=ENGINE)

    # ------------------------------------------------------------------
    # Engine
    # ------------------------------------------------------------------
    @api.model
    def _prepare_line(self, card, entry_type, points, **values):
        """Values of a ledger line for ``card``; pending and expiry dates come
        from the card's program unless given."""
        program = card.program_id
        now = values.pop("date", False) or fields.Datetime.now()
        today = fields.Date.to_date(now)
        state = values.pop("state", "posted")
        vals = {
            "card_id": card.id,
            "program_id": program.id,
            "partner_id": card.partner_id.id,
            "company_id": card.company_id.id,
            "date": now,
            "entry_type": entry_type,
            "points": float_round(points, PRECISION),
            "state": state,
            "tier_qualifying": entry_type in QUALIFYING_TYPES,
            # the stored related field, given: no UPDATE after the INSERT
            "member_tier_id": card.loyalty_tier_id.id,
        }
        if points > 0:
            vals["points_residual"] = vals["points"]
            validity = program.loyalty_points_validity_days
            if validity:
                vals["expiry_date"] = today + timedelta(days=validity)
        if state == "pending" and "release_date" not in values:
            vals["release_date"] = today + timedelta(days=program.loyalty_pending_days)
        vals.update(values)
        return vals

    @api.model
    def _prepare_order_lines(self, card, earned, spent, labels, **common):
        """Lines of what an order spent on rewards and earned on a card;
        ``labels`` are the (earn, redeem) descriptions."""
        vals_list = []
        if not float_is_zero(spent, precision_digits=PRECISION):
            vals_list.append(
                self._prepare_line(
                    card, "redeem", -spent, description=labels[1], **common
                )
            )
        if not float_is_zero(earned, precision_digits=PRECISION):
            vals_list.append(
                self._prepare_line(
                    card,
                    "earn",
                    earned,
                    state="pending"
                    if card.program_id.loyalty_pending_days
                    else "posted",
                    multiplier=card.loyalty_tier_multiplier or 1.0,
                    description=labels[0],
                    **common,
                )
            )
        return vals_list

    @api.model
    def _post(self, vals_list, locked=None, keep_held=False):
        """Create ledger lines and move the cards by their posted points
        (under the cards' row lock, never below zero). ``locked``: cards the
        caller already locked in this transaction (``_loyalty_lock``) to
        check their balance first; they are not locked again. ``keep_held``:
        debits leave the points tills hold for orders being paid
        (``loyalty.points.hold``).

        The cards move first: a debit the card cannot pay raises before
        anything is written."""
        vals_list, capped = self._cap_reversals(
            [
                v
                for v in vals_list
                if not float_is_zero(v["points"], precision_digits=PRECISION)
            ],
        )
        if not vals_list:
            return self._engine()
        Card = self.env["loyalty.card"].sudo()
        moves = defaultdict(float)
        for vals in vals_list:
            if vals.get("state", "posted") == "posted":
                moves[Card.browse(vals["card_id"])] += vals["points"]
        Card.browse({v["card_id"] for v in vals_list})._loyalty_add_points(
            moves, locked=capped | (locked or capped), keep_held=keep_held
        )
        lines = self._engine().create(vals_list)
        # The lots spent, the members' activity date and whether the cards
        # redeemed before: one statement after the INSERT.
        active = lines.filtered(lambda ln: ln.entry_type in ("earn", "redeem"))
        Event = self.env["loyalty.member.event"]
        found = lines._consume_lots(
            {
                "touched": active.partner_id._loyalty_touch_activity_sql(),
                "redeemed": Event._redeemed_before_sql(lines),
            }
        )
        active.partner_id._loyalty_touched(found.get("touched", []))
        lines._loyalty_after_post(redeemed_before=found.get("redeemed"))
        return lines

    def _loyalty_after_post(self, redeemed_before=None):
        """Follow-ups of new lines, once per batch: tiers, member events
        (``redeemed_before``: see ``_emit_from_ledger``)."""
        earning = self.filtered(lambda ln: ln.tier_qualifying and ln.points > 0)
        if earning:
            earning.card_id._loyalty_apply_tiers(reason=self.env._("Points earned"))
        taken_back = self.filtered(
            lambda ln: ln.entry_type == "reversal" and ln.points < 0
        )
        if taken_back:
            taken_back.card_id._loyalty_revert_same_day_upgrades(
                reason=self.env._("points of the upgrade taken back")
            )
        self.env["loyalty.member.event"]._emit_from_ledger(
            self, redeemed_before=redeemed_before
        )

    def _prepare_reversal(self, ratio=1.0, **values):
        """Values reversing ``ratio`` of each line, never more than what is
        left of it after earlier reversals; on the card it was merged into
        when its contact was merged (that card holds its points now)."""
        already = defaultdict(float)
        for reversal in self.reversal_line_ids:
            already[reversal.reversed_line_id] += reversal.points
        vals_list = []
        for line in self:
            left = line.points + already[line]
            amount = line.points * ratio
            amount = min(amount, left) if line.points > 0 else max(amount, left)
            if float_is_zero(amount, precision_digits=PRECISION):
                continue
            vals = self._prepare_line(
                line.card_id.loyalty_merged_into_id or line.card_id,
                "reversal",
                -amount,
                state=line.state,
                reversed_line_id=line.id,
                tier_qualifying=line.tier_qualifying,
                description=self.env._("Reversal: %s", line.description or ""),
                **values,
            )
            if line.state == "pending":
                vals["release_date"] = line.release_date
            vals_list.append(vals)
        return vals_list

    # ------------------------------------------------------------------
    # Scheduled actions (set-based, batched, resumable: loyalty.ledger.lots)
    # ------------------------------------------------------------------
    @api.model
    def _cron_release_pending(self, batch_size=50000, max_batches=0):
        return self._release_pending(batch_size, max_batches)

    @api.model
    def _cron_expire_points(self, batch_size=10000, max_batches=0):
        return self._expire_points(batch_size, max_batches)

    def _loyalty_portal_values(self):
        """The line as the customer portal shows it (the keys of Odoo's
        history lines)."""
        self.ensure_one()
        order = self.sale_order_id or self.pos_order_id
        description = self.description or ""
        if self.state == "pending":
            description = (
                self.env._(
                    "%(description)s (available from %(date)s)",
                    description=description,
                    date=format_date(self.env, self.release_date),
                )
                if self.release_date
                else self.env._("%s (not available yet)", description)
            )
        sign = "+" if self.points > 0 else "-"
        return {
            "order_id": order.id,
            "order_name": order.display_name or "",
            "order_portal_url": self.sale_order_id.get_portal_url()
            if self.sale_order_id
            else False,
            "description": description,
            "points": sign + self.card_id._format_points(abs(self.points)),
        }

    # ------------------------------------------------------------------
    # Consistency check
    # ------------------------------------------------------------------
    @api.model
    def _get_inconsistent_cards(self):
        """Membership cards whose balance differs from their posted lines or
        is below zero."""
        self.env.flush_all()
        self.env.cr.execute(
            """
            SELECT c.id
              FROM loyalty_card c
              JOIN loyalty_program p ON p.id = c.program_id
              LEFT JOIN (
                    SELECT card_id, SUM(points) AS points
                      FROM loyalty_ledger_line WHERE state = 'posted'
                     GROUP BY card_id
              ) l ON l.card_id = c.id
             WHERE p.program_type = 'loyalty'
               AND (ABS(c.points - COALESCE(l.points, 0)) > 0.005
                    OR c.points < -0.005)
               AND p.id NOT IN (
                    SELECT res_id FROM ir_model_data
                     WHERE model = 'loyalty.program' AND module = ANY(%s))
            """,
            [NATIVE_DEMO_MODULES],
        )
        return self.env["loyalty.card"].browse(r[0] for r in self.env.cr.fetchall())

    @api.model
    def action_check_consistency(self):
        if not self.env.user.has_group("loyalty_crm_addon.group_loyalty_manager"):
            raise AccessError(self.env._("Only loyalty managers check the ledger."))
        cards = self._get_inconsistent_cards().filtered_domain(
            [("company_id", "in", self.env.companies.ids + [False])]
        )
        if not cards:
            return {
                "type": "ir.actions.client",
                "tag": "display_notification",
                "params": {
                    "type": "success",
                    "message": self.env._(
                        "Every membership card matches its ledger and none is "
                        "below zero."
                    ),
                },
            }
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Cards not matching their ledger or below zero"),
            "res_model": "loyalty.card",
            "view_mode": "list,form",
            "domain": [("id", "in", cards.ids)],
        }
