# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Referrals of a contact: their code, who referred them, the referral
figures, and the referrer a contact gets when created or written
(models/loyalty_referral.py holds the referrals themselves)."""

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..engine.ledger import ENGINE, PRECISION


class ResPartner(models.Model):
    # res.partner is extended per capability, each in its own file.
    _inherit = "res.partner"  # pylint: disable=consider-merging-classes-inherited

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
        self._loyalty_write_referral_codes(partners.ids)
        partners.invalidate_recordset(["loyalty_referral_code"])

    @api.model
    def _loyalty_write_referral_codes(self, partner_ids):
        """Set-based: draw codes, redraw the few already taken, one UPDATE
        (partners that have a code keep it)."""
        generate = self.env["loyalty.referral"]._loyalty_generate_codes
        codes = generate(len(partner_ids))
        while True:
            self.env.cr.execute(
                "SELECT loyalty_referral_code FROM res_partner"
                " WHERE loyalty_referral_code = ANY(%s)",
                [codes],
            )
            taken = {row[0] for row in self.env.cr.fetchall()}
            if len(set(codes)) == len(codes) and not taken:
                break
            seen = set()
            for i, code in enumerate(codes):
                if code in taken or code in seen:
                    codes[i] = generate(1)[0]
                seen.add(codes[i])
        self.env.cr.execute(
            """
            UPDATE res_partner p SET loyalty_referral_code = v.code
              FROM (SELECT unnest(%s::int[]) AS id, unnest(%s::varchar[]) AS code) v
             WHERE p.id = v.id AND p.loyalty_referral_code IS NULL
            """,
            [partner_ids, codes],
        )

    @api.model
    def _loyalty_backfill_referral_codes(self, batch_size=10000):
        """Codes for existing members (install and upgrade): the partners to
        fill are read once, then written ``batch_size`` at a time (re-reading
        them per batch scanned the members again each time: quadratic)."""
        self.env.flush_all()
        self.env.cr.execute(
            """
            SELECT DISTINCT p.commercial_partner_id
              FROM loyalty_card c
              JOIN loyalty_program pr ON pr.id = c.program_id
              JOIN res_partner p ON p.id = c.partner_id
              JOIN res_partner cp ON cp.id = p.commercial_partner_id
             WHERE pr.program_type = 'loyalty'
               AND cp.loyalty_referral_code IS NULL
             ORDER BY 1
            """
        )
        ids = [row[0] for row in self.env.cr.fetchall()]
        for start in range(0, len(ids), batch_size):
            self._loyalty_write_referral_codes(ids[start : start + batch_size])
        self.invalidate_model(["loyalty_referral_code"])
        return len(ids)

    @api.model_create_multi
    def create(self, vals_list):
        partners = super().create(vals_list)
        if self.env.context.get("loyalty_referral_sync") is not ENGINE:
            for partner in partners.filtered("loyalty_referred_by_id"):
                self.env["loyalty.referral"]._loyalty_register(
                    partner, partner.loyalty_referred_by_id, "contact"
                )
        return partners

    def write(self, vals):
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
