# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What a member's till receipt prints, as the ledger posted it."""

from odoo import models

from ..engine.ledger import PRECISION


class PosOrder(models.Model):
    # pos.order is extended per capability, each in its own file.
    _inherit = "pos.order"  # pylint: disable=consider-merging-classes-inherited

    def _loyalty_receipt_info(self):
        """What the member's receipt prints, as the ledger posted it: points
        earned and spent by the order, the new balance, pending points and
        tier; the card's number and whether this is the member's first
        order as a member; the referral the order converted. Empty when the
        order moved no membership points."""
        self.ensure_one()
        self.env["loyalty.ledger.line"].flush_model()
        # The order's lines, its card's pending points and whether the card
        # moved points for another order before, in one query.
        self.env.cr.execute(
            """
            SELECT l.card_id,
                   SUM(l.points) FILTER (WHERE l.pos_order_id = %(order)s
                                           AND l.entry_type = 'earn'),
                   SUM(l.points) FILTER (WHERE l.pos_order_id = %(order)s
                                           AND l.entry_type = 'redeem'),
                   SUM(l.points) FILTER (WHERE l.state = 'pending'),
                   COUNT(*) FILTER (WHERE l.entry_type IN ('earn', 'redeem')
                                      AND (l.pos_order_id IS NULL
                                           OR l.pos_order_id != %(order)s))
              FROM loyalty_ledger_line l
             WHERE l.card_id = (SELECT card_id FROM loyalty_ledger_line
                                 WHERE pos_order_id = %(order)s
                                 ORDER BY id LIMIT 1)
          GROUP BY l.card_id
            """,
            {"order": self.id},
        )
        row = self.env.cr.fetchone()
        if not row:
            return {}
        card = self.env["loyalty.card"].sudo().browse(row[0])
        return {
            "earned": row[1] or 0.0,
            "spent": -(row[2] or 0.0),
            "balance": card.points,
            "pending": row[3] or 0.0,
            "tier": card.loyalty_tier_id.name or "",
            "point_name": card.program_id.portal_point_name or "",
            "card_code": card.code or "",
            "new_member": not row[4],
            "referral": self._loyalty_receipt_referral(),
        }

    def _loyalty_receipt_referral(self):
        """The referral this order converted: who referred the customer and
        the customer's bonus; else, for a code the till sent, that it was
        not applied (yet). Empty when the order has no referral."""
        self.ensure_one()
        Referral = self.env["loyalty.referral"].sudo()
        referral = Referral.search(
            [("state", "=", "converted"), ("order_ref", "=", f"pos.order,{self.id}")],
            limit=1,
        )
        if referral:
            return {
                "referrer": referral.referrer_id.name or "",
                "bonus": round(referral.referee_points, PRECISION),
                "state": "converted",
            }
        if not self.loyalty_referral_code or not self.partner_id:
            return {}
        referral = Referral.search(
            [("referee_commercial_id", "=", self.partner_id.commercial_partner_id.id)],
            order="id desc",
            limit=1,
        )
        return {
            "referrer": referral.referrer_id.name or "",
            "bonus": 0.0,
            "state": referral.state or "unknown",
        }
