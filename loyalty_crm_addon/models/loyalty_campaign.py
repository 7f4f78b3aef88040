# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models, tools
from odoo.exceptions import ValidationError
from odoo.tools.misc import format_date, formatLang

CHANNELS = [("all", "All Channels"), ("sale", "Sales"), ("pos", "Point of Sale")]


class LoyaltyCampaign(models.Model):
    """A time-boxed earn multiplier of a membership program ("double points
    on coffee in March"). While it runs, points earned on the matching lines
    of an order are multiplied by ``multiplier``, on top of the member's
    tier multiplier, by the server in every channel (sales orders:
    ``sale.order._program_check_compute_points``; till orders:
    ``pos.order._loyalty_till_points``). When several campaigns match a
    line, the highest multiplier applies (they do not add up)."""

    _name = "loyalty.campaign"
    # What the engine reads of the campaigns is cached per program
    # (``_loyalty_campaign_data``): any change clears it.
    _inherit = ["loyalty.engine.data.mixin"]
    _description = "Loyalty Earn Campaign"
    _order = "date_from desc, id desc"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    active = fields.Boolean(default=True)
    program_id = fields.Many2one(
        "loyalty.program",
        required=True,
        index=True,
        ondelete="cascade",
        domain=[("program_type", "=", "loyalty")],
    )
    company_id = fields.Many2one(related="program_id.company_id", store=True)
    date_from = fields.Date(string="Start Date", required=True)
    date_to = fields.Date(string="End Date", required=True)
    multiplier = fields.Float(
        default=2.0,
        digits=(16, 2),
        required=True,
        help="Points earned on the matching lines are multiplied by this, on "
        "top of the member's tier multiplier (2 = double points). When "
        "several campaigns match a line, the highest multiplier applies.",
    )
    product_ids = fields.Many2many(
        "product.product",
        string="Products",
        help="Lines of these products earn more. With no product and no "
        "category, every product does.",
    )
    product_category_ids = fields.Many2many(
        "product.category",
        string="Product Categories",
        help="Lines of products of these categories (and their subcategories) "
        "earn more.",
    )
    tier_ids = fields.Many2many(
        "loyalty.tier",
        string="Tiers",
        domain="[('program_id', '=', program_id)]",
        help="Members of these tiers only; empty = every member.",
    )
    channel = fields.Selection(CHANNELS, default="all", required=True)
    description = fields.Text(translate=True)
    color = fields.Integer()
    is_running = fields.Boolean(
        string="Running",
        compute="_compute_is_running",
        search="_search_is_running",
    )

    _sql_constraints = [
        (
            "dates_ordered",
            "CHECK(date_from <= date_to)",
            "A campaign ends on or after the day it starts.",
        ),
        (
            "multiplier_positive",
            "CHECK(multiplier >= 0)",
            "A campaign's multiplier cannot be negative.",
        ),
    ]

    @api.constrains("program_id", "tier_ids")
    def _check_program(self):
        for campaign in self:
            if campaign.program_id.program_type != "loyalty":
                raise ValidationError(
                    self.env._("Campaigns belong to membership programs only.")
                )
            if campaign.tier_ids.program_id - campaign.program_id:
                raise ValidationError(
                    self.env._("A campaign's tiers are tiers of its program.")
                )

    @api.depends_context("tz")
    @api.depends("active", "date_from", "date_to")
    def _compute_is_running(self):
        today = fields.Date.context_today(self)
        for campaign in self:
            campaign.is_running = bool(
                campaign.active and campaign.date_from <= today <= campaign.date_to
            )

    def _search_is_running(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise ValidationError(self.env._("Unsupported search on Running."))
        today = fields.Date.context_today(self)
        domain = [("date_from", "<=", today), ("date_to", ">=", today)]
        if (operator == "=") == value:
            return domain
        return ["!", "&", *domain]

    # ------------------------------------------------------------------
    # What the engine reads, cached per program
    # ------------------------------------------------------------------
    @api.model
    @tools.ormcache("program_id")
    def _loyalty_campaign_data(self, program_id):
        """The program's active campaigns as plain values (cached until a
        campaign changes): dicts of ``id``, ``date_from``, ``date_to``,
        ``multiplier``, ``channel``, ``products``, ``categories`` (their
        subcategories included) and ``tiers`` (frozensets of ids)."""
        Campaign = self.sudo().with_context(active_test=True)
        campaigns = Campaign.search([("program_id", "=", program_id)])
        result = []
        for campaign in campaigns:
            categories = campaign.product_category_ids
            if categories:
                categories = (
                    self.env["product.category"]
                    .sudo()
                    .search([("id", "child_of", categories.ids)])
                )
            result.append(
                {
                    "id": campaign.id,
                    "date_from": campaign.date_from,
                    "date_to": campaign.date_to,
                    "multiplier": campaign.multiplier,
                    "channel": campaign.channel,
                    "products": frozenset(campaign.product_ids.ids),
                    "categories": frozenset(categories.ids),
                    "tiers": frozenset(campaign.tier_ids.ids),
                }
            )
        return tuple(result)

    @api.model
    def _loyalty_running(self, program_id, channel, date, tier_id=None):
        """The cached values of the campaigns of ``program_id`` running on
        ``date`` in ``channel``; with ``tier_id`` (an id or False), only
        those of that tier. No query once the cache is warm."""
        return [
            c
            for c in self._loyalty_campaign_data(program_id)
            if c["date_from"] <= date <= c["date_to"]
            and c["channel"] in ("all", channel)
            and (tier_id is None or not c["tiers"] or tier_id in c["tiers"])
        ]

    @api.model
    def _loyalty_factor(self, campaigns, product=None):
        """The multiplier of a line of ``product`` (None: points of the whole
        order, which campaigns on every product only multiply): the highest
        of the matching ``campaigns``, 1.0 when none matches."""
        factors = []
        for c in campaigns:
            if not c["products"] and not c["categories"]:
                factors.append(c["multiplier"])
            elif product is not None and (
                product.id in c["products"] or product.categ_id.id in c["categories"]
            ):
                factors.append(c["multiplier"])
        return max(factors) if factors else 1.0

    @api.model
    def _loyalty_needs_tier(self, campaigns):
        return any(c["tiers"] for c in campaigns)

    # ------------------------------------------------------------------
    # Public: what the quotation, the till and the portal show
    # ------------------------------------------------------------------
    @api.model
    def get_active_campaigns(self, program_id=False, channel="all", date=False):
        """The campaigns running on ``date`` ('YYYY-MM-DD', default today)
        in ``channel`` (``sale``, ``pos`` or ``all``: every channel) of
        ``program_id`` (default: the company's membership program), as
        dicts: ``id``, ``name``, ``multiplier``, ``date_from``, ``date_to``,
        ``channel``, ``product_ids``, ``product_category_ids``,
        ``tier_ids``. Read with the caller's rights."""
        program_id = program_id or self.env.company.loyalty_membership_program_id.id
        if not program_id:
            return []
        day = fields.Date.to_date(date) if date else fields.Date.context_today(self)
        domain = [
            ("program_id", "=", program_id),
            ("date_from", "<=", day),
            ("date_to", ">=", day),
        ]
        if channel and channel != "all":
            domain.append(("channel", "in", ("all", channel)))
        return [
            {
                "id": c.id,
                "name": c.name,
                "multiplier": c.multiplier,
                "date_from": fields.Date.to_string(c.date_from),
                "date_to": fields.Date.to_string(c.date_to),
                "channel": c.channel,
                "product_ids": c.product_ids.ids,
                "product_category_ids": c.product_category_ids.ids,
                "tier_ids": c.tier_ids.ids,
            }
            for c in self.search(domain, order="multiplier desc, id")
        ]

    @api.model
    def _loyalty_label(self, name, multiplier, date_to):
        """ "Garden week: ×2 points until 13/12/2026", as the till and the
        quotation say a running campaign."""
        return self.env._(
            "%(name)s: ×%(multiplier)s points until %(date)s",
            name=name,
            multiplier=formatLang(self.env, multiplier, digits=2)
            .rstrip("0")
            .rstrip(".,"),
            date=format_date(self.env, date_to),
        )
