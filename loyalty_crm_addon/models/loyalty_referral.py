# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import re
import secrets

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_compare

from ..engine.ledger import ENGINE, PROTECTED_FIELDS

# No 0/O, 1/I: codes are read aloud at the till and typed from a phone.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
PAID_POS_STATES = ("paid", "done", "invoiced")
REJECT_REASONS = [
    ("self", "Self-referral"),
    ("same_entity", "Same company as the referrer"),
    ("same_email", "Same email as the referrer"),
    ("same_phone", "Same phone as the referrer"),
    ("same_vat", "Same tax ID as the referrer"),
    ("same_address", "Same address as the referrer"),
    ("prior_purchase", "Already a customer"),
    ("monthly_cap", "Referrer's monthly cap reached"),
    ("circular", "Circular referral"),
    ("manual", "Withdrawn"),
    ("order_cancelled", "Converting order cancelled or refunded"),
]


def normalize_code(code):
    """``abcd 2345``, ``ABCD-2345`` and ``abcd2345`` are the same code."""
    raw = re.sub(r"[^A-Z0-9]", "", (code or "").upper())
    half = CODE_LENGTH // 2
    return f"{raw[:half]}-{raw[half:]}" if len(raw) == CODE_LENGTH else raw


def _norm_email(value):
    return re.sub(r"\s+", "", value or "").lower()


def _norm_phone(value):
    # +32 470 12 34 56, 0470/12.34.56 and 0032470123456 end the same way.
    digits = re.sub(r"\D", "", value or "")
    return digits[-9:] if len(digits) >= 6 else ""


def _norm_vat(value):
    vat = re.sub(r"[^A-Z0-9]", "", (value or "").upper())
    return vat[2:] if len(vat) > 2 and vat[:2].isalpha() else vat


def _norm_text(value):
    return re.sub(r"[^a-z0-9]", "", (value or "").lower())


def _address_key(partner):
    """The street address, normalised (case, spaces, punctuation)."""
    street = _norm_text(partner.street)
    place = _norm_text(partner.zip or partner.city)
    return (street, place) if street and place else False


class LoyaltyReferral(models.Model):
    _name = "loyalty.referral"
    _description = "Loyalty Referral"
    _inherit = ["mail.thread"]
    _order = "date desc, id desc"
    _check_company_auto = True

    referrer_id = fields.Many2one(
        "res.partner",
        required=True,
        index=True,
        ondelete="restrict",
        readonly=True,
        tracking=True,
    )
    referee_id = fields.Many2one(
        "res.partner",
        string="Referred Customer",
        required=True,
        index=True,
        ondelete="restrict",
        readonly=True,
        tracking=True,
    )
    referee_commercial_id = fields.Many2one(
        "res.partner",
        related="referee_id.commercial_partner_id",
        store=True,
        index=True,
        string="Referred Company",
    )
    code = fields.Char(required=True, readonly=True, index=True)
    program_id = fields.Many2one(
        "loyalty.program",
        required=True,
        readonly=True,
        ondelete="restrict",
        check_company=True,
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, readonly=True
    )
    channel = fields.Selection(
        [
            ("contact", "Contact"),
            ("sale", "Sales Order"),
            ("pos", "Point of Sale"),
            ("signup", "Portal Sign-up"),
        ],
        string="Entered On",
        required=True,
        default="contact",
        readonly=True,
    )
    state = fields.Selection(
        [
            ("pending", "Pending"),
            ("converted", "Converted"),
            ("rejected", "Rejected"),
        ],
        required=True,
        default="pending",
        index=True,
        readonly=True,
        tracking=True,
    )
    reject_reason = fields.Selection(REJECT_REASONS, readonly=True, tracking=True)
    reject_detail = fields.Char(readonly=True)
    date = fields.Datetime(
        string="Referred On", required=True, default=fields.Datetime.now, readonly=True
    )
    conversion_date = fields.Datetime(readonly=True, copy=False)
    order_ref = fields.Reference(
        [("sale.order", "Sales Order"), ("pos.order", "Point of Sale Order")],
        string="Converting Order",
        readonly=True,
        copy=False,
    )
    referrer_points = fields.Float(readonly=True, copy=False)
    referee_points = fields.Float(readonly=True, copy=False)
    converted_count = fields.Integer(
        string="Conversions",
        compute="_compute_converted_count",
        store=True,
        help="1 when converted: the conversion count in reports.",
    )
    ledger_line_ids = fields.One2many(
        "loyalty.ledger.line", "referral_id", string="Ledger Lines", readonly=True
    )

    def init(self):
        # A customer is referred once (a rejected attempt does not count).
        self.env.cr.execute(
            """
            CREATE UNIQUE INDEX IF NOT EXISTS loyalty_referral_referee_active_uniq
            ON loyalty_referral (referee_commercial_id)
            WHERE state IN ('pending', 'converted')
            """
        )

    @api.depends("state")
    def _compute_converted_count(self):
        for referral in self:
            referral.converted_count = int(referral.state == "converted")

    @api.depends("code", "referee_id")
    def _compute_display_name(self):
        for referral in self:
            referral.display_name = "%s → %s" % (
                referral.code or "",
                referral.referee_id.display_name or "",
            )

    @api.model
    def _loyalty_generate_codes(self, count):
        """``count`` random codes such as ``K7QM-3XTA`` (not checked for
        uniqueness: see ``res.partner._loyalty_write_referral_codes``)."""
        return [
            normalize_code(
                "".join(secrets.choice(CODE_ALPHABET) for _i in range(CODE_LENGTH))
            )
            for _j in range(count)
        ]

    # ------------------------------------------------------------------
    # Registering a referral
    # ------------------------------------------------------------------
    @api.model
    def _loyalty_find_referrer(self, code):
        code = normalize_code(code)
        referrer = (
            self.env["res.partner"]
            .sudo()
            .with_context(active_test=False)
            .search([("loyalty_referral_code", "=", code)], limit=1)
            if code
            else None
        )
        if not referrer:
            raise UserError(self.env._("No member has the referral code %s.", code))
        return referrer

    @api.model
    def _loyalty_register(self, partner, referrer, channel, order=None, strict=True):
        """Record that ``referrer`` (a partner, or their code) brought
        ``partner``; fraud checks may reject it at once. Returns the
        referral. Not ``strict`` (a code arriving with a paid order): an
        unknown code or a customer referred already changes nothing."""
        if isinstance(referrer, str):
            if not strict:
                referrer = (
                    self.env["res.partner"]
                    .sudo()
                    .search(
                        [("loyalty_referral_code", "=", normalize_code(referrer))],
                        limit=1,
                    )
                )
                if not referrer:
                    return self.browse()
            else:
                referrer = self._loyalty_find_referrer(referrer)
        referrer = referrer.commercial_partner_id
        if not referrer.loyalty_referral_code:
            raise UserError(
                self.env._("%s has no referral code.", referrer.display_name)
            )
        company = (order.company_id if order else False) or self.env.company
        program = company.loyalty_membership_program_id
        if not program:
            if not strict:
                return self.browse()
            raise UserError(
                self.env._(
                    "Choose the company's membership program in the Loyalty "
                    "settings first."
                )
            )
        Referral = self.sudo()
        active = Referral.search(
            [
                ("referee_commercial_id", "=", partner.commercial_partner_id.id),
                ("state", "in", ("pending", "converted")),
            ],
            limit=1,
        )
        if active.referrer_id == referrer:
            return active
        if active.state == "converted":
            if not strict:
                return active
            raise UserError(
                self.env._(
                    "%s was already referred by another member.",
                    partner.commercial_partner_id.display_name,
                )
            )
        active._loyalty_reject(
            "manual",
            self.env._("Replaced by the code %s", referrer.loyalty_referral_code),
        )
        referral = Referral.create(
            {
                "referrer_id": referrer.id,
                "referee_id": partner.id,
                "code": referrer.loyalty_referral_code,
                "program_id": program.id,
                "company_id": company.id,
                "channel": channel,
                # The order giving the code is not a purchase "before" it.
                "date": order.date_order if order else fields.Datetime.now(),
            }
        )
        if partner.loyalty_referred_by_id != referrer:
            # The referral is registered and checked here: the contact
            # follows it (a Python object, not a flag an RPC call can send).
            partner.sudo().with_context(loyalty_referral_sync=ENGINE).write(
                {"loyalty_referred_by_id": referrer.id}
            )
        reason, detail = referral._loyalty_fraud_reason(exclude=order)
        if reason:
            referral._loyalty_reject(reason, detail)
        return referral

    def _loyalty_reject(self, reason, detail=False):
        if self:
            self.sudo().write(
                {"state": "rejected", "reject_reason": reason, "reject_detail": detail}
            )

    def action_reject(self):
        """Staff withdraw pending referrals."""
        if not self.env.user.has_group("loyalty_crm_addon.group_loyalty_manager"):
            raise UserError(self.env._("Only loyalty managers reject referrals."))
        pending = self.filtered(lambda r: r.state == "pending")
        pending._loyalty_reject(
            "manual", self.env._("Rejected by %s", self.env.user.name)
        )
        return True

    # ------------------------------------------------------------------
    # Fraud checks
    # ------------------------------------------------------------------
    def _loyalty_fraud_reason(self, exclude=None, before=None):
        """(reason, detail) of the first fraud rule the referral breaks,
        (False, False) when it breaks none. ``exclude`` is the order being
        converted; ``before`` limits the purchases that count as earlier."""
        self.ensure_one()
        referrer, referee = self.referrer_id, self.referee_id
        if referee == referrer:
            return "self", False
        if referee.commercial_partner_id == referrer.commercial_partner_id:
            return "same_entity", referrer.commercial_partner_id.display_name
        if self._loyalty_is_circular():
            return "circular", False
        referrers = referrer | referrer.commercial_partner_id | referrer.child_ids
        referees = referee | referee.commercial_partner_id
        for reason, normalize, field_names in (
            ("same_email", _norm_email, ("email",)),
            ("same_phone", _norm_phone, ("phone", "mobile")),
            ("same_vat", _norm_vat, ("vat",)),
        ):
            mine = {normalize(p[f]) for p in referrers for f in field_names if p[f]} - {
                ""
            }
            theirs = {
                normalize(p[f]) for p in referees for f in field_names if p[f]
            } - {""}
            if mine & theirs:
                return reason, sorted(mine & theirs)[0]
        mine = {_address_key(p) for p in referrers} - {False}
        if mine & {_address_key(p) for p in referees}:
            return "same_address", referee.contact_address.replace("\n", ", ").strip()
        earlier = self._loyalty_earlier_purchase(exclude=exclude, before=before)
        if earlier:
            return "prior_purchase", earlier
        return False, False

    def _loyalty_is_circular(self):
        """The referee (or someone they brought) referred the referrer."""
        self.ensure_one()
        target = self.referee_commercial_id
        partner, seen = self.referrer_id.commercial_partner_id, set()
        while partner and partner.id not in seen:
            seen.add(partner.id)
            upstream = self.sudo().search(
                [
                    ("referee_commercial_id", "=", partner.id),
                    ("state", "in", ("pending", "converted")),
                    ("id", "!=", self.id),
                ],
                limit=1,
            )
            partner = upstream.referrer_id.commercial_partner_id
            if partner == target:
                return True
        return False

    def _loyalty_earlier_purchase(self, exclude=None, before=None):
        """Name of an order the referee confirmed or paid before, if any."""
        self.ensure_one()
        domain = [("partner_id", "child_of", self.referee_commercial_id.id)]
        if before:
            domain.append(("date_order", "<", before))
        for model, states in (
            ("sale.order", ("sale", "done")),
            ("pos.order", PAID_POS_STATES),
        ):
            order_domain = domain + [("state", "in", states)]
            if exclude and exclude._name == model:
                order_domain.append(("id", "not in", exclude.ids))
            found = self.env[model].sudo().search(order_domain, limit=1)
            if found:
                return found.name
        return False

    # ------------------------------------------------------------------
    # Conversion
    # ------------------------------------------------------------------
    @api.model
    def _loyalty_convert(self, orders):
        """Convert the referrals of the customers of ``orders`` (confirmed
        sales orders or paid POS orders): the first order above the
        program's minimum earns ``referral`` points on both sides. Codes
        entered on the orders are registered first."""
        if orders._name == "sale.order":
            orders, channel = orders.filtered(lambda o: o.state == "sale"), "sale"
        else:
            orders = orders.filtered(lambda o: o.state in PAID_POS_STATES)
            channel = "pos"
        for order in orders.filtered(
            lambda o: o.loyalty_referral_code and o.partner_id
        ):
            self._loyalty_register(
                order.partner_id,
                order.loyalty_referral_code,
                channel,
                order=order,
                strict=False,
            )
        customers = orders.partner_id.commercial_partner_id
        if not customers:
            return self.browse()
        referrals = self.sudo().search(
            [("state", "=", "pending"), ("referee_commercial_id", "in", customers.ids)]
        )
        if not referrals:
            return self.browse()
        by_customer = {r.referee_commercial_id: r for r in referrals}
        # A referrer's conversions are counted under their card's row lock:
        # two tills converting for one referrer cannot both pass the cap.
        self.env["loyalty.card"].sudo().search(
            [
                ("partner_id", "in", referrals.referrer_id.ids),
                ("program_id", "in", referrals.program_id.ids),
            ]
        )._loyalty_lock()
        month_start = fields.Datetime.now().replace(
            day=1, hour=0, minute=0, second=0, microsecond=0
        )
        converted_this_month = dict(
            self.sudo()._read_group(
                [
                    ("referrer_id", "in", referrals.referrer_id.ids),
                    ("state", "=", "converted"),
                    ("conversion_date", ">=", month_start),
                ],
                ["referrer_id"],
                ["__count"],
            )
        )
        Ledger = self.env["loyalty.ledger.line"]
        vals_list, events, done = [], [], self.sudo().browse()
        for order in orders.sorted("id"):
            referral = by_customer.get(order.partner_id.commercial_partner_id)
            program = referral.program_id if referral else None
            if not referral or referral.state != "pending" or referral in done:
                continue
            minimum = program.loyalty_referral_min_amount
            if float_compare(order.amount_total, minimum, precision_digits=2) < 0:
                continue
            reason, detail = referral._loyalty_fraud_reason(
                exclude=order, before=referral.date
            )
            referrer = referral.referrer_id
            cap = program.loyalty_referral_monthly_cap
            if not reason and cap and converted_this_month.get(referrer, 0) >= cap:
                reason = "monthly_cap"
                detail = self.env._("%s conversions this month", cap)
            if reason:
                referral._loyalty_reject(reason, detail)
                continue
            converted_this_month[referrer] = converted_this_month.get(referrer, 0) + 1
            vals_list += referral._loyalty_prepare_points(order)
            referral.write(
                {
                    "state": "converted",
                    "conversion_date": fields.Datetime.now(),
                    "order_ref": "%s,%s" % (order._name, order.id),
                    "referrer_points": program.loyalty_referrer_points,
                    "referee_points": program.loyalty_referee_points,
                }
            )
            events.append(referral._loyalty_event_vals())
            done |= referral
        Ledger._post(vals_list)
        self.env["loyalty.member.event"]._emit(events)
        return done

    @api.model
    def _loyalty_revert(self, orders, **values):
        """Referrals converted by ``orders`` (cancelled, or refunded in full)
        are withdrawn: the referral points of both sides are reversed and the
        referral is rejected, so that buying and returning earns nothing."""
        refs = [f"{order._name},{order.id}" for order in orders]
        referrals = self.sudo().search(
            [("state", "=", "converted"), ("order_ref", "in", refs)]
        )
        if not referrals:
            return self.browse()
        vals_list = []
        for line in referrals.ledger_line_ids.filtered(
            lambda ln: ln.entry_type == "referral"
        ):
            vals_list += line._prepare_reversal(
                source="referral", referral_id=line.referral_id.id, **values
            )
        referrals._loyalty_reject(
            "order_cancelled",
            self.env._("The order that converted the referral was cancelled."),
        )
        self.env["loyalty.ledger.line"]._post(vals_list)
        return referrals

    def _loyalty_cards(self):
        """{partner: card} of the referrer and referee, enrolled if needed."""
        self.ensure_one()
        partners = self.referrer_id | self.referee_commercial_id
        return partners._loyalty_enroll(self.program_id)

    def _loyalty_prepare_points(self, order):
        self.ensure_one()
        program = self.program_id
        cards = self._loyalty_cards()
        Ledger = self.env["loyalty.ledger.line"]
        state = "pending" if program.loyalty_pending_days else "posted"
        vals_list = []
        for partner, points, label in (
            (
                self.referrer_id,
                program.loyalty_referrer_points,
                self.env._(
                    "Referral: %s made a first purchase",
                    self.referee_commercial_id.name,
                ),
            ),
            (
                self.referee_commercial_id,
                program.loyalty_referee_points,
                self.env._("Welcome: referred by %s", self.referrer_id.name),
            ),
        ):
            if float_compare(points, 0, precision_digits=2) <= 0:
                continue
            card = cards[partner]
            card._loyalty_lock()
            vals_list.append(
                Ledger._prepare_line(
                    card,
                    "referral",
                    points,
                    state=state,
                    source="referral",
                    referral_id=self.id,
                    reference=order.name,
                    description=label,
                )
            )
        return vals_list

    def _loyalty_event_vals(self):
        self.ensure_one()
        card = self._loyalty_cards()[self.referrer_id]
        return self.env["loyalty.member.event"]._prepare_event(
            card,
            "referral_converted",
            f"referral_converted:{self.id}",
            points=self.program_id.loyalty_referrer_points,
            description=self.env._(
                "%(referee)s, referred by %(referrer)s, made a first purchase",
                referee=self.referee_commercial_id.name,
                referrer=self.referrer_id.name,
            ),
        )

    def action_open_order(self):
        self.ensure_one()
        if not self.order_ref:
            return False
        return {
            "type": "ir.actions.act_window",
            "res_model": self.order_ref._name,
            "res_id": self.order_ref.id,
            "view_mode": "form",
        }


class LoyaltyLedgerLine(models.Model):
    _inherit = "loyalty.ledger.line"

    referral_id = fields.Many2one(
        "loyalty.referral", index="btree_not_null", ondelete="restrict", readonly=True
    )


# The referral a line comes from is part of its immutable source.
PROTECTED_FIELDS.add("referral_id")
