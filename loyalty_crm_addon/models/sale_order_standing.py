# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The member's standing on a quotation, for the salesperson: balance,
tier, the points this order earns and the rewards within reach.

Every figure is a non-stored compute: the form reads them when it shows a
quotation; confirming an order neither stores nor computes them.
"""

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_compare

QUOTATION_STATES = ("draft", "sent")


class SaleOrder(models.Model):
    # The quotation's figures in their own file: sale_order.py is already long.
    _inherit = "sale.order"  # pylint: disable=consider-merging-classes-inherited

    loyalty_member_state = fields.Selection(
        [
            ("member", "Member"),
            ("joining", "Joins at Confirmation"),
            ("closed", "Not a Member"),
        ],
        string="Membership",
        compute="_compute_loyalty_standing",
        help="Whether the customer (their company for a company's contact) is "
        "a member of the company's membership program, or becomes one when "
        "this order is confirmed.",
    )
    loyalty_member_balance = fields.Float(
        string="Member Points", compute="_compute_loyalty_standing"
    )
    loyalty_member_tier_id = fields.Many2one(
        "loyalty.tier", string="Member Tier", compute="_compute_loyalty_standing"
    )
    loyalty_order_points = fields.Float(
        string="Points This Order Earns",
        compute="_compute_loyalty_standing",
        help="What confirming the order posts on the member's card, the tier's "
        "multiplier included.",
    )
    loyalty_order_points_pending = fields.Boolean(compute="_compute_loyalty_standing")
    loyalty_affordable_reward_ids = fields.Many2many(
        "loyalty.reward",
        string="Rewards Within Reach",
        compute="_compute_loyalty_standing",
        help="Rewards the member's points pay for on this order (the Rewards "
        "button adds them).",
    )
    loyalty_point_name = fields.Char(compute="_compute_loyalty_standing")
    loyalty_campaign_note = fields.Char(
        string="Running Campaigns",
        compute="_compute_loyalty_standing",
        help="The earn campaigns running for sales orders that multiply the "
        "points of this quotation's lines (included in what it earns).",
    )
    loyalty_salesperson_warning = fields.Char(
        compute="_compute_loyalty_salesperson_warning"
    )

    @api.depends(
        "state",
        "partner_id",
        "company_id",
        "pricelist_id",
        "order_line.product_id",
        "order_line.product_uom_qty",
        "order_line.price_total",
        "order_line.points_cost",
    )
    def _compute_loyalty_standing(self):
        for order in self:
            standing = order._loyalty_quotation_standing()
            order.loyalty_member_state = standing["state"]
            order.loyalty_member_balance = standing["balance"]
            order.loyalty_member_tier_id = standing["tier"]
            order.loyalty_order_points = standing["earned"]
            order.loyalty_order_points_pending = standing["pending"]
            order.loyalty_affordable_reward_ids = standing["rewards"]
            order.loyalty_point_name = standing["point_name"]
            order.loyalty_campaign_note = " · ".join(standing["campaigns"]) or False

    def _loyalty_quotation_standing(self):
        """The member's figures a salesperson sees on this quotation: only
        numbers (the card's balance and tier, what the order earns, the
        rewards affordable), read as superuser so that a member followed by
        another salesperson, or who bought from them, shows the same."""
        self.ensure_one()
        program = self.company_id.loyalty_membership_program_id
        standing = {
            "state": False,
            "balance": 0.0,
            "tier": self.env["loyalty.tier"],
            "earned": 0.0,
            "pending": False,
            "rewards": self.env["loyalty.reward"],
            "point_name": False,
            "campaigns": [],
        }
        if not program or not self.partner_id or self.state not in QUOTATION_STATES:
            return standing
        order = self.sudo()
        program = program.sudo()
        card = order._loyalty_card_for(program)
        earned = order._loyalty_quotation_points(program)
        standing.update(
            point_name=program.portal_point_name or self.env._("Points"),
            earned=earned,
            pending=bool(earned and program.loyalty_pending_days),
            campaigns=order._loyalty_quotation_campaigns(program, card),
        )
        if not card:
            standing["state"] = "joining" if program.loyalty_auto_enroll else "closed"
            return standing
        standing.update(
            state="member",
            balance=card.points,
            tier=card.loyalty_tier_id.with_env(self.env),
            rewards=order._loyalty_affordable_rewards(card, earned).with_env(self.env),
        )
        return standing

    def _loyalty_quotation_points(self, program):
        """Points the order earns in ``program`` once confirmed, computed as
        confirmation computes them (``_program_check_compute_points``: the
        program's rules, the tier's multiplier, the enrolment switch), the
        program's conditions on the order (dates, pricelist...) included."""
        if not program.filtered_domain(self._get_program_domain()):
            return 0.0
        status = self._program_check_compute_points(program).get(program, {})
        if "error" in status:
            return 0.0
        return sum(status.get("points", [])[:1])

    def _loyalty_quotation_campaigns(self, program, card):
        """Labels of the campaigns running for sales orders today that
        multiply points of this quotation's lines (as confirmation applies
        them: ``sale_order_campaign``), highest multiplier first."""
        Campaign = self.env["loyalty.campaign"]
        today = fields.Date.context_today(self)
        campaigns = Campaign._loyalty_running(
            program.id, "sale", today, tier_id=card.loyalty_tier_id.id or False
        )
        products = self.order_line.filtered(
            lambda ln: not ln.is_reward_line and not ln.display_type
        ).product_id
        matching = [
            c
            for c in campaigns
            if c["multiplier"] != 1.0
            and products
            and (
                (not c["products"] and not c["categories"])
                or any(
                    p.id in c["products"] or p.categ_id.id in c["categories"]
                    for p in products
                )
            )
        ]
        if not matching:
            return []
        names = dict(
            Campaign.browse([c["id"] for c in matching]).mapped(
                lambda c: (c.id, c.name)
            )
        )
        return [
            Campaign._loyalty_label(names[c["id"]], c["multiplier"], c["date_to"])
            for c in sorted(matching, key=lambda c: (-c["multiplier"], c["id"]))
        ]

    def _loyalty_affordable_rewards(self, card, earned):
        """The rewards of ``card``'s program its points pay for on this order
        now: the card's points (and what the order earns, when the program
        lets an order spend its own points at once), less the rewards
        already on the order; the reward catalog's checks apply (tier,
        window, stock, limits). Discounts already applied are left out, as
        the Rewards button leaves them out."""
        program = card.program_id
        points = card.points - sum(
            self.order_line.filtered(lambda ln: ln.coupon_id == card).mapped(
                "points_cost"
            )
        )
        if program.applies_on != "future" and not program.loyalty_pending_days:
            points += earned
        applied = self.order_line.reward_id
        return program.reward_ids.filtered(
            lambda r: (
                r.active
                and float_compare(r.required_points, points, precision_digits=2) <= 0
                and not (r.reward_type == "discount" and r in applied)
                and not self._loyalty_catalog_error(r, card)
            )
        ).sorted(lambda r: (r.required_points, r.id))

    # ------------------------------------------------------------------
    # A customer followed by another salesperson
    # ------------------------------------------------------------------
    def _loyalty_other_salesperson(self, user):
        """The salesperson ``user`` of a new quotation when
        the current user, who sees only their own documents, cannot save it
        (Odoo makes the customer's salesperson the quotation's), else an
        empty recordset."""
        me = self.env.user
        if (
            self.env.su
            or not user
            or user == me
            or not me.has_group("sales_team.group_sale_salesman")
            or me.has_group("sales_team.group_sale_salesman_all_leads")
        ):
            return self.env["res.users"]
        return user

    def _loyalty_other_salesperson_message(self, user, partner):
        return self.env._(
            "%(customer)s is followed by %(salesperson)s: Odoo makes their "
            "quotations %(salesperson)s's, and you can only save your own. To "
            "quote them yourself, choose yourself as Salesperson (Other Info "
            "tab), or ask %(salesperson)s or a sales manager.",
            customer=partner.with_context(show_address=False).display_name,
            salesperson=user.name,
        )

    @api.depends("partner_id", "user_id")
    def _compute_loyalty_salesperson_warning(self):
        for order in self:
            other = (
                not order._origin.id
                and order.partner_id
                and order._loyalty_other_salesperson(order.user_id)
            )
            order.loyalty_salesperson_warning = (
                order._loyalty_other_salesperson_message(other, order.partner_id)
                if other
                else False
            )

    @api.model_create_multi
    def create(self, vals_list):
        """A quotation a salesperson cannot save (the customer's salesperson
        is another, see ``_loyalty_other_salesperson``) is refused in plain
        words, before anything is written, instead of Odoo's access error."""
        Partner = self.env["res.partner"]
        for vals in vals_list:
            if not vals.get("partner_id"):
                continue
            partner = Partner.browse(vals["partner_id"])
            if "user_id" in vals:
                user = self.env["res.users"].browse(vals["user_id"])
            else:
                # As sale.order._compute_user_id.
                user = partner.user_id or partner.commercial_partner_id.user_id
            other = self._loyalty_other_salesperson(user)
            if other:
                raise UserError(self._loyalty_other_salesperson_message(other, partner))
        return super().create(vals_list)
