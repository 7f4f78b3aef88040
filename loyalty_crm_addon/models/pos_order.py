# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict

from odoo import fields, models
from odoo.exceptions import UserError
from odoo.tools import float_is_zero

from .loyalty_ledger_line import ENGINE


class PosOrder(models.Model):
    _name = "pos.order"
    _inherit = ["pos.order", "loyalty.ledger.source.mixin"]

    loyalty_ledger_line_ids = fields.One2many(
        "loyalty.ledger.line", "pos_order_id", string="Loyalty Ledger", readonly=True
    )
    # Referrals: the code the till sends with the order (referral button).
    loyalty_referral_code = fields.Char(string="Referral Code", copy=False)

    def _process_order(self, order, existing_order):
        order_id = super()._process_order(order, existing_order)
        paid = self.browse(order_id).filtered(lambda o: o.state != "draft")
        paid._loyalty_check_tier_rewards()
        self.env["loyalty.referral"]._loyalty_convert(paid)
        self.env["loyalty.reward.claim"]._loyalty_pos_claims(paid)  # reward catalog
        return order_id

    def _loyalty_check_tier_rewards(self):
        """The till offers tier-only rewards to their tiers; refuse an order
        that claims one anyway."""
        for line in self.lines.filtered(
            lambda ln: ln.reward_id.tier_ids and ln.coupon_id
        ):
            if not line.reward_id._loyalty_allowed_for(line.coupon_id):
                raise UserError(
                    self.env._(
                        "%(reward)s is kept for members of %(tiers)s.",
                        reward=line.reward_id.description,
                        tiers=", ".join(line.reward_id.tier_ids.mapped("name")),
                    )
                )

    def confirm_coupon_programs(self, coupon_data):
        # Terminals moving points of one card are serialized on its row:
        # the later one is retried against the balance the first left.
        existing = (
            self.env["loyalty.card"]
            .sudo()
            .browse(int(k) for k in coupon_data if int(k) > 0)
            .exists()
        )
        existing.filtered(lambda c: c.program_type == "loyalty")._loyalty_lock()
        coupon_data = self._loyalty_drop_non_member_cards(coupon_data)
        res = super(
            PosOrder, self.with_context(loyalty_ledger_defer=ENGINE)
        ).confirm_coupon_programs(coupon_data)
        self._loyalty_post_payment(coupon_data, res)
        self.env["loyalty.reward.claim"]._loyalty_pos_link(self)  # reward catalog
        return res

    def _loyalty_post_payment(self, coupon_data, result):
        """Ledger lines for the points the till moved: what it earned and
        what its reward lines spent, as the browser computed and the server
        re-checked."""
        self.ensure_one()
        net_by_old_id = {int(k): v.get("points", 0.0) for k, v in coupon_data.items()}
        # Native code maps a new card of a member onto their existing card.
        net_by_program_partner = {
            (v.get("program_id"), v.get("partner_id")): v.get("points", 0.0)
            for k, v in coupon_data.items()
            if int(k) < 0
        }
        id_map = {u["id"]: u["old_id"] for u in result.get("coupon_updates", [])}
        cards = (
            self.env["loyalty.card"]
            .sudo()
            .browse(set(id_map) | {k for k in net_by_old_id if k > 0})
            .exists()
            .filtered(lambda c: c.program_type == "loyalty")
        )
        spent_by_card = defaultdict(float)
        for line in self.lines:
            if line.is_reward_line and line.coupon_id in cards:
                spent_by_card[line.coupon_id] += line.points_cost
        Ledger = self.env["loyalty.ledger.line"]
        vals_list, applied = [], {}
        for card in cards:
            old_id = id_map.get(card.id, card.id)
            if old_id in net_by_old_id:
                net = net_by_old_id[old_id]
            else:
                net = net_by_program_partner.get(
                    (card.program_id.id, card.partner_id.id), 0.0
                )
            spent = spent_by_card[card]
            applied[card] = net
            vals_list += Ledger._prepare_order_lines(
                card,
                net + spent,
                spent,
                (
                    self.env._("Purchase at the till, %s", self.name),
                    self.env._("Reward at the till, %s", self.name),
                ),
                source="pos",
                pos_order_id=self.id,
                reference=self.name,
            )
        Ledger._post(vals_list, applied=applied)
        # The till shows the balance the ledger allows (pending points excluded).
        for update in result.get("coupon_updates", []):
            card = cards.browse(update["id"])
            if card in cards:
                update["points"] = card.points

    def action_pos_order_paid(self):
        res = super().action_pos_order_paid()
        self._loyalty_reverse_refunded()
        return res

    def _loyalty_reverse_refunded(self):
        """A refund takes back, in proportion, the points the refunded
        order earned, and gives back the points it spent."""
        refunded_lines = self.lines.filtered(
            lambda ln: ln.refunded_orderline_id and not ln.is_reward_line
        )
        if not refunded_lines:
            return
        # In an exchange the till already earned points on the net amount
        # (new items minus returned ones): only reverse what that left over.
        offset = sum(
            ln.price_subtotal
            for ln in self.lines
            if not ln.refunded_orderline_id and not ln.is_reward_line
        )
        Ledger = self.env["loyalty.ledger.line"]
        vals_list = []
        for original, lines in refunded_lines.grouped(
            lambda ln: ln.refunded_orderline_id.order_id
        ).items():
            base = sum(
                ln.price_subtotal for ln in original.lines if not ln.is_reward_line
            )
            if float_is_zero(base, precision_digits=2):
                continue
            refunded = -sum(lines.mapped("price_subtotal"))
            netted = min(refunded, max(offset, 0.0))
            offset -= netted
            ratio = min(1.0, (refunded - netted) / base)
            if ratio <= 0:
                continue
            for line in original.sudo().loyalty_ledger_line_ids.filtered(
                lambda ln: ln.entry_type in ("earn", "redeem")
            ):
                vals_list += line._prepare_reversal(
                    ratio,
                    source="pos",
                    pos_order_id=self.id,
                    reference=self.name,
                )
        Ledger._post(vals_list)

    # ------------------------------------------------------------------
    # Enrolment switch (loyalty.program.loyalty_auto_enroll)
    # ------------------------------------------------------------------
    def _loyalty_drop_non_member_cards(self, coupon_data):
        """The till makes a new card for a customer without one; programs
        that do not enrol automatically give none (and no points) to
        customers who are not members."""
        new = {k: v for k, v in coupon_data.items() if int(k) < 0}
        programs = (
            self.env["loyalty.program"]
            .sudo()
            .browse({v.get("program_id") for v in new.values()} - {None, False})
            .filtered(
                lambda p: p.program_type == "loyalty" and not p.loyalty_auto_enroll
            )
        )
        if not programs:
            return coupon_data
        holders = {
            (c.program_id.id, c.partner_id.id)
            for c in self.env["loyalty.card"]
            .sudo()
            .search(
                [
                    ("program_id", "in", programs.ids),
                    (
                        "partner_id",
                        "in",
                        [
                            v.get("partner_id")
                            for v in new.values()
                            if v.get("partner_id")
                        ],
                    ),
                ]
            )
        }
        return {
            k: v
            for k, v in coupon_data.items()
            if not (
                k in new
                and v.get("program_id") in programs.ids
                and (v.get("program_id"), v.get("partner_id")) not in holders
            )
        }
