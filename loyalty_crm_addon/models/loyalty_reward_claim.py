# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import base64
from collections import Counter

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import file_open, float_compare

from ..engine.ledger import ENGINE, PRECISION
from .res_partner import MAX_REFERENCE

CHANNELS = [
    ("contact", "Contact"),
    ("sale", "Sales Order"),
    ("pos", "Point of Sale"),
    ("portal", "Portal"),
    ("api", "API"),
]
PROTECTED_FIELDS = {
    "partner_id",
    "card_id",
    "reward_id",
    "company_id",
    "points",
    "channel",
    "reference",
    "date",
    "ledger_line_id",
    "refund_line_id",
    "sale_order_id",
    "pos_order_id",
    "coupon_id",
    "coupon_points",
    "state",
}


class LoyaltyRewardClaim(models.Model):
    _name = "loyalty.reward.claim"
    _description = "Loyalty Reward Claim"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "date desc, id desc"
    _check_company_auto = True

    name = fields.Char(required=True, readonly=True, copy=False, default="/")
    partner_id = fields.Many2one(
        "res.partner",
        string="Member",
        required=True,
        index=True,
        readonly=True,
        ondelete="restrict",
    )
    card_id = fields.Many2one(
        "loyalty.card", required=True, index=True, readonly=True, ondelete="restrict"
    )
    reward_id = fields.Many2one(
        "loyalty.reward", required=True, index=True, readonly=True, ondelete="restrict"
    )
    program_id = fields.Many2one(related="reward_id.program_id", store=True)
    reward_type = fields.Selection(related="reward_id.reward_type")
    company_id = fields.Many2one("res.company", index=True, readonly=True)
    points = fields.Float(readonly=True, digits=(16, PRECISION))
    state = fields.Selection(
        [
            ("requested", "Requested"),
            ("fulfilled", "Fulfilled"),
            ("cancelled", "Cancelled"),
        ],
        default="requested",
        required=True,
        readonly=True,
        index=True,
        tracking=True,
    )
    channel = fields.Selection(CHANNELS, required=True, readonly=True)
    reference = fields.Char(readonly=True, copy=False)
    date = fields.Datetime(
        required=True, readonly=True, index=True, default=fields.Datetime.now
    )
    user_id = fields.Many2one(
        "res.users", string="Claimed by", readonly=True, default=lambda s: s.env.user
    )
    ledger_line_id = fields.Many2one(
        "loyalty.ledger.line", string="Redemption", readonly=True, ondelete="restrict"
    )
    refund_line_id = fields.Many2one(
        "loyalty.ledger.line", string="Refund", readonly=True, ondelete="restrict"
    )
    sale_order_id = fields.Many2one(
        "sale.order", index="btree_not_null", readonly=True, ondelete="restrict"
    )
    pos_order_id = fields.Many2one(
        "pos.order", index="btree_not_null", readonly=True, ondelete="restrict"
    )
    coupon_id = fields.Many2one(
        "loyalty.card",
        string="Issued Coupon",
        readonly=True,
        ondelete="restrict",
        help="The coupon, gift card or eWallet the claim issued.",
    )
    coupon_code = fields.Char(related="coupon_id.code", string="Code")
    coupon_points = fields.Float(readonly=True)
    note = fields.Text(tracking=True)

    _sql_constraints = [
        (
            "reference_uniq",
            "UNIQUE(card_id, reference)",
            "A member's claim reference is used once.",
        ),
    ]

    # ------------------------------------------------------------------
    # Integrity: claims are made by the engine only
    # ------------------------------------------------------------------
    def _is_engine(self):
        return self.env.context.get("loyalty_claim_engine") is ENGINE

    def _engine(self):
        return self.sudo().with_context(loyalty_claim_engine=ENGINE)

    @api.model_create_multi
    def create(self, vals_list):
        if not self._is_engine():
            raise UserError(
                self.env._("Rewards are claimed from the catalog, not created.")
            )
        Sequence = self.env["ir.sequence"].sudo()
        # The addon's sequence (shared by the companies), without a search.
        sequence = Sequence.browse(
            self.env["ir.model.data"]._xmlid_to_res_id(
                "loyalty_crm_addon.seq_loyalty_reward_claim", raise_if_not_found=False
            )
        )
        for vals in vals_list:
            if vals.get("name", "/") == "/":
                vals["name"] = (
                    sequence._next()
                    if sequence
                    else Sequence.next_by_code("loyalty.reward.claim")
                ) or "/"
        return super().create(vals_list)

    def write(self, vals):
        if set(vals) & PROTECTED_FIELDS and not self._is_engine():
            raise UserError(
                self.env._("Claims change through their Fulfil and Cancel buttons.")
            )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(self.env._("Claims cannot be deleted; cancel them instead."))

    # ------------------------------------------------------------------
    # Claiming (contact, portal, API)
    # ------------------------------------------------------------------
    @api.model
    def _loyalty_card_for(self, partner, reward):
        """The partner's card in the reward's membership program."""
        partner = partner.commercial_partner_id
        if not partner.active:
            raise UserError(self.env._("%s is archived.", partner.display_name))
        reward = reward.sudo()
        if reward.program_id.program_type != "loyalty":
            raise UserError(
                self.env._("%s is not a membership reward.", reward.description)
            )
        card = (
            self.env["loyalty.card"]
            .sudo()
            .search(
                [
                    ("program_id", "=", reward.program_id.id),
                    ("partner_id", "=", partner.id),
                ],
                limit=1,
            )
        )
        if not card:
            raise UserError(
                self.env._(
                    "%(partner)s is not a member of %(program)s.",
                    partner=partner.display_name,
                    program=reward.program_id.display_name,
                )
            )
        if card.company_id and card.company_id not in self.env.companies:
            raise UserError(
                self.env._("This membership card belongs to another company.")
            )
        return card

    @api.model
    def _loyalty_claim(self, partner, reward, channel, reference=False, **values):
        """Claim ``reward`` for ``partner`` now: limits and balance checked
        under the reward's and the card's row locks, points spent through
        the ledger, the reward delivered. The same reference twice claims
        once. Returns the claim."""
        reward = reward.sudo().exists()
        if len(reward) != 1:
            raise UserError(self.env._("Choose one reward to claim."))
        reference = self.env["res.partner"]._loyalty_check_text(
            reference, self.env._("Reference"), size=MAX_REFERENCE, required=False
        )
        card = self._loyalty_card_for(partner, reward)
        if reward.reward_type == "credit" and not reward.loyalty_credit_program_id:
            raise UserError(
                self.env._(
                    "%s has no gift card or eWallet program.", reward.description
                )
            )
        reward._loyalty_lock()
        card._loyalty_lock()
        Claim = self._engine()
        if reference:
            done = Claim.search(
                [("card_id", "=", card.id), ("reference", "=", reference)], limit=1
            )
            if done:
                return done.with_env(self.env)
        error = reward._loyalty_claim_error(card)
        if error:
            raise UserError(error)
        points = reward.required_points
        if float_compare(points, card.points, precision_digits=PRECISION) > 0:
            raise UserError(
                self.env._(
                    "Not enough points: %(partner)s has %(balance)s available, "
                    "%(reward)s costs %(points)s.",
                    partner=card.partner_id.display_name,
                    balance=self.env["loyalty.ledger.line"]._format_points(card.points),
                    reward=reward.description,
                    points=self.env["loyalty.ledger.line"]._format_points(points),
                )
            )
        claim = Claim.create(
            {
                "partner_id": card.partner_id.id,
                "card_id": card.id,
                "reward_id": reward.id,
                "company_id": card.company_id.id,
                "points": points,
                "channel": channel,
                "reference": reference,
                **values,
            }
        )
        Ledger = self.env["loyalty.ledger.line"]
        line = Ledger._post(
            [
                Ledger._prepare_line(
                    card,
                    "redeem",
                    -points,
                    source="catalog",
                    description=self.env._("Reward: %s", reward.description),
                    reference=claim.name,
                )
            ]
        )
        claim.ledger_line_id = line
        claim._loyalty_deliver()
        return claim.with_env(self.env)

    def _loyalty_deliver(self):
        """Give what the claim buys: a coupon code (discount, product), a
        gift card or eWallet credit, or a fulfilment activity (experience)."""
        for claim in self:
            reward = claim.reward_id.sudo()
            if reward.reward_type == "experience":
                claim.activity_schedule(
                    "mail.mail_activity_data_todo",
                    summary=self.env._("Fulfil %s", reward.description),
                    note=self.env._(
                        "%(partner)s claimed %(reward)s.",
                        partner=claim.partner_id.display_name,
                        reward=reward.description,
                    ),
                    user_id=claim._loyalty_fulfilment_user().id,
                )
                continue
            Card = self.env["loyalty.card"].sudo()
            if reward.reward_type == "credit":
                credit = reward.loyalty_credit_program_id
                amount = reward.loyalty_credit_amount
                coupon = Card.browse()
                if credit.program_type == "ewallet":
                    coupon = Card.search(
                        [
                            ("program_id", "=", credit.id),
                            ("partner_id", "=", claim.partner_id.id),
                        ],
                        limit=1,
                    )
                    if coupon:
                        coupon.points += amount
                if not coupon:
                    coupon = Card.create(
                        {
                            "program_id": credit.id,
                            "partner_id": claim.partner_id.id,
                            "points": amount,
                        }
                    )
                claim.write({"coupon_id": coupon.id, "coupon_points": amount})
                claim.state = "fulfilled"
            else:
                coupon = Card.create(
                    {
                        "program_id": reward._loyalty_coupon_program().id,
                        "partner_id": claim.partner_id.id,
                        "points": 1,
                    }
                )
                claim.write({"coupon_id": coupon.id, "coupon_points": 1})
                claim.state = "fulfilled"

    def _loyalty_fulfilment_user(self):
        """Who fulfils an experience: the program's responsible, else the
        member's salesperson, else the staff member claiming it."""
        user = self.program_id.loyalty_responsible_id or self.partner_id.user_id
        if not user and self.env.user._is_internal():
            user = self.env.user
        return user or self.env.ref("base.user_admin")

    def _loyalty_apply_on_order(self, order):
        """Apply the claim's coupon on a quotation: its reward line."""
        self.ensure_one()
        coupon = self.coupon_id
        result = order._try_apply_code(coupon.code)
        if "error" not in result:
            result = order._apply_program_reward(
                coupon.program_id.reward_ids[:1], coupon
            )
        if "error" in result:
            raise UserError(result["error"])

    # ------------------------------------------------------------------
    # Orders (sales and till): limits and claims of their reward lines
    # ------------------------------------------------------------------
    @api.model
    def _loyalty_order_errors(self, lines):
        """Why the reward lines of an order cannot be claimed (limits of the
        catalog, under the rewards' and cards' locks), as one message or
        ``False``."""
        lines = self._loyalty_claimed_lines(lines).filtered(
            lambda ln: ln.reward_id.program_id == ln.coupon_id.program_id
        )
        if not lines:
            return False
        lines.reward_id._loyalty_lock()
        lines.coupon_id._loyalty_lock()
        errors = []
        wanted = Counter(
            (reward, card)
            for reward, card, _code in {
                (ln.reward_id, ln.coupon_id, ln.reward_identifier_code) for ln in lines
            }
        )
        for (reward, card), quantity in wanted.items():
            error = reward._loyalty_claim_error(card, quantity)
            if error:
                errors.append(error)
        return "\n".join(errors) or False

    @api.model
    def _loyalty_claimed_lines(self, lines):
        """Reward lines of membership cards: the claims of an order."""
        return lines.filtered(
            lambda ln: ln.reward_id and ln.coupon_id.program_type == "loyalty"
        )

    @api.model
    def _loyalty_record_order_claims(self, lines, channel, ledger_lines, **values):
        """One claim per reward line of a confirmed order or paid till
        order, spent through the order's own redemption line (among its
        ``ledger_lines``)."""
        lines = self._loyalty_claimed_lines(lines)
        if not lines:
            return self.browse()
        vals_list = []
        for (reward, card, _code), group in lines.grouped(
            lambda ln: (ln.reward_id, ln.coupon_id, ln.reward_identifier_code)
        ).items():
            vals = {
                "partner_id": card.partner_id.id,
                "card_id": card.id,
                "reward_id": reward.id,
                "program_id": reward.program_id.id,
                "company_id": card.company_id.id,
                "points": sum(group.mapped("points_cost")),
                "channel": channel,
                "state": "fulfilled",
                **values,
            }
            vals["ledger_line_id"] = ledger_lines.filtered(
                lambda ln, c=card: ln.card_id == c and ln.entry_type == "redeem"
            )[:1].id
            vals_list.append(vals)
        Claim = self._engine()
        if channel == "pos":
            # Recorded by the engine as the till order is paid: no creation
            # message, no follower (the order and its ledger tell the story).
            Claim = Claim.with_context(
                mail_create_nolog=True, mail_create_nosubscribe=True
            )
        return Claim.create(vals_list)

    @api.model
    def _loyalty_pos_claims(self, orders):
        """Paid till orders: refuse reward lines beyond the catalog's limits
        (the till only hides them), record the claims of the others once,
        each spending through its order's redemption line."""
        orders = orders.filtered(
            lambda o: o.state != "draft" and self._loyalty_claimed_lines(o.lines)
        )
        if not orders:
            return
        done = self.sudo().search([("pos_order_id", "in", orders.ids)]).pos_order_id
        for order in orders - done:
            lines = order.lines.filtered("is_reward_line")
            error = self._loyalty_order_errors(lines)
            if error:
                raise UserError(error)
            self._loyalty_record_order_claims(
                lines,
                "pos",
                ledger_lines=order.sudo().loyalty_ledger_line_ids,
                pos_order_id=order.id,
                date=order.date_order,
            )

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_fulfil(self):
        self.check_access("write")
        for claim in self:
            if claim.state != "requested":
                raise UserError(
                    self.env._("Only requested claims can be marked fulfilled.")
                )
        self._engine().write({"state": "fulfilled"})
        self.activity_feedback(["mail.mail_activity_data_todo"])
        return True

    def action_cancel(self):
        """Cancel the claims and give their points back, once, as ledger
        reversals of their redemptions."""
        self.check_access("write")
        if not self:
            return True
        claims = self._engine()
        claims.card_id._loyalty_lock()
        self.env.cr.execute(
            "SELECT id FROM loyalty_reward_claim WHERE id IN %s ORDER BY id FOR UPDATE",
            [tuple(self.ids)],
        )
        claims.invalidate_recordset()
        Ledger = self.env["loyalty.ledger.line"]
        for claim in claims.filtered(lambda c: c.state != "cancelled"):
            claim._loyalty_take_back_coupon()
            line = claim.ledger_line_id
            refund = Ledger
            if line:
                ratio = min(claim.points / -line.points, 1.0) if line.points else 0
                refund = Ledger._post(
                    line._prepare_reversal(
                        ratio,
                        source=line.source,
                        sale_order_id=line.sale_order_id.id,
                        pos_order_id=line.pos_order_id.id,
                        reference=claim.name,
                    )
                )
            claim.write({"state": "cancelled", "refund_line_id": refund[:1].id})
        self.activity_unlink(["mail.mail_activity_data_todo"])
        return True

    def _loyalty_take_back_coupon(self):
        coupon = self.coupon_id.sudo()
        if not coupon:
            return
        if float_compare(coupon.points, self.coupon_points, precision_digits=2) < 0:
            raise UserError(
                self.env._(
                    "The %(reward)s of claim %(claim)s was already used; it "
                    "cannot be cancelled.",
                    reward=self.reward_id.description,
                    claim=self.name,
                )
            )
        coupon.points -= self.coupon_points

    @api.model
    def _loyalty_cancel_for_orders(self, claims):
        """Claims of cancelled orders: the order's own reversal gave the
        points back."""
        claims.filtered(
            lambda c: c.state != "cancelled" and c.channel == "sale"
        )._engine().write({"state": "cancelled"})

    # ------------------------------------------------------------------
    # Demo
    # ------------------------------------------------------------------
    @api.model
    def _loyalty_demo_populate(self):
        """Images of the demo program's first rewards, and claims from the
        channels staff and members use."""
        program = self.env.ref(
            "loyalty_crm_addon.loyalty_program_rewards_club", raise_if_not_found=False
        )
        if not program or self.sudo().search_count(
            [("channel", "in", ("contact", "portal", "api"))], limit=1
        ):
            return False
        images = {
            "discount": ("reward_discount_10", "reward_discount_5"),
            "product": ("reward_desk_organizer",),
        }
        for reward in program.reward_ids.filtered(lambda r: not r.image_1920):
            names = images.get(reward.reward_type)
            if not names:
                continue
            name = names[0] if reward.discount_mode != "per_order" else names[-1]
            with file_open(f"loyalty_crm_addon/static/img/{name}.png", "rb") as f:
                reward.image_1920 = base64.b64encode(f.read())
        cards = (
            self.env["loyalty.card"]
            .sudo()
            .search([("program_id", "=", program.id)], order="points desc", limit=12)
        )
        channels = ["contact", "portal", "api", "contact"]
        for index, card in enumerate(cards):
            rewards = program.reward_ids.filtered(
                lambda r, c=card: (
                    r.required_points <= c.points and not r._loyalty_claim_error(c)
                )
            ).sorted("required_points", reverse=True)
            if not rewards:
                continue
            reward = rewards[index % len(rewards)]
            # No gift card email (and its PDF) for demo members.
            claim = self.with_context(action_no_send_mail=True)._loyalty_claim(
                card.partner_id, reward, channels[index % len(channels)]
            )
            if index % 5 == 4:
                claim.action_cancel()
        return True
