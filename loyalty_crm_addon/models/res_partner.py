# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import math
from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, float_is_zero, float_round

from ..engine import member_pos, member_privacy, referral_codes
from ..engine.ledger import ENGINE, PRECISION
from ..engine.member_figures import EXPIRING_SOON_SQL, card_figures
from ..kpi import order_facts
from ..kpi.scoring import (
    SCORE_COLUMNS,
    SEGMENTS,
    read_scores,
    score_column_sql,
    score_domain,
    score_members,
)

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
    loyalty_birthday_this_month = fields.Boolean(
        compute="_compute_loyalty_birthday_this_month",
        search="_search_loyalty_birthday_this_month",
    )
    loyalty_days_since_upgrade = fields.Integer(
        string="Days Since Tier Upgrade",
        compute="_compute_loyalty_days_since_upgrade",
        search="_search_loyalty_days_since_upgrade",
        help="Days since the member last moved up a tier (mailings: members "
        "upgraded in the last N days).",
    )
    loyalty_has_expiring_points = fields.Boolean(
        compute="_compute_loyalty_has_expiring_points",
        search="_search_loyalty_has_expiring_points",
        help="Has points expiring within the program's warning period.",
    )

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

    def _loyalty_last_upgrades(self, since=None):
        """{partner id: date of their last tier upgrade event}"""
        domain = [("event_type", "=", "tier_upgrade"), ("state", "!=", "cancel")]
        if self.ids:
            domain.append(("partner_id", "in", self.ids))
        if since:
            domain.append(("date", ">=", since))
        return {
            partner.id: date
            for partner, date in self.env["loyalty.member.event"]
            .sudo()
            ._read_group(domain, ["partner_id"], ["date:max"])
        }

    def _compute_loyalty_days_since_upgrade(self):
        today = fields.Date.context_today(self)
        last = self._loyalty_last_upgrades()
        for partner in self:
            date = last.get(partner.id)
            partner.loyalty_days_since_upgrade = (
                (today - date.date()).days if date else -1
            )

    def _search_loyalty_days_since_upgrade(self, operator, value):
        if operator not in ("<=", "<") or not isinstance(value, int):
            raise UserError(
                self.env._(
                    'Search "Days Since Tier Upgrade" with "<=" and a number of days.'
                )
            )
        days = value if operator == "<=" else value - 1
        since = fields.Datetime.to_datetime(
            fields.Date.context_today(self) - timedelta(days=days)
        )
        return [("id", "in", list(self.browse()._loyalty_last_upgrades(since)))]

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
        figures = card_figures(self.loyalty_card_id)
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

    def _loyalty_touch_activity(self):
        """Today is the members' (and their companies') last loyalty
        activity. One plain UPDATE, reading nothing first: an engine-owned
        date, written on every order and redemption, that must not go through
        the contact sync of ``write``; rows already at today are not
        rewritten (nor locked)."""
        if not self.ids:
            return
        today = fields.Date.context_today(self)
        self.flush_recordset(["commercial_partner_id", "loyalty_last_activity_date"])
        self.env.cr.execute(
            """
            UPDATE res_partner SET loyalty_last_activity_date = %(today)s
             WHERE id IN (SELECT id FROM res_partner WHERE id = ANY(%(ids)s)
                           UNION
                          SELECT commercial_partner_id FROM res_partner
                           WHERE id = ANY(%(ids)s))
               AND loyalty_last_activity_date IS DISTINCT FROM %(today)s
            RETURNING id
            """,
            {"today": today, "ids": self.ids},
        )
        touched = self.browse(row[0] for row in self.env.cr.fetchall())
        touched.invalidate_recordset(["loyalty_last_activity_date"])

    # ------------------------------------------------------------------
    # Public API
    # ------------------------------------------------------------------
    def _loyalty_check_group(self, xmlid):
        if not self.env.su and not self.env.user.has_group(xmlid):
            raise AccessError(
                self.env._("You are not allowed to do this with loyalty points.")
            )

    def _loyalty_member_card(self):
        """The member's card in the company's membership program, or a clear
        error saying why there is none.

        One query on the hot path of every redemption: the contact as the
        user may read it (record rules applied in SQL), its company's
        activity and its card, found as ``loyalty_card_id`` finds it (the
        contact's own card, else its company's). The errors come from the
        ORM below, where nothing is in a hurry."""
        self.ensure_one()
        visible = self.with_context(active_test=False)._search([("id", "=", self.id)])
        self.env.cr.execute(
            SQL(
                """
                SELECT p.active AND cp.active, card.id, card.company_id
                  FROM res_partner p
                  JOIN res_partner cp ON cp.id = COALESCE(p.commercial_partner_id, p.id)
                  LEFT JOIN LATERAL (
                       SELECT c.id, c.company_id FROM loyalty_card c
                        WHERE c.program_id = (
                                SELECT loyalty_membership_program_id
                                  FROM res_company WHERE id = %(company)s)
                          AND c.active AND c.partner_id IN (p.id, cp.id)
                        ORDER BY c.partner_id = cp.id DESC, c.id
                        LIMIT 1
                  ) card ON TRUE
                 WHERE p.id IN %(visible)s
                """,
                company=self.env.company.id,
                visible=visible.subselect(),
            )
        )
        row = self.env.cr.fetchone()
        if not (row and row[0] and row[1]):
            return self._loyalty_member_card_orm()
        card = self.env["loyalty.card"].sudo().browse(row[1])
        if row[2] and row[2] not in self.env.companies.ids:
            raise UserError(
                self.env._("This membership card belongs to another company.")
            )
        return card

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

    def _compute_loyalty_birthday_this_month(self):
        month = fields.Date.context_today(self).month
        for partner in self:
            partner.loyalty_birthday_this_month = bool(
                partner.loyalty_birthday and partner.loyalty_birthday.month == month
            )

    def _search_loyalty_birthday_this_month(self, operator, value):
        month = fields.Date.context_today(self).month
        query = SQL(
            "(SELECT id FROM res_partner"
            " WHERE EXTRACT(MONTH FROM loyalty_birthday) = %s)",
            month,
        )
        positive = (operator == "=") == bool(value)
        return [("id", "in" if positive else "not in", query)]

    def _compute_loyalty_has_expiring_points(self):
        ids = set(
            self.search(
                [("id", "in", self.ids), ("loyalty_has_expiring_points", "=", True)]
            ).ids
        )
        for partner in self:
            partner.loyalty_has_expiring_points = partner.id in ids

    def _search_loyalty_has_expiring_points(self, operator, value):
        query = SQL(
            f"""
            (SELECT c.partner_id
              FROM loyalty_ledger_line l
              JOIN loyalty_card c ON c.id = l.card_id
              JOIN loyalty_program pr ON pr.id = c.program_id
             WHERE {EXPIRING_SOON_SQL})
            """,  # noqa: S608 -- a constant
            today=fields.Date.context_today(self),
        )
        positive = (operator == "=") == bool(value)
        return [("id", "in" if positive else "not in", query)]

    # ------------------------------------------------------------------
    # Referrals
    # ------------------------------------------------------------------
    loyalty_referral_code = fields.Char(
        string="Referral Code",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="The member's code: friends enter it on their first order.",
    )
    loyalty_referred_by_id = fields.Many2one(
        "res.partner",
        string="Referred By",
        copy=False,
        index="btree_not_null",
        tracking=True,
        domain="[('loyalty_referral_code', '!=', False)]",
        help="The member who brought this customer; can be set until the "
        "customer's first order.",
    )
    loyalty_referral_ids = fields.One2many(
        "loyalty.referral", "referrer_id", string="Referrals", readonly=True
    )
    loyalty_referral_count = fields.Integer(
        string="Referred Customers", compute="_compute_loyalty_referral_stats"
    )
    loyalty_referral_converted_count = fields.Integer(
        string="Converted Referrals", compute="_compute_loyalty_referral_stats"
    )
    loyalty_referral_conversion_rate = fields.Float(
        string="Conversion Rate (%)", compute="_compute_loyalty_referral_stats"
    )
    loyalty_referral_points = fields.Float(
        string="Points from Referrals",
        compute="_compute_loyalty_referral_stats",
        digits=(16, PRECISION),
    )
    loyalty_referral_url = fields.Char(
        string="Referral Link", compute="_compute_loyalty_referral_url"
    )
    loyalty_referred_by_locked = fields.Boolean(
        compute="_compute_loyalty_referred_by_locked",
        help="The customer ordered already: the referrer can no longer change.",
    )

    _sql_constraints = [
        (
            "loyalty_referral_code_unique",
            "UNIQUE(loyalty_referral_code)",
            "Referral codes are unique.",
        ),
    ]

    def _compute_loyalty_referral_stats(self):
        Referral = self.env["loyalty.referral"].sudo()
        stats = {
            (referrer, state): (count, points)
            for referrer, state, count, points in Referral._read_group(
                [("referrer_id", "in", self.ids)],
                ["referrer_id", "state"],
                ["__count", "referrer_points:sum"],
            )
        }
        for partner in self:
            total = sum(
                stats.get((partner, s), (0, 0))[0]
                for s in ("pending", "converted", "rejected")
            )
            converted, points = stats.get((partner, "converted"), (0, 0.0))
            partner.loyalty_referral_count = total
            partner.loyalty_referral_converted_count = converted
            partner.loyalty_referral_conversion_rate = (
                100.0 * converted / total if total else 0.0
            )
            partner.loyalty_referral_points = points

    @api.depends("loyalty_referral_code")
    def _compute_loyalty_referral_url(self):
        base_url = self.get_base_url()
        for partner in self:
            partner.loyalty_referral_url = (
                "%s/loyalty/r/%s" % (base_url, partner.loyalty_referral_code)
                if partner.loyalty_referral_code
                else False
            )

    def _compute_loyalty_referred_by_locked(self):
        for partner in self:
            partner.loyalty_referred_by_locked = bool(
                partner.id and partner._loyalty_has_ordered()
            )

    def _loyalty_has_ordered(self):
        """A confirmed sales order or a paid POS order of the customer."""
        self.ensure_one()
        domain = [("partner_id", "child_of", self.commercial_partner_id.id)]
        return bool(
            self.env["sale.order"]
            .sudo()
            .search_count(domain + [("state", "in", ("sale", "done"))], limit=1)
            or self.env["pos.order"]
            .sudo()
            .search_count(
                domain + [("state", "in", ("paid", "done", "invoiced"))], limit=1
            )
        )

    def _loyalty_assign_referral_codes(self):
        """Give a unique code to each of the partners who has none."""
        partners = self.filtered(lambda p: p.id and not p.loyalty_referral_code)
        if not partners:
            return
        self.env.flush_all()
        referral_codes.write_codes(self.env, partners.ids)
        partners.invalidate_recordset(["loyalty_referral_code"])

    @api.model
    def _loyalty_backfill_referral_codes(self, batch_size=10000):
        """Codes for existing members (install and upgrade), by batches."""
        return referral_codes.backfill_codes(self, batch_size)

    @api.model_create_multi
    def create(self, vals_list):
        defaults = {
            key[len("default_") :]
            for key in self.env.context
            if isinstance(key, str) and key.startswith("default_")
        }
        for vals in vals_list:
            self._loyalty_check_engine_fields(set(vals) | defaults)
        partners = super().create(vals_list)
        if self.env.context.get("loyalty_referral_sync") is not ENGINE:
            for partner in partners.filtered("loyalty_referred_by_id"):
                self.env["loyalty.referral"]._loyalty_register(
                    partner, partner.loyalty_referred_by_id, "contact"
                )
        return partners

    def unlink(self):
        # Their POS orders stay, without customer (KPI order facts).
        order_facts.touch_customers_orders(self.env, self.ids)
        return super().unlink()

    def write(self, vals):
        self._loyalty_check_engine_fields(vals)
        if (
            "loyalty_referred_by_id" not in vals
            or self.env.context.get("loyalty_referral_sync") is ENGINE
        ):
            return super().write(vals)
        referrer = self.browse(vals["loyalty_referred_by_id"])
        changed = self.filtered(lambda p: p.loyalty_referred_by_id != referrer)
        for partner in changed:
            if partner._loyalty_has_ordered():
                raise UserError(
                    self.env._(
                        "%s already ordered: the referrer can no longer change.",
                        partner.display_name,
                    )
                )
        res = super().write(vals)
        Referral = self.env["loyalty.referral"]
        for partner in changed:
            if referrer:
                Referral._loyalty_register(partner, referrer, "contact")
            else:
                Referral.sudo().search(
                    [
                        (
                            "referee_commercial_id",
                            "=",
                            partner.commercial_partner_id.id,
                        ),
                        ("state", "=", "pending"),
                    ]
                )._loyalty_reject("manual", self.env._("Referrer removed"))
        return res

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

    # ------------------------------------------------------------------
    # Segments and churn risk (written by the segment cron, kpi/scoring.py)
    # ------------------------------------------------------------------
    # Kept in the narrow score model (loyalty.member.score, kpi/scoring.py),
    # not on the contact: read, searched, sorted and grouped through it.
    loyalty_segment = fields.Selection(
        SEGMENTS,
        compute="_compute_loyalty_score",
        search="_search_loyalty_segment",
        help="New: a member (or customer) for less than 30 days. Inactive: no "
        "points earned or redeemed for the program's inactivity delay. At risk: "
        "churn risk of 60 or more. Active: the others. Updated daily.",
    )
    loyalty_churn_score = fields.Integer(
        string="Churn Risk",
        compute="_compute_loyalty_score",
        search="_search_loyalty_churn_score",
        help="0-100: how far the member strays from their own buying rhythm "
        "(recency, frequency and spend). Updated daily.",
    )
    loyalty_churn_reason = fields.Char(
        string="Churn Risk Reason",
        compute="_compute_loyalty_score",
        search="_search_loyalty_churn_reason",
    )
    loyalty_points_habit = fields.Selection(
        [("earn_only", "Earns Only"), ("redeemer", "Redeems")],
        string="Points Habit",
        compute="_compute_loyalty_score",
        search="_search_loyalty_points_habit",
    )
    loyalty_is_top_tier = fields.Boolean(
        string="Top Tier Member",
        compute="_compute_loyalty_is_top_tier",
        search="_search_loyalty_is_top_tier",
    )
    loyalty_is_advocate = fields.Boolean(
        string="Advocate",
        compute="_compute_loyalty_is_advocate",
        search="_search_loyalty_is_advocate",
        help="Referred at least one customer who then ordered.",
    )

    def _compute_loyalty_score(self):
        scores = read_scores(self.env.cr, [i for i in self._origin.ids if i])
        for partner in self:
            segment, score, reason, habit = scores.get(
                partner._origin.id, (False, 0, False, False)
            )
            partner.loyalty_segment = segment
            partner.loyalty_churn_score = score
            partner.loyalty_churn_reason = reason
            partner.loyalty_points_habit = habit

    def _search_loyalty_segment(self, operator, value):
        return score_domain("loyalty_segment", operator, value)

    def _search_loyalty_churn_score(self, operator, value):
        return score_domain("loyalty_churn_score", operator, value)

    def _search_loyalty_churn_reason(self, operator, value):
        return score_domain("loyalty_churn_reason", operator, value)

    def _search_loyalty_points_habit(self, operator, value):
        return score_domain("loyalty_points_habit", operator, value)

    def _field_to_sql(self, alias, fname, query=None, flush=True):
        # Sorting and grouping contacts by a score field join the score table.
        if fname in SCORE_COLUMNS:
            return score_column_sql(alias, fname, query)
        return super()._field_to_sql(alias, fname, query, flush)

    def _compute_loyalty_is_top_tier(self):
        top = set(
            self.search(
                [("id", "in", self.ids), ("loyalty_is_top_tier", "=", True)]
            ).ids
        )
        for partner in self:
            partner.loyalty_is_top_tier = partner.id in top

    def _search_loyalty_is_top_tier(self, operator, value):
        if operator not in ("=", "!="):
            raise UserError(self.env._("Unsupported search on Top Tier Member."))
        query = SQL(
            """
            (SELECT c.partner_id FROM loyalty_card c
              JOIN res_company rc ON rc.loyalty_membership_program_id = c.program_id
             WHERE c.loyalty_tier_id = (
                   SELECT t.id FROM loyalty_tier t WHERE t.program_id = c.program_id
                    ORDER BY t.threshold DESC, t.sequence DESC, t.id DESC LIMIT 1))
            """
        )
        positive = (operator == "=") == bool(value)
        return [("id", "in" if positive else "not in", query)]

    def _compute_loyalty_is_advocate(self):
        advocates = set(
            self.search(
                [("id", "in", self.ids), ("loyalty_is_advocate", "=", True)]
            ).ids
        )
        for partner in self:
            partner.loyalty_is_advocate = partner.id in advocates

    def _search_loyalty_is_advocate(self, operator, value):
        if operator not in ("=", "!="):
            raise UserError(self.env._("Unsupported search on Advocate."))
        positive = (operator == "=") == bool(value)
        # Referrals come with their own model; without it nobody referred.
        if "loyalty.referral" not in self.env:
            return [(0, "=", 1)] if positive else []
        referrers = (
            self.env["loyalty.referral"]
            .sudo()
            ._search([("state", "=", "converted")])
            .subselect("referrer_id")
        )
        return [("id", "in" if positive else "not in", referrers)]

    @api.model
    def _cron_loyalty_segments(self, batch_size=50000, max_batches=0):
        """Score and segment every member, set-based and batched (one SQL
        statement per batch of cards, kpi/scoring.py); members moved into
        the at-risk segment get a member event (win-back)."""
        today = fields.Date.context_today(self)
        Event = self.env["loyalty.member.event"]
        return score_members(
            self.env,
            today,
            self._loyalty_churn_texts(),
            batch_size=batch_size,
            max_batches=max_batches,
            on_at_risk=lambda card_ids: Event._emit_at_risk(card_ids, today),
        )

    @api.model
    def _loyalty_churn_texts(self):
        return {
            "t_none": self.env._("No purchase yet."),
            "t_fine": self.env._("Buying at the usual rhythm."),
            "t_recency": self.env._(
                "No purchase since {date}; usually one every {rhythm} days."
            ),
            "t_frequency": self.env._(
                "Buying less often: {orders} orders in the last 180 days, "
                "{expected} expected."
            ),
            "t_spend": self.env._(
                "Spending less: {amount} in the last 180 days, {expected} expected."
            ),
        }

    # ------------------------------------------------------------------
    # The till: find a member, show their standing, enroll them
    # (engine/member_pos.py)
    # ------------------------------------------------------------------
    @api.model
    def _loyalty_pos_config(self, config_id):
        if isinstance(config_id, bool) or not isinstance(config_id, int):
            raise UserError(self.env._("Unknown point of sale."))
        config = self.env["pos.config"].search_fetch(
            [("id", "=", config_id)], ["company_id"], limit=1
        )
        if not config:
            raise UserError(self.env._("Unknown point of sale."))
        return config

    def init(self):
        res = super().init()
        member_pos.create_indexes(self.env.cr, self.env.registry.has_trigram)
        return res

    @api.model
    def loyalty_pos_search(
        self, query, config_id, offset=0, limit=member_pos.POS_SEARCH_LIMIT
    ):
        """Ids of the partners a till's customer search finds for ``query``:
        a member's whole card code or referral code, or a whole barcode,
        first; then the start of a name (or of its second or third word),
        phone, mobile or email; a word further in the name when nothing
        else matched. Searched here, by index, so that a shop with many
        members never loads them all."""
        return self._loyalty_pos_search(
            query, self._loyalty_pos_config(config_id), offset, limit
        )

    @api.model
    def _loyalty_pos_search(self, query, config, offset, limit):
        if not isinstance(query, str) or len(query) > member_pos.MAX_POS_QUERY:
            raise UserError(self.env._("Invalid search."))
        if (
            isinstance(offset, bool)
            or not isinstance(offset, int)
            or isinstance(limit, bool)
            or not isinstance(limit, int)
        ):
            raise UserError(self.env._("Invalid search."))
        query = query.strip()
        if not query:
            return []
        offset, limit = max(0, offset), max(1, min(limit, 100))
        return member_pos.pos_search(self, query, config, offset, limit)

    @api.model
    def loyalty_pos_find(
        self, query, config_id, offset=0, limit=member_pos.POS_SEARCH_LIMIT
    ):
        """The till's customer search in one call: ``ids`` found
        (``loyalty_pos_search``), the ``partners`` as the till loads them
        and their standing (``members``, as ``loyalty_pos_member_info``)."""
        config = self._loyalty_pos_config(config_id)
        ids = self._loyalty_pos_search(query, config, offset, limit)
        partners = self.browse(ids)
        return {
            "ids": ids,
            "partners": partners.read(
                partners._load_pos_data_fields(config.id), load=False
            ),
            "members": partners._loyalty_pos_member_info(config),
        }

    def loyalty_pos_member_info(self, config_id):
        """Standing of the partners at the till, as plain values keyed by
        partner id (str): membership card, available and pending points,
        tier, progress to the next tier, points expiring soon."""
        return self._loyalty_pos_member_info(self._loyalty_pos_config(config_id))

    def _loyalty_pos_member_info(self, config):
        # The partners the user may read.
        partners = (
            self.with_company(config.company_id)
            .with_context(active_test=False)
            .search_fetch([("id", "in", self.ids)], ["commercial_partner_id"])
        )
        return member_pos.member_info(partners, config)

    def loyalty_pos_enroll(self, config_id):
        """Enroll the customer at the till; returns their standing (with
        the new card's id)."""
        self.ensure_one()
        config = self._loyalty_pos_config(config_id)
        self.with_company(config.company_id).action_loyalty_enroll()
        return self._loyalty_pos_member_info(config)[str(self.id)]

    # ------------------------------------------------------------------
    # Privacy: consent, export, erasure (engine/member_privacy.py)
    # ------------------------------------------------------------------
    loyalty_consent = fields.Selection(
        CONSENT_VALUES,
        string="Loyalty Communications",
        readonly=True,
        copy=False,
        tracking=True,
        index="btree_not_null",
        help="The member's choice about loyalty emails and mailings; members "
        "who opted out receive none. Empty: not asked yet.",
    )
    loyalty_consent_date = fields.Datetime(
        string="Consent Date", readonly=True, copy=False
    )
    loyalty_consent_channel = fields.Selection(
        CONSENT_CHANNELS,
        string="Consent Channel",
        readonly=True,
        copy=False,
        tracking=True,
    )

    # ------------------------------------------------------------------
    # Consent
    # ------------------------------------------------------------------
    def _loyalty_can_contact(self):
        """The partners that may receive loyalty emails and mailings: neither
        they nor their company opted out."""
        return self.filtered(
            lambda p: (
                p.loyalty_consent != "out"
                and p.commercial_partner_id.loyalty_consent != "out"
            )
        )

    def _loyalty_set_consent(self, consent, channel):
        """Record the choice (engine side: rights are the caller's job)."""
        if consent not in ("in", "out"):
            raise UserError(self.env._("Consent is 'in' or 'out'."))
        if channel not in dict(CONSENT_CHANNELS):
            raise UserError(self.env._("Unknown consent channel: %s", channel))
        changed = self.sudo().filtered(lambda p: p.loyalty_consent != consent)
        changed.write(
            {
                "loyalty_consent": consent,
                "loyalty_consent_date": fields.Datetime.now(),
                "loyalty_consent_channel": channel,
            }
        )
        if consent == "out" and changed:
            changed._loyalty_opt_out_lists()
        return True

    def loyalty_set_consent(self, consent, channel="backend"):
        """Record the member's consent to loyalty communications (``in`` or
        ``out``) and where it was given; returns True."""
        self._loyalty_check_group("loyalty_crm_addon.group_loyalty_user")
        if not self or not isinstance(consent, str) or not isinstance(channel, str):
            raise UserError(self.env._("Consent is 'in' or 'out', for contacts."))
        return self._loyalty_set_consent(consent, channel)

    def action_loyalty_consent_in(self):
        return self.loyalty_set_consent("in")

    def action_loyalty_consent_out(self):
        return self.loyalty_set_consent("out")

    # ------------------------------------------------------------------
    # Consent at the till
    # ------------------------------------------------------------------
    @api.model
    def _load_pos_data_fields(self, config_id):
        # The member panel shows the customer's choice as the till loads it.
        return super()._load_pos_data_fields(config_id) + CONSENT_FIELDS

    def loyalty_pos_set_consent(self, consent, config_id):
        """The customer's choice told to the cashier: recorded on the server
        with the channel ``pos`` and the date. Returns the partner's consent
        fields as the till loads them, so the panel shows them at once."""
        config = self._loyalty_pos_config(config_id)
        if not self.env.su and not self.env.user.has_group(
            "point_of_sale.group_pos_user"
        ):
            raise AccessError(
                self.env._("Only point of sale users record consent at the till.")
            )
        if len(self) != 1 or consent not in ("in", "out"):
            raise UserError(self.env._("Consent is 'in' or 'out', for one customer."))
        # The cashier sees the customer; the choice is the customer's own.
        self.check_access("read")
        config.check_access("read")
        self._loyalty_set_consent(consent, "pos")
        self.invalidate_recordset(CONSENT_FIELDS)
        return self.read(CONSENT_FIELDS)[0]

    def _loyalty_opt_out_lists(self):
        """Their subscriptions to loyalty mailing lists are opted out, the way
        mass mailing's own unsubscribe does it."""
        subscriptions = self._loyalty_list_subscriptions().filtered(
            lambda s: not s.opt_out
        )
        subscriptions.write({"opt_out": True})

    def _loyalty_list_subscriptions(self):
        """Subscriptions of the partners' emails to loyalty mailing lists."""
        emails = [e for e in self.mapped("email_normalized") if e]
        if not emails:
            return self.env["mailing.subscription"]
        return (
            self.env["mailing.subscription"]
            .sudo()
            .search(
                [
                    ("contact_id.email_normalized", "in", emails),
                    ("list_id.loyalty_consent_required", "=", True),
                ]
            )
        )

    # ------------------------------------------------------------------
    # Export
    # ------------------------------------------------------------------
    def _loyalty_check_privacy_access(self):
        """Loyalty staff, or the member themselves (portal)."""
        self.ensure_one()
        user = self.env.user
        if self.env.su or user.has_group("loyalty_crm_addon.group_loyalty_user"):
            return
        if user.partner_id.commercial_partner_id != self.sudo().commercial_partner_id:
            raise AccessError(self.env._("You can only see your own loyalty data."))

    def loyalty_export_data(self):
        """The member's loyalty data as a JSON-serialisable dict: profile,
        cards, ledger, tiers history, events, referrals, claims, activities."""
        self.ensure_one()
        self._loyalty_check_privacy_access()
        return member_privacy.export_data(self.sudo().commercial_partner_id)

    def action_loyalty_export(self):
        """Download the member's loyalty data as a JSON file."""
        self.ensure_one()
        self._loyalty_check_privacy_access()
        return {
            "type": "ir.actions.act_url",
            "url": f"/loyalty/privacy/export/{self.commercial_partner_id.id}",
            "target": "download",
        }

    # ------------------------------------------------------------------
    # Erasure
    # ------------------------------------------------------------------
    def action_loyalty_erase(self):
        """Anonymise the members' personal data in loyalty records (and on the
        contact), keeping every ledger amount; managers only; refused while
        a member has open orders. Returns True."""
        self._loyalty_check_group("loyalty_crm_addon.group_loyalty_manager")
        if not self:
            raise UserError(self.env._("Choose the members to erase."))
        members = self.sudo().commercial_partner_id
        for member in members:
            open_orders = member_privacy.open_orders(member)
            if open_orders:
                raise UserError(
                    self.env._(
                        "%(member)s has open orders (%(orders)s): finish or "
                        "cancel them before erasing the member's data.",
                        member=member.display_name,
                        orders=", ".join(open_orders),
                    )
                )
        for member in members:
            member_privacy.erase_one(member)
        return True
