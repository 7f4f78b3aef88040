# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import ast
from collections import defaultdict

from markupsafe import Markup

from odoo import fields, models
from odoo.exceptions import UserError
from odoo.tools import float_is_zero, float_round

from ..engine.ledger import PRECISION

# Larger figures from a till are not points but an attack or a bug.
MAX_TILL_POINTS = 1e9
MAX_TILL_TEXT = 128
TILL_PROGRAM_FIELDS = (
    "program_type",
    "active",
    "pos_ok",
    "company_id",
    "loyalty_pending_days",
    "loyalty_points_validity_days",
    "loyalty_nth_order",
    "loyalty_points_milestone",
)


class PosOrder(models.Model):
    _name = "pos.order"
    _inherit = [
        "pos.order",
        "loyalty.ledger.source.mixin",
        "loyalty.kpi.order.source.mixin",
    ]
    # Counted by the KPIs: the order facts follow its changes.
    _loyalty_kpi_channel = "pos"

    loyalty_ledger_line_ids = fields.One2many(
        "loyalty.ledger.line", "pos_order_id", string="Loyalty Ledger", readonly=True
    )
    # Referrals: the code the till sends with the order (referral button).
    loyalty_referral_code = fields.Char(string="Referral Code", copy=False)
    loyalty_points_posted = fields.Boolean(
        readonly=True,
        copy=False,
        help="The server posted the membership points of this till order; "
        "whatever the till sends again moves nothing more.",
    )

    def _process_order(self, order, existing_order):
        order_id = super()._process_order(order, existing_order)
        paid = self.browse(order_id).filtered(lambda o: o.state != "draft")
        self.env["loyalty.referral"]._loyalty_convert(paid)
        # Reward catalog: tiers and limits checked (a tier-only reward the
        # till offers its tiers only is refused to others), claims recorded
        # once, spending through the redemption lines the server posted when
        # the order was paid (here: native code logs and swallows what
        # action_pos_order_paid raises, a refusal must stop the sync).
        self.env["loyalty.reward.claim"]._loyalty_pos_claims(paid)
        return order_id

    # ------------------------------------------------------------------
    # After the order is synced: the server posts what it computes
    # ------------------------------------------------------------------
    def confirm_coupon_programs(self, coupon_data):
        if len(self) != 1:
            raise UserError(
                self.env._("Loyalty points are confirmed one order at a time.")
            )
        data, renamed = self._loyalty_till_member_cards(
            self._loyalty_till_coupon_data(coupon_data)
        )
        data = self._loyalty_drop_non_member_cards(data)
        membership = (
            self.env["loyalty.program"]
            .sudo()
            .browse({vals["program_id"] for vals in data.values()})
            .filtered(lambda p: p.program_type == "loyalty")
        )
        # Native code never moves membership points: a new member's card is
        # created at 0 and the ledger posts what the server computes.
        for card_id, vals in data.items():
            if vals["program_id"] in membership.ids:
                vals["points"] = 0.0
                if card_id > 0:
                    # The card the order used, the one the ledger posted on:
                    # native code need not look the customer's card up.
                    vals.pop("partner_id", None)
        result = super().confirm_coupon_programs(data)
        Card = self.env["loyalty.card"].sudo()
        for update in result.get("coupon_updates", []):
            card = Card.browse(update["id"])
            if card.program_type == "loyalty":
                update["points"] = card.points
                update["old_id"] = renamed.get(update["old_id"], update["old_id"])
        result["loyalty_crm_receipt"] = self._loyalty_receipt_info()
        return result

    def _loyalty_till_member_cards(self, data):
        """The member is the commercial partner: a new membership card the
        till makes for a company's buyer is the company's (its existing
        card if any). Returns the data and {card id: the till's id}."""
        self.ensure_one()
        return self.env["res.partner"]._loyalty_till_member_cards(data)

    def add_loyalty_history_lines(self, coupon_data, coupon_updates):
        """Odoo's history lines: the other cards' from what the till sends
        (Odoo's code), the membership cards' from their ledger lines, the
        server's figures (``loyalty.history._loyalty_write_from_ledger``)."""
        if not isinstance(coupon_data, list) or not isinstance(coupon_updates, list):
            raise UserError(self.env._("The till sent invalid loyalty history."))
        Card = self.env["loyalty.card"].sudo()
        id_map = {}
        for item in coupon_updates:
            if not isinstance(item, dict):
                raise UserError(self.env._("The till sent invalid loyalty history."))
            id_map[self._loyalty_till_id(item.get("old_id"), "card")] = (
                self._loyalty_till_id(item.get("id"), "card")
            )
        others = []
        for entry in coupon_data:
            if not isinstance(entry, dict):
                raise UserError(self.env._("The till sent invalid loyalty history."))
            card_id = self._loyalty_till_id(entry.get("card_id"), "card")
            for key in ("won", "spent"):
                self._loyalty_till_number(entry.get(key, 0.0), key)
            real_id = id_map.get(card_id, card_id)
            card = Card.browse(real_id).exists() if real_id > 0 else Card
            if card.program_type != "loyalty":
                others.append(entry)
        res = super().add_loyalty_history_lines(others, coupon_updates)
        self.env["loyalty.history"]._loyalty_write_from_ledger(self)
        return res if res is not None else True

    def action_pos_order_paid(self):
        res = super().action_pos_order_paid()
        self._loyalty_post_till_orders()
        self._loyalty_reverse_refunded()
        return res

    def _loyalty_till_cards_of(self, orders):
        """({order: membership cards of its customer usable at its till, and
        the membership cards its reward lines use}, {card: points}, holds):
        the cards found and row-locked in one statement, with their balance
        and holds read under the lock."""
        # The member is the commercial partner (a company's buyer earns on
        # the company's card).
        partners = orders.partner_id.commercial_partner_id
        coupons = orders.lines.coupon_id
        if not partners and not coupons:
            return {}, {}, self.env["loyalty.points.hold"].sudo()
        configs = orders.config_id
        field = self.env["loyalty.program"]._fields["pos_config_ids"]
        rel, col_program, col_config = field.relation, field.column1, field.column2
        query = f"""
            SELECT c.id FROM loyalty_card c
              JOIN loyalty_program p ON p.id = c.program_id
             WHERE p.program_type = 'loyalty'
               AND ((c.active AND c.partner_id = ANY(%(partners)s)
                     AND p.pos_ok AND p.active
                     AND (NOT EXISTS (SELECT 1 FROM {rel} r
                                       WHERE r.{col_program} = p.id)
                          OR EXISTS (SELECT 1 FROM {rel} r
                                      WHERE r.{col_program} = p.id
                                        AND r.{col_config} = ANY(%(configs)s))))
                    OR c.id = ANY(%(coupons)s))
        """
        balance, holds = self.env["loyalty.points.hold"]._lock_cards_found(
            query,
            {
                "partners": partners.ids,
                "configs": configs.ids,
                "coupons": coupons.ids,
            },
            # What posting reads of the programs, read with the lock.
            program_fields=TILL_PROGRAM_FIELDS,
        )
        cards = self.env["loyalty.card"].sudo().browse(card.id for card in balance)
        by_partner = cards.grouped("partner_id")
        result = {}
        for order in orders:
            mine = by_partner.get(
                order.partner_id.commercial_partner_id, cards.browse()
            )
            mine = mine.filtered(
                lambda c: c.active and c.program_id.pos_ok and c.program_id.active
            )
            if len(configs) > 1:
                mine = mine.filtered(
                    lambda c, o=order: (
                        not c.program_id.pos_config_ids
                        or o.config_id in c.program_id.pos_config_ids
                    )
                )
            result[order] = mine | (order.lines.coupon_id & cards)
        return result, balance, holds

    def _loyalty_post_till_orders(self):
        """Ledger lines of paid till orders, computed on the server: points
        earned from the order's lines and the program's rules (with the
        tier multiplier), points spent by its reward lines at their real
        cost. Once per order, whatever the till re-sends. What the
        card cannot cover is not posted; the program's responsible follows
        it up. One lock statement, one ``_post`` for all orders."""
        orders = self.sudo().filtered(
            lambda o: (
                o.state in ("paid", "done", "invoiced")
                and not o.loyalty_points_posted
                # orders posted before the flag existed
                and not o.loyalty_ledger_line_ids
            )
        )
        # Orders of anonymous customers using no card have nothing to post.
        orders = orders.filtered(lambda o: o.partner_id or o.lines.coupon_id)
        if not orders:
            return
        # Flagged before the lock flushes them: no UPDATE of its own. A
        # customer without a card who earns in a program that enrols at the
        # till becomes a member here; other orders without a card have
        # nothing to post (flag cleared below: enrolled later, a re-sent
        # order posts then).
        orders.loyalty_points_posted = True
        cards_of, balance, holds = self._loyalty_till_cards_of(orders)
        waiting = orders.filtered(lambda o: not cards_of.get(o))
        if waiting and self._loyalty_till_enroll(waiting):
            cards_of, balance, holds = self._loyalty_till_cards_of(orders)
            waiting = orders.filtered(lambda o: not cards_of.get(o))
        if waiting:
            waiting.loyalty_points_posted = False
        posted = orders - waiting
        if not posted:
            return
        # Live holds of other orders keep their points; an order's own hold
        # is released once it is posted.
        Ledger = self.env["loyalty.ledger.line"]
        held = defaultdict(float)
        now = fields.Datetime.now()
        for hold in holds.filtered(lambda h: h.expiry > now):
            held[hold.card_id, hold.order_uuid] += hold.points
            held[hold.card_id] += hold.points
        vals_list, shortfalls = [], []
        for order in posted:
            spent_by_card = order._loyalty_till_spends()
            for card in cards_of[order]:
                program = card.program_id
                earned = 0.0
                member = order.partner_id.commercial_partner_id
                if card.partner_id == member:
                    earned = order._loyalty_till_points(program)
                    multiplier = card.loyalty_tier_multiplier or 1.0
                    if multiplier != 1.0:
                        earned = float_round(
                            earned * multiplier,
                            precision_digits=PRECISION,
                            rounding_method="DOWN",
                        )
                spent, forged = spent_by_card.get(card, (0.0, 0.0))
                if card.partner_id not in (member | order.partner_id):
                    spent, forged = 0.0, forged + spent
                pending = bool(program.loyalty_pending_days)
                available = max(
                    0.0,
                    balance[card]
                    - (held[card] - held[card, order.uuid])
                    + (0.0 if pending else earned),
                )
                covered = min(spent, available)
                uncovered = float_round(spent - covered + forged, PRECISION)
                balance[card] += (0.0 if pending else earned) - covered
                vals_list += Ledger._prepare_order_lines(
                    card,
                    earned,
                    covered,
                    (
                        self.env._("Purchase at the till, %s", order.name),
                        self.env._("Reward at the till, %s", order.name),
                    ),
                    source="pos",
                    pos_order_id=order.id,
                    reference=order.name,
                )
                if not float_is_zero(uncovered, precision_digits=PRECISION):
                    shortfalls.append((order, card, uncovered))
                held[card] -= held.pop((card, order.uuid), 0.0)
        locked = self.env["loyalty.card"].sudo().browse(c.id for c in balance)
        Ledger._post(vals_list, locked=locked)
        uuids = set(posted.mapped("uuid"))
        holds.filtered(lambda h: h.order_uuid in uuids).unlink()
        self._loyalty_report_shortfalls(shortfalls)

    def _loyalty_till_enroll(self, orders):
        """Customers without a membership card whose paid order earns points
        in a program of their till that enrols automatically become members
        here, when the order is paid: its points are posted with the
        others, once. The new card the till makes for them
        (``confirm_coupon_programs``) is then this one, and the order's reward
        lines of the program, which the till left without a card, spend on
        it. Returns whether a card was made."""
        Program = self.env["loyalty.program"].sudo()
        by_config = {
            config: config.sudo()
            ._get_program_ids()
            .filtered(lambda p: p.program_type == "loyalty" and p.loyalty_auto_enroll)
            for config in orders.config_id
        }
        enrolled = False
        for order in orders.filtered("partner_id"):
            for program in by_config.get(order.config_id, Program):
                if order._loyalty_till_points(program) > 0:
                    member = order.partner_id.commercial_partner_id
                    card = member._loyalty_enroll(program)[member]
                    # The rewards the order takes on the card the till is
                    # making for the new member are taken on this one.
                    order.lines.filtered(
                        lambda ln, p=program: (
                            ln.is_reward_line
                            and not ln.coupon_id
                            and ln.reward_id.program_id == p
                        )
                    ).coupon_id = card
                    enrolled = True
        return enrolled

    def _loyalty_till_points(self, program):
        """Points the order earns in ``program``, from its own lines and the
        program's rules, as pos_loyalty's till computes them."""
        self.ensure_one()
        lines = self.lines.filtered(lambda ln: not ln.combo_parent_id)
        products = lines.product_id | lines.reward_id.reward_product_ids
        # The program's rules (what core's rule domain reads), cached.
        rules = self.env["loyalty.program"]._loyalty_engine_data(program.id)["rules"]
        points = 0.0
        for rule in rules:
            if rule["mode"] == "with_code":
                continue
            domain = ast.literal_eval(rule["domain"])
            valid = products.filtered_domain(domain) if domain else products
            threshold_lines, counted, qty = self._loyalty_rule_lines(
                program, lines, valid
            )
            amount = sum(
                ln.price_subtotal_incl
                if rule["minimum_amount_tax_mode"] == "incl"
                else ln.price_subtotal
                for ln in threshold_lines
            )
            if rule["minimum_amount"] and self._loyalty_rule_minimum(rule) > amount:
                continue
            if qty < rule["minimum_qty"]:
                continue
            if rule["reward_point_mode"] == "order":
                points += rule["reward_point_amount"]
            elif rule["reward_point_mode"] == "money":
                paid = sum(ln.price_subtotal_incl for ln in counted)
                points += float_round(
                    rule["reward_point_amount"] * paid, precision_digits=PRECISION
                )
            elif rule["reward_point_mode"] == "unit":
                points += rule["reward_point_amount"] * qty
        return max(0.0, float_round(points, PRECISION))

    def _loyalty_rule_lines(self, program, lines, valid):
        """(lines reaching the rule's minimum, lines paid for, quantity) of a
        rule of ``program`` whose products are ``valid``, as the till counts
        them."""
        threshold_lines, counted, qty = [], [], 0.0
        for line in lines:
            reward = line.reward_id
            if not line.is_reward_line:
                if line.product_id in valid:
                    threshold_lines.append(line)
                    counted.append(line)
                    qty += line.qty
                continue
            if reward.program_id.program_type in ("gift_card", "ewallet"):
                continue
            if reward.reward_type == "discount":
                if reward.program_id == program or line.product_id not in valid:
                    continue
                # An automatic discount lowers what is paid, not the amount
                # that reaches the rule's minimum (as the till).
                if reward.program_id.trigger != "auto":
                    threshold_lines.append(line)
                counted.append(line)
            elif reward.reward_product_ids & valid:
                counted.append(line)
                if reward.program_id == program:
                    # A free product of the program itself earns nothing.
                    qty -= abs(line.qty)
        return threshold_lines, counted, qty

    def _loyalty_rule_minimum(self, rule):
        """The minimum amount of a cached rule in the order's currency (as
        loyalty.rule ``_compute_amount``)."""
        return (
            self.env["res.currency"]
            .browse(rule["currency_id"])
            ._convert(
                rule["minimum_amount"],
                self.currency_id,
                self.env["res.company"].browse(rule["company_id"]) or self.env.company,
                fields.Date.today(),
            )
        )

    def _loyalty_till_spends(self):
        """{card: (cost, forged)} of the order's reward lines on membership
        cards: each reward at its real cost; ``forged`` is what a reward of
        another program claims on the card (never posted)."""
        self.ensure_one()
        result = defaultdict(lambda: [0.0, 0.0])
        reward_lines = self.lines.filtered(
            lambda ln: (
                ln.is_reward_line
                and not ln.refunded_orderline_id
                and ln.reward_id
                and ln.coupon_id.program_type == "loyalty"
            )
        )
        for (card, _code, reward), lines in reward_lines.grouped(
            lambda ln: (ln.coupon_id, ln.reward_identifier_code, ln.reward_id)
        ).items():
            cost = reward._loyalty_till_cost(lines)
            if reward.program_id != card.program_id:
                result[card][1] += cost
            else:
                result[card][0] += cost
        return {card: tuple(values) for card, values in result.items()}

    def _loyalty_report_shortfalls(self, shortfalls):
        """An activity for the program's responsible for each till order
        whose spend the card could not cover (an offline till): the
        customer kept the reward, the points were not taken."""
        if not shortfalls:
            return
        activity_type = self.env.ref(
            "loyalty_crm_addon.mail_activity_type_loyalty_followup"
        )
        admin = self.env.ref("base.user_admin", raise_if_not_found=False)
        model_id = self.env["ir.model"]._get_id("res.partner")
        vals_list = []
        for order, card, points in shortfalls:
            note = self.env._(
                "Till order %(order)s of %(member)s spent %(points)s points that "
                "%(member)s's card no longer had (the till was offline or its "
                "reservation had expired). The order is kept; these points were "
                "not taken from the card.",
                order=order.name,
                member=card.partner_id.display_name,
                points=self.env["loyalty.ledger.line"]._format_points(points),
            )
            user = card.program_id.loyalty_responsible_id or admin
            vals_list.append(
                {
                    "res_model_id": model_id,
                    "res_id": card.partner_id.id,
                    "activity_type_id": activity_type.id,
                    "user_id": user.id,
                    "summary": self.env._(
                        "%(points)s points not covered: %(order)s",
                        points=self.env["loyalty.ledger.line"]._format_points(points),
                        order=order.name,
                    ),
                    "note": Markup("<p>%s</p>") % note,
                    "date_deadline": activity_type._get_date_deadline(),
                }
            )
            order.message_post(body=note)
        self.env["mail.activity"].sudo().create(vals_list)

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
        vals_list, refunded_in_full = [], self.browse()
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
            if ratio >= 1.0:
                refunded_in_full |= original
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
        self.env["loyalty.referral"]._loyalty_revert(
            refunded_in_full, pos_order_id=self.id, reference=self.name
        )

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
