# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo import api, fields, models

from ..engine.ledger import PRECISION

# How long a till keeps points reserved between validating a payment and
# the order reaching the server.
HOLD_MINUTES = 5


class LoyaltyPointsHold(models.Model):
    """Points a till reserved when it validated a payment spending them, so
    that another till cannot spend the same points before the order is
    confirmed. Released when the order is confirmed or when it expires."""

    _name = "loyalty.points.hold"
    _description = "Loyalty Points Held by a Till"
    _order = "id"
    _check_company_auto = True

    card_id = fields.Many2one(
        "loyalty.card", required=True, index=True, ondelete="cascade", readonly=True
    )
    partner_id = fields.Many2one(related="card_id.partner_id")
    company_id = fields.Many2one(
        related="card_id.company_id", store=True, index=True, readonly=True
    )
    points = fields.Float(required=True, digits=(16, PRECISION), readonly=True)
    order_uuid = fields.Char(
        string="Order Reference", required=True, index=True, readonly=True
    )
    config_id = fields.Many2one(
        "pos.config", string="Point of Sale", ondelete="cascade", readonly=True
    )
    expiry = fields.Datetime(required=True, index=True, readonly=True)

    _sql_constraints = [
        ("points_positive", "CHECK(points > 0)", "A hold reserves points."),
    ]

    @api.model
    def _lock_cards(self, cards, touch=False):
        """Lock the rows of ``cards`` (in id order) and read under the lock
        their points and holds, in one statement: ({card: points}, holds).

        ``touch`` rewrites the rows: holds do not change a card, and a till
        that waited on the lock must retry (serialization error) to see the
        holds committed meanwhile."""
        if not cards:
            return {}, self.sudo()
        return self._lock_cards_found(
            "SELECT unnest(%(ids)s::int[])", {"ids": cards.ids}, touch=touch
        )

    @api.model
    def _lock_cards_found(self, id_query, params, touch=False, program_fields=()):
        """``_lock_cards`` of the cards whose ids ``id_query`` selects: found
        and locked in the same statement, which also reads the
        ``program_fields`` (plain columns) of their programs into the cache."""
        Hold = self.sudo()
        self.env.flush_all()
        Program = self.env["loyalty.program"].sudo()
        columns = ["c.program_id"] + [
            f"p.{Program._fields[f].name}" for f in program_fields
        ]
        holds = "ARRAY(SELECT h.id FROM loyalty_points_hold h WHERE h.card_id = c.id)"
        if program_fields and not touch:
            holds += ", " + ", ".join(columns)
        if touch:
            query = f"""
                UPDATE loyalty_card c SET write_date = c.write_date
                 WHERE c.id IN (SELECT id FROM loyalty_card WHERE id IN ({id_query})
                                 ORDER BY id FOR UPDATE)
             RETURNING c.id, c.points, {holds}
            """
        else:
            query = f"""
                SELECT c.id, c.points, {holds} FROM loyalty_card c
                  JOIN loyalty_program p ON p.id = c.program_id
                 WHERE c.id IN ({id_query}) ORDER BY c.id FOR UPDATE OF c
            """
        self.env.cr.execute(query, params)  # pylint: disable=sql-injection
        rows = self.env.cr.fetchall()
        locked = self.env["loyalty.card"].sudo().browse(row[0] for row in rows)
        values = [float(row[1] or 0.0) for row in rows]
        # The ORM reads the balance the lock returned.
        self.env.cache.update(locked, locked._fields["points"], values)
        if program_fields and not touch:
            programs = {row[3]: row[4:] for row in rows}
            records = Program.browse(list(programs))
            for index, fname in enumerate(program_fields):
                field = Program._fields[fname]
                self.env.cache.update(
                    records,
                    field,
                    [
                        field.convert_to_cache(programs[pid][index], records)
                        for pid in programs
                    ],
                )
        return (
            dict(zip(locked, values, strict=True)),
            Hold.browse(hold_id for row in rows for hold_id in row[2]),
        )

    @api.model
    def _held_by_others(self, holds, order_uuid=False):
        """{card: points} held by the live ``holds`` of other orders."""
        held = {}
        now = fields.Datetime.now()
        for hold in holds:
            if hold.expiry > now and not (order_uuid and hold.order_uuid == order_uuid):
                held[hold.card_id] = held.get(hold.card_id, 0.0) + hold.points
        return held

    @api.model
    def _create_holds(self, order_uuid, spends, config=None):
        """Hold ``spends`` ({card: points}) for the till's order
        ``order_uuid``; the caller holds the cards' row locks."""
        expiry = fields.Datetime.now() + timedelta(minutes=HOLD_MINUTES)
        return self.sudo().create(
            [
                {
                    "card_id": card.id,
                    "points": points,
                    "order_uuid": order_uuid,
                    "config_id": config.id if config else False,
                    "expiry": expiry,
                }
                for card, points in spends.items()
                if points > 0
            ]
        )

    @api.autovacuum
    def _gc_expired_holds(self):
        self.sudo().search([("expiry", "<=", fields.Datetime.now())]).unlink()
