# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import math

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tools import SQL, float_is_zero, float_round

from ..engine.ledger import ENGINE, PRECISION

# The public methods' limits: points as the ledger stores them, texts as a
# person types them.
MAX_POINTS = 10**9
MAX_REFERENCE = 128
MAX_TEXT = 256
CONSENT_VALUES = [("in", "Opted in"), ("out", "Opted out")]
CONSENT_CHANNELS = [
    ("backend", "Back Office"),
    ("pos", "Point of Sale"),
    ("sale", "Sales"),
    ("portal", "Portal"),
    ("import", "Import"),
]
CONSENT_FIELDS = ["loyalty_consent", "loyalty_consent_date", "loyalty_consent_channel"]
# Figures the engine keeps on the contact: nobody else writes them.
ENGINE_PARTNER_FIELDS = {
    "loyalty_card_ids",
    "loyalty_card_id",
    "loyalty_balance",
    "loyalty_pending_balance",
    "loyalty_expiring_points",
    "loyalty_next_expiry_date",
    "loyalty_tier_id",
    "loyalty_tier_points",
    "loyalty_next_tier_id",
    "loyalty_points_to_next_tier",
    "loyalty_last_activity_date",
    "loyalty_ledger_line_count",
    "loyalty_has_expiring_points",
    "loyalty_birthday_this_month",
    "loyalty_referral_code",
    "loyalty_referral_ids",
    "loyalty_referral_count",
    "loyalty_referral_converted_count",
    "loyalty_referral_conversion_rate",
    "loyalty_referral_points",
    "loyalty_referral_url",
    "loyalty_referred_by_locked",
    "loyalty_segment",
    "loyalty_churn_score",
    "loyalty_churn_reason",
    "loyalty_points_habit",
    "loyalty_claim_ids",
    "loyalty_claim_count",
}


class ResPartner(models.Model):
    _inherit = "res.partner"

    loyalty_card_ids = fields.One2many(
        "loyalty.card", "partner_id", string="Loyalty Cards", readonly=True
    )
    loyalty_card_id = fields.Many2one(
        "loyalty.card",
        string="Membership Card",
        compute="_compute_loyalty_card_id",
        compute_sudo=True,
    )
    loyalty_balance = fields.Float(
        string="Loyalty Points",
        compute="_compute_loyalty_figures",
        search="_search_loyalty_balance",  # res_partner_loyalty_standing.py
        compute_sudo=True,
        digits=(16, PRECISION),
        help="Points the member can spend now.",
    )
    loyalty_pending_balance = fields.Float(
        string="Pending Points",
        compute="_compute_loyalty_figures",
        compute_sudo=True,
        digits=(16, PRECISION),
        help="Points earned but not yet available (return period).",
    )
    loyalty_expiring_points = fields.Float(
        string="Expiring Soon",
        compute="_compute_loyalty_figures",
        compute_sudo=True,
        digits=(16, PRECISION),
        help="Points that expire within the program's expiry warning period.",
    )
    loyalty_next_expiry_date = fields.Date(
        string="Next Expiry", compute="_compute_loyalty_figures", compute_sudo=True
    )
    # loyalty_tier_id: res_partner_loyalty_standing.py
    # Stored copy of the card's tier (the card is the truth) so staff can
    # filter and group members by tier.
    loyalty_member_tier_id = fields.Many2one(
        "loyalty.tier",
        string="Tier",
        compute="_compute_loyalty_member_tier_id",
        store=True,
        index=True,
        compute_sudo=True,
        help="The tier of the member's membership card.",
    )
    loyalty_tier_points = fields.Float(
        string="Qualifying Points",
        compute="_compute_loyalty_tier_progress",
        compute_sudo=True,
        help="Points earned within the program's tier window.",
    )
    loyalty_next_tier_id = fields.Many2one(
        "loyalty.tier", compute="_compute_loyalty_tier_progress", compute_sudo=True
    )
    loyalty_points_to_next_tier = fields.Float(
        compute="_compute_loyalty_tier_progress", compute_sudo=True
    )
    loyalty_last_activity_date = fields.Date(
        string="Last Loyalty Activity",
        readonly=True,
        copy=False,
        index=True,
        help="Last day the member earned or redeemed points.",
    )
    loyalty_ledger_line_count = fields.Integer(
        compute="_compute_loyalty_figures", compute_sudo=True
    )
    loyalty_birthday = fields.Date(string="Birthday", copy=False)

    @api.depends_context("company")
    @api.depends("loyalty_card_ids", "commercial_partner_id.loyalty_card_ids")
    def _compute_loyalty_card_id(self):
        program = self.env.company.loyalty_membership_program_id
        holders = self | self.commercial_partner_id
        cards = self.env["loyalty.card"]
        if program and holders.ids:
            cards = cards.search(
                [("program_id", "=", program.id), ("partner_id", "in", holders.ids)]
            )
        card_by_partner = {}
        for card in cards:
            card_by_partner.setdefault(card.partner_id, card)
        for partner in self:
            # The member is the commercial partner: a company's contacts
            # share its card. A contact who became a company's keeps their
            # own card, shown until the company has one.
            partner.loyalty_card_id = card_by_partner.get(
                partner.commercial_partner_id
            ) or card_by_partner.get(partner._origin, cards.browse())

    @api.depends(
        "loyalty_card_ids.loyalty_tier_id",
        "commercial_partner_id.loyalty_card_ids.loyalty_tier_id",
    )
    def _compute_loyalty_member_tier_id(self):
        for partner in self:
            cards = (
                partner.commercial_partner_id.loyalty_card_ids
                or partner.loyalty_card_ids
            ).filtered(lambda c: c.program_id.loyalty_tier_ids)
            partner.loyalty_member_tier_id = cards.sorted("id")[:1].loyalty_tier_id

    @api.depends_context("company")
    @api.depends(
        "loyalty_card_ids.points",
        "loyalty_card_ids.ledger_line_ids.state",
        "loyalty_card_ids.ledger_line_ids.points_residual",
        "commercial_partner_id.loyalty_card_ids.points",
        "commercial_partner_id.loyalty_card_ids.ledger_line_ids.state",
        "commercial_partner_id.loyalty_card_ids.ledger_line_ids.points_residual",
    )
    def _compute_loyalty_figures(self):
        figures = self.loyalty_card_id._loyalty_figures()
        for partner in self:
            card = partner.loyalty_card_id
            pending, expiring, first, count = figures.get(card, (0.0, 0.0, False, 0))
            partner.loyalty_balance = card.points
            partner.loyalty_pending_balance = pending
            partner.loyalty_expiring_points = expiring
            partner.loyalty_next_expiry_date = first
            partner.loyalty_ledger_line_count = count

    @api.depends_context("company")
    @api.depends(
        "loyalty_card_ids.ledger_line_ids",
        "commercial_partner_id.loyalty_card_ids.ledger_line_ids",
        "loyalty_tier_id",
    )
    def _compute_loyalty_tier_progress(self):
        cards = self.loyalty_card_id
        points = cards._loyalty_qualifying_points()
        for partner in self:
            card = partner.loyalty_card_id
            qualifying = points.get(card, 0.0)
            tiers = card.program_id.loyalty_tier_ids.filtered(
                lambda t, q=qualifying: t.threshold > q
            ).sorted("threshold")
            partner.loyalty_tier_points = qualifying
            partner.loyalty_next_tier_id = tiers[:1]
            partner.loyalty_points_to_next_tier = (
                tiers[:1].threshold - qualifying if tiers else 0.0
            )

    def _loyalty_check_engine_fields(self, fnames):
        """Engine figures are read-only for everyone (the administrator
        included, over RPC too); server code running as superuser (merge,
        imports) and the engine may write them."""
        touched = ENGINE_PARTNER_FIELDS.intersection(fnames)
        if (
            touched
            and not self.env.su
            and self.env.context.get("loyalty_ledger_origin") is not ENGINE
        ):
            raise UserError(
                self.env._(
                    "%(fields)s: kept by the loyalty engine, nobody changes "
                    "them by hand.",
                    fields=", ".join(sorted(self._fields[f].string for f in touched)),
                )
            )

    @api.model_create_multi
    def create(self, vals_list):
        defaults = {
            key[len("default_") :]
            for key in self.env.context
            if isinstance(key, str) and key.startswith("default_")
        }
        for vals in vals_list:
            self._loyalty_check_engine_fields(set(vals) | defaults)
        return super().create(vals_list)

    def write(self, vals):
        self._loyalty_check_engine_fields(vals)
        return super().write(vals)

    def unlink(self):
        # Their POS orders stay, without customer (KPI order facts).
        self.env["loyalty.kpi.order"]._touch_customers_orders(self.ids)
        return super().unlink()

    def _loyalty_touch_activity(self):
        """Today is the members' (and their companies') last loyalty
        activity. One plain UPDATE, reading nothing first: an engine-owned
        date, written on every order and redemption, that must not go through
        the contact sync of ``write``; rows already at today are not
        rewritten (nor locked). Posting sends the same statement along with
        the lots it spends (``_loyalty_touch_activity_sql``)."""
        sql = self._loyalty_touch_activity_sql()
        if sql:
            self.env.cr.execute(sql)
            self._loyalty_touched([row[0] for row in self.env.cr.fetchall()])

    def _loyalty_touch_activity_sql(self):
        """The UPDATE of ``_loyalty_touch_activity`` (``RETURNING id``), or
        None without contacts; ``_loyalty_touched`` takes the ids it
        returns."""
        if not self.ids:
            return None
        today = fields.Date.context_today(self._loyalty_with_tz())
        self.flush_recordset(["commercial_partner_id", "loyalty_last_activity_date"])
        return SQL(
            """
            UPDATE res_partner SET loyalty_last_activity_date = %(today)s
             WHERE id IN (SELECT id FROM res_partner WHERE id = ANY(%(ids)s)
                           UNION
                          SELECT commercial_partner_id FROM res_partner
                           WHERE id = ANY(%(ids)s))
               AND loyalty_last_activity_date IS DISTINCT FROM %(today)s
            RETURNING id
            """,
            today=today,
            ids=self.ids,
        )

    def _loyalty_touched(self, ids):
        """Contacts whose activity date the statement above moved."""
        self.browse(ids).invalidate_recordset(["loyalty_last_activity_date"])

    # ------------------------------------------------------------------
    # Public API
    # ------------------------------------------------------------------
    def _loyalty_check_group(self, xmlid):
        if not self.env.su and not self.env.user.has_group(xmlid):
            raise AccessError(
                self.env._("You are not allowed to do this with loyalty points.")
            )

    def _loyalty_member_card_orm(self):
        """``_loyalty_member_card`` through the ORM: the same card, or the
        error saying why there is none."""
        self.ensure_one()
        partner = self.commercial_partner_id
        if not (self.active and partner.active):
            raise UserError(self.env._("%s is archived.", self.display_name))
        card = self.sudo().loyalty_card_id
        if not card:
            raise UserError(
                self.env._("%s has no membership card.", partner.display_name)
            )
        if card.company_id and card.company_id not in self.env.companies:
            raise UserError(
                self.env._("This membership card belongs to another company.")
            )
        return card

    def _loyalty_one(self):
        """The public methods act on one member at a time."""
        if len(self) != 1:
            raise UserError(
                self.env._(
                    "Loyalty points are moved for one contact at a time "
                    "(%(count)s given).",
                    count=len(self),
                )
            )

    @api.model
    def _loyalty_check_points(self, points):
        """Points are finite numbers within the ledger's range and its two
        decimals."""
        if isinstance(points, bool) or not isinstance(points, int | float):
            raise UserError(self.env._("Points must be a number."))
        if (isinstance(points, float) and not math.isfinite(points)) or abs(
            points
        ) > MAX_POINTS:
            raise UserError(
                self.env._(
                    "Points must be a number between -%(max)s and %(max)s.",
                    max=MAX_POINTS,
                )
            )
        if abs(float_round(points, precision_digits=PRECISION) - points) > 1e-9:
            raise UserError(self.env._("Points have at most %s decimals.", PRECISION))

    @api.model
    def _loyalty_check_text(self, text, label, size=MAX_TEXT, required=True):
        """A description, reason or reference: text of at most ``size``
        characters; returns it stripped (False when optional and empty)."""
        if text in (False, None, "") and not required:
            return False
        if not isinstance(text, str):
            raise UserError(self.env._("%s must be text.", label))
        text = text.strip()
        if not text and required:
            raise UserError(self.env._("%s is required.", label))
        if len(text) > size:
            raise UserError(
                self.env._(
                    "%(label)s is too long (%(size)s characters at most).",
                    label=label,
                    size=size,
                )
            )
        return text or False

    def loyalty_redeem_points(self, points, description, reference=False):
        """Spend ``points`` of the member's available balance.

        Returns the id of the ``redeem`` ledger line. The same ``reference``
        twice returns the first line and deducts once.
        """
        self._loyalty_one()
        self._loyalty_check_group("loyalty_crm_addon.group_loyalty_user")
        self._loyalty_check_points(points)
        if points <= 0:
            raise UserError(self.env._("Points to redeem must be positive."))
        description = self._loyalty_check_text(description, self.env._("Description"))
        reference = self._loyalty_check_text(
            reference, self.env._("Reference"), size=MAX_REFERENCE, required=False
        )
        card = self._loyalty_member_card()
        Ledger = self.env["loyalty.ledger.line"].sudo()
        if reference:
            # Read before the card is locked: a concurrent call with the same
            # reference waits on the card's row, then fails to serialize and
            # is retried, finding this call's line (and the unique index on
            # card and reference stands behind).
            done = Ledger.search(
                [
                    ("card_id", "=", card.id),
                    ("source", "=", "api"),
                    ("reference", "=", reference),
                ],
                limit=1,
            )
            if done:
                return done.id
        # The card is locked, checked and debited in one statement by the
        # ledger (a refused redemption writes nothing); points a till holds
        # for an order being paid are not spent here.
        try:
            line = Ledger._post(
                [
                    Ledger._prepare_line(
                        card,
                        "redeem",
                        -points,
                        source="api",
                        description=description,
                        reference=reference,
                    )
                ],
                keep_held=True,
            )
        except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY as error:
            busy = self._loyalty_busy(error)
            if busy is error:
                raise
            raise busy from error
        return line.id

    def loyalty_adjust_points(self, points, reason):
        """Add (or remove, when negative) points by hand; managers only."""
        self._loyalty_one()
        self._loyalty_check_group("loyalty_crm_addon.group_loyalty_manager")
        self._loyalty_check_points(points)
        if float_is_zero(points, precision_digits=PRECISION):
            raise UserError(self.env._("An adjustment needs a number of points."))
        reason = self._loyalty_check_text(reason, self.env._("Reason"))
        card = self._loyalty_member_card()
        return card._loyalty_adjust(points, reason).id

    def action_loyalty_enroll(self):
        """Make the partner a member of the company's membership program;
        returns the card id (the existing one if already a member)."""
        self._loyalty_one()
        self._loyalty_check_group("loyalty_crm_addon.group_loyalty_user")
        partner = self.commercial_partner_id
        if not partner.active:
            raise UserError(self.env._("%s is archived.", partner.display_name))
        program = self.env.company.loyalty_membership_program_id
        if not program:
            raise UserError(
                self.env._(
                    "Choose the company's membership program in the Loyalty "
                    "settings first."
                )
            )
        return (partner._loyalty_enroll(program)[partner]).id

    def _loyalty_enroll(self, program, silent=()):
        """Cards of ``program`` for the partners (commercial partners), made
        where missing; no note on the ``silent`` ones. Returns {partner: card}."""
        partners = self.commercial_partner_id
        Card = self.env["loyalty.card"].sudo()
        cards = Card.search(
            [("program_id", "=", program.id), ("partner_id", "in", partners.ids)]
        )
        card_by_partner = {}
        for card in cards:
            card_by_partner.setdefault(card.partner_id, card)
        missing = partners.filtered(lambda p: p not in card_by_partner)
        if missing:
            new_cards = Card.create(
                [
                    {"program_id": program.id, "partner_id": p.id, "points": 0}
                    for p in missing
                ]
            )
            card_by_partner.update(zip(missing, new_cards, strict=True))
            self.env["loyalty.program"]._loyalty_post_signup_bonuses(new_cards)
            # One note per new member, in one batch (order confirmation path);
            # none on the contacts an import has just created (its report
            # and the ledger say it).
            noted = missing.filtered(lambda p: p.id not in silent)
            body = Markup("<p>%s</p>") % self.env._(
                "Enrolled in %s.", program.display_name
            )
            noted.sudo()._message_log_batch(
                bodies=dict.fromkeys(noted.ids, body), message_type="notification"
            )
        return card_by_partner

    def action_open_loyalty_ledger(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "loyalty_crm_addon.action_loyalty_ledger_line"
        )
        action["domain"] = [("card_id", "=", self.loyalty_card_id.id)]
        action["context"] = {"search_default_group_by_month": 0}
        return action

    def action_open_loyalty_adjust(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Adjust Loyalty Points"),
            "res_model": "loyalty.ledger.adjust",
            "view_mode": "form",
            "target": "new",
            "context": {"default_partner_id": self.commercial_partner_id.id},
        }

    # ------------------------------------------------------------------
    # Reward catalog (claims: loyalty_reward_claim.py)
    # ------------------------------------------------------------------
    loyalty_claim_ids = fields.One2many(
        "loyalty.reward.claim", "partner_id", string="Reward Claims", readonly=True
    )
    loyalty_claim_count = fields.Integer(compute="_compute_loyalty_claim_count")

    def _compute_loyalty_claim_count(self):
        counts = dict(
            self.env["loyalty.reward.claim"]._read_group(
                [("partner_id", "in", self.commercial_partner_id.ids)],
                ["partner_id"],
                ["__count"],
            )
        )
        for partner in self:
            partner.loyalty_claim_count = counts.get(partner.commercial_partner_id, 0)

    def loyalty_claim_reward(self, reward_id, reference=False):
        """Claim a catalog reward for the member through the ledger; returns
        the claim id. The same ``reference`` twice claims once."""
        if len(self) != 1:
            raise UserError(self.env._("Claim a reward for one member at a time."))
        self._loyalty_check_group("loyalty_crm_addon.group_loyalty_user")
        if isinstance(reward_id, bool) or not isinstance(reward_id, int):
            raise UserError(self.env._("The reward is given by its id."))
        reward = self.env["loyalty.reward"].browse(reward_id).exists()
        if not reward:
            raise UserError(self.env._("This reward does not exist."))
        reward.check_access("read")
        claim = self.env["loyalty.reward.claim"]._loyalty_claim(
            self, reward, "api", reference=reference
        )
        return claim.id

    def action_open_loyalty_claim_wizard(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Redeem a Reward"),
            "res_model": "loyalty.reward.claim.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_partner_id": self.commercial_partner_id.id},
        }

    def action_open_loyalty_claims(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "loyalty_crm_addon.action_loyalty_reward_claim"
        )
        action["domain"] = [("partner_id", "=", self.commercial_partner_id.id)]
        return action
