# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_compare, float_round

from ..engine.ledger import NATIVE_HISTORY, OTHER_CARDS, PointsCapture
from .res_partner import CONSENT_VALUES


class SaleOrder(models.Model):
    _name = "sale.order"
    _inherit = [
        "sale.order",
        "loyalty.ledger.source.mixin",
        "loyalty.kpi.order.source.mixin",
    ]
    # Counted by the KPIs: the order facts follow its changes.
    _loyalty_kpi_channel = "sale"

    loyalty_ledger_line_ids = fields.One2many(
        "loyalty.ledger.line", "sale_order_id", string="Loyalty Ledger", readonly=True
    )
    # Referrals: the code a new customer gives; checked on entry, used at
    # confirmation (loyalty.referral._loyalty_convert).
    loyalty_referral_code = fields.Char(
        string="Referral Code",
        copy=False,
        help="The referral code of the member who brought this new customer.",
    )
    loyalty_claim_ids = fields.One2many(
        "loyalty.reward.claim", "sale_order_id", string="Reward Claims", readonly=True
    )
    loyalty_consent = fields.Selection(
        CONSENT_VALUES,
        string="Loyalty Emails",
        copy=False,
        help="The customer's answer, asked at the sale, about loyalty emails "
        "and mailings; recorded on the customer (channel Sales) when the "
        "order is confirmed.",
    )

    def _loyalty_points_by_card(self):
        """{card: (earned, spent)} of the order's membership cards, from the
        same data native Odoo uses to move points."""
        self.ensure_one()
        result = defaultdict(lambda: [0.0, 0.0])
        for coupon_point in self.coupon_point_ids:
            if coupon_point.coupon_id.program_type == "loyalty":
                result[coupon_point.coupon_id][0] += coupon_point.points
        for line in self.order_line:
            if line.reward_id and line.coupon_id.program_type == "loyalty":
                result[line.coupon_id][1] += line.points_cost
        return result

    def _loyalty_card_for(self, program):
        """The member's card of ``program``: the commercial partner's (a
        company's buyer earns and spends on the company's card)."""
        return self.partner_id._loyalty_program_card(program)

    # ------------------------------------------------------------------
    # The member is the commercial partner (membership programs only)
    # ------------------------------------------------------------------
    def _loyalty_buyer_for_company(self):
        """Whether the customer buys for a commercial partner of their own
        (a company's contact): membership points are the company's."""
        self.ensure_one()
        return self.partner_id and self.partner_id != (
            self.partner_id.commercial_partner_id
        )

    def _SaleOrder__try_apply_program(self, program, coupon, status):
        """Native code applies a nominative program to the card of the
        order's contact (made when missing); a membership program's card is
        the commercial partner's. Other programs stay native."""
        if (
            not coupon
            and program.program_type == "loyalty"
            and self._loyalty_buyer_for_company()
        ):
            coupon = self._loyalty_card_for(program)
            if not coupon and any(status.get("points", [])[:1]):
                coupon = (
                    self.env["loyalty.card"]
                    .sudo()
                    .with_context(loyalty_no_mail=True, tracking_disable=True)
                    .create(
                        {
                            "program_id": program.id,
                            "partner_id": self.partner_id.commercial_partner_id.id,
                            "points": 0,
                            "order_id": self.id,
                        }
                    )
                )
        return super()._SaleOrder__try_apply_program(program, coupon, status)

    def _update_programs_and_rewards(self):
        """For a company's buyer, the company's membership cards are the
        order's: loaded with their points as native code loads the
        customer's own, and their points entries kept (native code drops
        the entries of cards that are not the customer's, for a customer
        changed on the quotation)."""
        if not self._loyalty_buyer_for_company():
            return super()._update_programs_and_rewards()
        member = self.partner_id.commercial_partner_id
        Card = self.env["loyalty.card"]
        shared = Card.search(
            [
                ("partner_id", "=", member.id),
                ("program_id.program_type", "=", "loyalty"),
            ]
        )
        if not shared:
            return super()._update_programs_and_rewards()
        loaded = shared.filtered(
            lambda c: (
                c.points > 0
                and c.program_id.applies_on != "current"
                and c not in self.applied_coupon_ids
            )
        )
        if loaded:
            self.applied_coupon_ids += loaded
        # Native code reads whose a card is from its partner_id: for the
        # time of its update the company's cards are read as the buyer's
        # (in the cache only, never written), then read again.
        shared.fetch(["partner_id"])
        self.env.cache.update(
            shared, Card._fields["partner_id"], [self.partner_id.id] * len(shared)
        )
        try:
            return super()._update_programs_and_rewards()
        finally:
            shared.invalidate_recordset(["partner_id"])

    def _program_check_compute_points(self, programs):
        """Members earn with their tier's multiplier."""
        result = super()._program_check_compute_points(programs)
        for program in programs.filtered("loyalty_tier_ids"):
            status = result.get(program, {})
            if "points" not in status:
                continue
            multiplier = self._loyalty_card_for(program).loyalty_tier_multiplier
            if multiplier and multiplier != 1.0:
                status["points"] = [
                    float_round(
                        p * multiplier, precision_digits=2, rounding_method="DOWN"
                    )
                    for p in status["points"]
                ]
        return self._loyalty_check_enrolment(programs, result)

    def _get_real_points_for_coupon(self, coupon, post_confirm=False):
        """Points this order earns wait as pending when the program has a
        pending period: they cannot pay for the order's own rewards."""
        points = super()._get_real_points_for_coupon(coupon, post_confirm=post_confirm)
        program = coupon.program_id
        if (
            program.loyalty_pending_days
            and program.applies_on != "future"
            and self.state not in ("sale", "done")
        ):
            points -= sum(
                self.coupon_point_ids.filtered(lambda p: p.coupon_id == coupon).mapped(
                    "points"
                )
            )
            points = coupon.currency_id.round(points)
        return points

    def _get_claimable_rewards(self, forced_coupons=None):
        """The reward catalog's checks apply (tier-only rewards offered to
        members of those tiers only, validity window, stock, limits)."""
        result = super()._get_claimable_rewards(forced_coupons=forced_coupons)
        for coupon, rewards in list(result.items()):
            allowed = rewards.filtered(
                lambda r, c=coupon: not self._loyalty_catalog_error(r, c)
            )
            if allowed:
                result[coupon] = allowed
            else:
                del result[coupon]
        return result

    def _apply_program_reward(self, reward, coupon, **kwargs):
        error = self._loyalty_catalog_error(reward, coupon)
        if error:
            return {"error": error}
        return super()._apply_program_reward(reward, coupon, **kwargs)

    # ------------------------------------------------------------------
    # Membership points move through the ledger only
    # ------------------------------------------------------------------
    def _get_point_changes(self):
        """Native confirmation and cancellation move the other cards; the
        ledger moves membership cards (``_loyalty_post_confirmation``)."""
        changes = super()._get_point_changes()
        for card in [c for c in changes if c.program_type == "loyalty"]:
            del changes[card]
        return changes

    def _loyalty_capture(self):
        """A capture of the membership points native code moves on these
        orders (``PointsCapture``), and the orders in its context."""
        capture = PointsCapture()
        return capture, self.with_context(loyalty_ledger_origin=capture)

    def _loyalty_post_captured(self, capture, entry_type, description):
        """Post what native code moved on the membership cards of these
        orders (``capture``) as ledger lines of the order (one order) or of
        the orders' changes (several)."""
        values = {"source": "sale", "description": description}
        if len(self) == 1:
            values.update(sale_order_id=self.id, reference=self.name)
        return self.env["loyalty.card"]._loyalty_post_deltas(
            capture.deltas, entry_type, **values
        )

    def _add_points_for_coupon(self, coupon_points):
        """Points a confirmed order gains later (a code, a reward refresh)
        reach a membership card as an ``earn`` line of the order."""
        if self.state != "sale":
            return super()._add_points_for_coupon(coupon_points)
        capture, order = self._loyalty_capture()
        res = super(SaleOrder, order)._add_points_for_coupon(
            {
                coupon.with_env(order.env): points
                for coupon, points in coupon_points.items()
            }
        )
        self._loyalty_post_captured(capture, "earn", self.env._("Order %s", self.name))
        return res

    def action_confirm(self):
        to_confirm = self.filtered(lambda o: o.state != "sale")
        Claim = self.env["loyalty.reward.claim"]
        for order in to_confirm:
            error = Claim._loyalty_order_errors(order.order_line)
            if error:
                raise UserError(error)
        res = super().action_confirm()
        to_confirm._loyalty_post_confirmation()
        self.env["loyalty.referral"]._loyalty_convert(to_confirm)
        for order in to_confirm.filtered(lambda o: o.state == "sale"):
            Claim._loyalty_record_order_claims(
                order.order_line,
                "sale",
                ledger_lines=order.sudo().loyalty_ledger_line_ids,
                sale_order_id=order.id,
                date=order.date_order,
            )
        for consent in ("in", "out"):
            orders = self.filtered(lambda o, c=consent: o.loyalty_consent == c)
            if orders:
                orders.partner_id._loyalty_set_consent(consent, "sale")
        return res

    def _loyalty_check_coverage(self, points_by_order):
        """The orders, in turn, spend no more than their members' available
        (posted) points, counting what earlier orders of the batch spent and
        earned: several quotations spending the same points cannot all be
        confirmed (odoo/odoo#249775). Cards are locked by the caller."""
        available = {}
        for order in self:
            for card, (earned, spent) in points_by_order[order].items():
                balance = available.setdefault(card, card.points)
                program = card.program_id
                # What the order earns pays for it only once posted.
                own = (
                    earned
                    if not program.loyalty_pending_days
                    and program.applies_on != "future"
                    else 0.0
                )
                if float_compare(spent, balance + own, precision_digits=2) > 0:
                    raise UserError(
                        self.env._(
                            "%(order)s spends %(spent)s points of %(member)s, who "
                            "has %(available)s available (points other orders "
                            "confirmed with it spend or earn included). Nothing "
                            "was confirmed.",
                            order=order.name,
                            spent=self.env["loyalty.ledger.line"]._format_points(spent),
                            member=card.partner_id.display_name,
                            available=self.env["loyalty.ledger.line"]._format_points(
                                balance + own
                            ),
                        )
                    )
                available[card] = balance + own - spent

    def _loyalty_post_confirmation(self):
        Ledger = self.env["loyalty.ledger.line"]
        confirmed = self.filtered(lambda o: o.state == "sale")
        points_by_order = {o: o._loyalty_points_by_card() for o in confirmed}
        cards = self.env["loyalty.card"].union(
            *(c for points in points_by_order.values() for c in points)
        )
        cards._loyalty_lock()
        confirmed._loyalty_check_coverage(points_by_order)
        vals_list = []
        for order, points in points_by_order.items():
            for card, (earned, spent) in points.items():
                vals_list += Ledger._prepare_order_lines(
                    card,
                    earned,
                    spent,
                    (
                        self.env._("Order %s", order.name),
                        self.env._("Reward on %s", order.name),
                    ),
                    source="sale",
                    sale_order_id=order.id,
                    reference=order.name,
                )
        Ledger._post(vals_list, locked=cards)
        self._loyalty_autoenroll(members={(c.program_id, c.partner_id) for c in cards})

    def _loyalty_autoenroll(self, members=()):
        """Make the customers of confirmed orders members, but for those the
        order already earned or spent on a card of the program."""
        by_program = defaultdict(lambda: self.env["res.partner"])
        for order in self:
            program = order.company_id.loyalty_membership_program_id
            if (
                program
                and program.loyalty_auto_enroll
                and (program, order.partner_id.commercial_partner_id) not in members
            ):
                by_program[program] |= order.partner_id.commercial_partner_id
        for program, partners in by_program.items():
            partners._loyalty_enroll(program)

    def _action_cancel(self):
        confirmed = self.filtered(lambda o: o.state == "sale")
        res = super()._action_cancel()
        lines = confirmed.sudo().loyalty_ledger_line_ids.filtered(
            lambda ln: ln.entry_type in ("earn", "redeem")
        )
        Ledger = self.env["loyalty.ledger.line"]
        vals_list = []
        for line in lines:
            vals_list += line._prepare_reversal(
                source="sale",
                sale_order_id=line.sale_order_id.id,
                reference=line.reference,
            )
        Ledger._post(vals_list)
        self.env["loyalty.referral"]._loyalty_revert(confirmed)
        self.env["loyalty.reward.claim"]._loyalty_cancel_for_orders(
            self.sudo().loyalty_claim_ids
        )
        return res

    def _loyalty_reverse_ratio(self, ratio, **values):
        """Reverse ``ratio`` of the points each order earned and spent (credit
        notes)."""
        Ledger = self.env["loyalty.ledger.line"]
        vals_list = []
        for line in self.sudo().loyalty_ledger_line_ids.filtered(
            lambda ln: ln.entry_type in ("earn", "redeem")
        ):
            vals_list += line._prepare_reversal(
                ratio, source="invoice", sale_order_id=line.sale_order_id.id, **values
            )
        return Ledger._post(vals_list)

    @api.constrains("loyalty_referral_code")
    def _check_loyalty_referral_code(self):
        Referral = self.env["loyalty.referral"]
        for order in self.filtered("loyalty_referral_code"):
            Referral._loyalty_find_referrer(order.loyalty_referral_code)

    def _loyalty_catalog_error(self, reward, coupon):
        """Why the reward catalog refuses ``reward`` on this order (its
        limits apply to the rewards core's reward wizard offers), or False:
        ``loyalty.reward._loyalty_claim_error``, the one definition of a
        reward's tier, window, stock and limit checks."""
        if reward in reward._loyalty_catalog_only():
            return self.env._(
                "%s is claimed from the reward catalog, not on an order.",
                reward.description,
            )
        if coupon.program_type != "loyalty":
            return False
        taken = len(
            self.order_line.filtered(
                lambda ln: ln.reward_id == reward and ln.coupon_id == coupon
            ).mapped("reward_identifier_code")
        )
        return reward._loyalty_claim_error(coupon, quantity=taken + 1)

    # ------------------------------------------------------------------
    # Enrolment switch (loyalty.program.loyalty_auto_enroll)
    # ------------------------------------------------------------------
    def _loyalty_check_enrolment(self, programs, result):
        """A membership program that does not enrol automatically does not
        apply to customers without a card: native Odoo would make one."""
        closed = programs.filtered(
            lambda p: p.program_type == "loyalty" and not p.loyalty_auto_enroll
        )
        for program in closed:
            status = result.get(program)
            if status and "error" not in status and not self._loyalty_card_for(program):
                result[program] = {
                    "error": self.env._(
                        "%s is for members only: enrol the customer first.",
                        program.name,
                    )
                }
        return result

    # ------------------------------------------------------------------
    # One history: the ledger's lines are a membership card's history
    # ------------------------------------------------------------------
    def _add_loyalty_history_lines(self):
        """Odoo writes its history lines of the order's cards, membership
        cards included, for Odoo and the modules that read them; the addon
        shows and counts the ledger (``loyalty.history.create``)."""
        return super(
            SaleOrder, self.with_context(loyalty_history=NATIVE_HISTORY)
        )._add_loyalty_history_lines()

    def _compute_loyalty_data(self):
        """The loyalty summary of a confirmed order: Odoo's figures of the
        order's other cards (its history lines of membership cards left out,
        ``loyalty.history._read_group``) plus the order's ledger lines
        (pending points, reversals, credit notes), points given counted as
        issued, points taken as used. Nothing is subtracted."""
        super(
            SaleOrder, self.with_context(loyalty_history=OTHER_CARDS)
        )._compute_loyalty_data()
        orders = self.filtered(lambda o: o.state == "sale" and o.id)
        if not orders:
            return
        by_order = orders.sudo().loyalty_ledger_line_ids.grouped("sale_order_id")
        for order in orders:
            order_lines = by_order.get(order)
            if not order_lines:
                continue
            data = order.loyalty_data or {
                "point_name": order._loyalty_point_name(order_lines.card_id),
                "issued": 0.0,
                "cost": 0.0,
            }
            points = order_lines.mapped("points")
            order.loyalty_data = {
                **data,
                "issued": data["issued"] + sum(p for p in points if p > 0),
                "cost": data["cost"] - sum(p for p in points if p < 0),
            }

    def _loyalty_point_name(self, cards):
        """The unit of the order's loyalty summary, as Odoo names it."""
        cards |= self.coupon_point_ids.coupon_id
        return (len(cards) == 1 and cards.point_name) or self.env._("Points")
