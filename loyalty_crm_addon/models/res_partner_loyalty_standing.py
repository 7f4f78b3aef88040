# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A contact's standing in the company's membership program: the points and
the tier of their membership card, searched, sorted and grouped in SQL.

The member is the commercial partner: a contact reads the card of the
company's membership program (``res.company.loyalty_membership_program_id``)
of their commercial partner, else one they hold themselves (a member who
joined a company keeps their own); of several active cards, the oldest.
The computes (res_partner.py, ``loyalty_card_id``) read the same card;
here it is one SQL sub-select, so that:

* a domain on ``loyalty_balance`` or ``loyalty_tier_id`` is the same
  condition on the card's stored field (``points``, ``loyalty_tier_id``)
  with Odoo's own meaning of every operator, and a contact without a card
  meets it as a balance of 0 and no tier would (``!=``, ``not in``, ``=
  False``, ``< 100`` include them, as on a stored field);
* ``order`` and group-by on them join the card (``_field_to_sql``), as core
  does for company-dependent values (``account.account.code``).

The balance is the card's points, as the field shows them: points held by
tills for orders being paid are not subtracted, pending (unreleased)
points are not in it.
"""

from odoo import api, fields, models
from odoo.osv import expression
from odoo.tools import SQL, Query

# The contact's field -> the membership card's field it shows.
STANDING_FIELDS = {"loyalty_balance": "points", "loyalty_tier_id": "loyalty_tier_id"}


class ResPartner(models.Model):
    # The standing's own file: res_partner.py is already long.
    _inherit = "res.partner"  # pylint: disable=consider-merging-classes-inherited

    loyalty_tier_id = fields.Many2one(
        "loyalty.tier",
        compute="_compute_loyalty_tier_id",
        search="_search_loyalty_tier_id",
        compute_sudo=True,
        help="The tier of the member's card in the company's membership program.",
    )

    @api.depends_context("company")
    @api.depends(
        "loyalty_card_ids.loyalty_tier_id",
        "commercial_partner_id.loyalty_card_ids.loyalty_tier_id",
    )
    def _compute_loyalty_tier_id(self):
        for partner in self:
            partner.loyalty_tier_id = partner.loyalty_card_id.loyalty_tier_id

    def _search_loyalty_tier_id(self, operator, value):
        return self._loyalty_standing_domain("loyalty_tier_id", operator, value)

    def _search_loyalty_balance(self, operator, value):
        return self._loyalty_standing_domain("loyalty_balance", operator, value)

    # ------------------------------------------------------------------
    # SQL
    # ------------------------------------------------------------------
    def _loyalty_standing_card_sql(self, alias):
        """``SELECT`` of the membership card (id, points, tier) of the
        contact ``alias`` (at most one row; none without a card)."""
        program = self.env.company.loyalty_membership_program_id
        card_fields = self.env["loyalty.card"]._fields

        def column(name):
            return SQL.identifier("c", name, to_flush=card_fields[name])

        partner = SQL.identifier(alias, "id")
        return SQL(
            """
            SELECT c.id, %(points)s AS points, %(tier)s AS loyalty_tier_id
              FROM loyalty_card c
             WHERE %(program)s = %(program_id)s AND %(active)s
               AND %(holder)s IN (%(partner)s, %(commercial)s)
             ORDER BY %(holder)s = %(commercial)s DESC, c.id
             LIMIT 1
            """,
            points=column("points"),
            tier=column("loyalty_tier_id"),
            program=column("program_id"),
            program_id=program.id or None,
            active=column("active"),
            holder=column("partner_id"),
            partner=partner,
            commercial=SQL.identifier(
                alias,
                "commercial_partner_id",
                to_flush=self._fields["commercial_partner_id"],
            ),
        )

    def _field_to_sql(self, alias, fname, query=None, flush=True):
        # Sorting and grouping contacts by their standing join their card.
        column = STANDING_FIELDS.get(fname)
        if column is None:
            return super()._field_to_sql(alias, fname, query, flush)
        card = self._loyalty_standing_card_sql(alias)
        if query is None:
            value = SQL("(SELECT s.%s FROM (%s) s)", SQL.identifier(column), card)
        else:
            standing = query.make_alias(alias, "loyalty_standing")
            query.add_join(
                "LEFT JOIN", standing, SQL("LATERAL (%s)", card), SQL("TRUE")
            )
            value = SQL.identifier(standing, column)
        # A contact without a card has a balance of 0 (the field's value).
        return SQL("COALESCE(%s, 0)", value) if fname == "loyalty_balance" else value

    def _loyalty_holders_sql(self, cards):
        """Sub-select (in parentheses) of the contacts whose membership card is one of
        ``cards`` (a sub-select of card ids): the card's holder and the
        contacts of its commercial partner, each kept if that card is the
        one they read (their commercial partner's card first)."""
        return SQL(
            """
            (SELECT holder.id FROM (
                SELECT m.id AS card_id, m.partner_id FROM loyalty_card m
                 WHERE m.id IN %(cards)s
                UNION ALL
                SELECT m.id, p.id FROM loyalty_card m
                  JOIN res_partner p ON p.commercial_partner_id = m.partner_id
                 WHERE m.id IN %(cards)s AND p.id != m.partner_id
            ) h
              JOIN res_partner holder ON holder.id = h.partner_id
             WHERE h.card_id = (SELECT s.id FROM (%(standing)s) s))
            """,
            cards=cards,
            standing=self._loyalty_standing_card_sql("holder"),
        )

    def _loyalty_standing_domain(self, fname, operator, value):
        """The contacts whose ``fname`` meets ``(operator, value)``: the
        same condition on their membership card's field, read by Odoo's
        domain engine (every operator of the stored field: comparisons,
        ``in``, ``not in``, names and ``any`` on the tier...); a contact
        without a card meets it if a card without points nor tier would."""
        program = self.env.company.loyalty_membership_program_id
        condition = [(STANDING_FIELDS[fname], operator, value)]
        nobody = self._loyalty_cardless_meets(condition)
        if not program:
            return expression.TRUE_DOMAIN if nobody else expression.FALSE_DOMAIN
        Card = self.env["loyalty.card"].sudo().with_context(active_test=True)
        matching = Card._search([("program_id", "=", program.id), *condition])
        domain = [("id", "in", self._loyalty_holders_sql(matching.subselect()))]
        if nobody:
            cards = Card._search([("program_id", "=", program.id)])
            holders = self._loyalty_holders_sql(cards.subselect())
            domain = ["|", *domain, ("id", "not in", holders)]
        return domain

    def _loyalty_cardless_meets(self, condition):
        """Whether a card holding no points and no tier meets ``condition``
        (a domain on ``loyalty.card``): Odoo's SQL of the domain run on one
        such row, so that contacts without a card are found exactly as the
        stored fields would find them."""
        Card = self.env["loyalty.card"].sudo()
        query = Query(
            self.env,
            Card._table,
            SQL("(SELECT 0.0::float8 AS points, NULL::int4 AS loyalty_tier_id)"),
        )
        expression.expression(condition, Card, Card._table, query)
        return bool(self.env.execute_query(query.select(SQL("1"))))

    def _loyalty_program_card(self, program):
        """The member's card of ``program``: the commercial partner's (a
        company's buyer earns and spends on the company's card), in every
        channel."""
        return (
            self.env["loyalty.card"]
            .sudo()
            .search(
                [
                    ("program_id", "=", program.id),
                    ("partner_id", "=", self.commercial_partner_id.id),
                ],
                limit=1,
            )
        )
