# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import ValidationError


class LoyaltyTier(models.Model):
    _name = "loyalty.tier"
    # The engine caches whether a program has tiers (loyalty.engine.data.mixin).
    _inherit = ["loyalty.engine.data.mixin"]
    _description = "Loyalty Tier"
    _order = "program_id, sequence, threshold, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    program_id = fields.Many2one(
        "loyalty.program", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="program_id.company_id", store=True)
    sequence = fields.Integer(default=10)
    threshold = fields.Float(
        required=True,
        help="Points earned within the program's tier window to reach this tier.",
    )
    earn_multiplier = fields.Float(
        default=1.0,
        digits=(16, 2),
        help="Points earned by orders are multiplied by this for members of the tier.",
    )
    color = fields.Integer()
    member_count = fields.Integer(compute="_compute_member_count")

    @api.constrains("program_id", "threshold", "sequence", "earn_multiplier")
    def _check_tier_ladder(self):
        for program in self.program_id:
            if program.program_type != "loyalty":
                raise ValidationError(
                    self.env._(
                        "Tiers belong to membership (loyalty card) programs only."
                    )
                )
            tiers = program.loyalty_tier_ids.sorted(
                lambda t: (t.sequence, t.threshold, t.id)
            )
            if any(t.threshold < 0 for t in tiers):
                raise ValidationError(self.env._("Tier thresholds cannot be negative."))
            if any(t.earn_multiplier < 0 for t in tiers):
                raise ValidationError(
                    self.env._("An earn multiplier cannot be negative.")
                )
            thresholds = tiers.mapped("threshold")
            if any(a >= b for a, b in zip(thresholds, thresholds[1:], strict=False)):
                raise ValidationError(
                    self.env._(
                        "Tiers of %(program)s must have increasing, distinct "
                        "thresholds in their order.",
                        program=program.display_name,
                    )
                )

    def _compute_member_count(self):
        counts = dict(
            self.env["loyalty.card"]._read_group(
                [("loyalty_tier_id", "in", self.ids)], ["loyalty_tier_id"], ["__count"]
            )
        )
        for tier in self:
            tier.member_count = counts.get(tier, 0)

    # ------------------------------------------------------------------
    # Review (scheduled): downgrades, grace periods, missed upgrades
    # ------------------------------------------------------------------
    @api.model
    def _cron_review_tiers(self, batch_size=5000, max_batches=0):
        today = fields.Date.context_today(self)
        self.env.flush_all()
        self.env.cr.execute(
            """
            WITH own AS (
                SELECT l.card_id, SUM(l.points) AS points
                  FROM loyalty_ledger_line l
                  JOIN loyalty_program p ON p.id = l.program_id
                 WHERE l.tier_qualifying
                   AND l.date >= %(now)s
                                 - make_interval(days => p.loyalty_tier_window_days)
                 GROUP BY l.card_id
            ), qual AS (
                -- a card merged into another (contacts merged) counts for it
                SELECT COALESCE(m.loyalty_merged_into_id, own.card_id) AS card_id,
                       SUM(own.points) AS points
                  FROM own
                  LEFT JOIN loyalty_card m
                         ON m.id = own.card_id AND m.loyalty_merged_into_id IS NOT NULL
                 GROUP BY 1
            )
            SELECT c.id, c.loyalty_tier_id, target.id,
                   COALESCE(target.threshold, -1) > COALESCE(cur.threshold, -1),
                   c.loyalty_tier_review_date, p.loyalty_tier_grace_days
              FROM loyalty_card c
              JOIN loyalty_program p ON p.id = c.program_id
              LEFT JOIN loyalty_tier cur ON cur.id = c.loyalty_tier_id
              LEFT JOIN qual q ON q.card_id = c.id
              LEFT JOIN LATERAL (
                    SELECT t.id, t.threshold FROM loyalty_tier t
                     WHERE t.program_id = c.program_id
                       AND t.threshold <= COALESCE(q.points, 0)
                     ORDER BY t.threshold DESC LIMIT 1
              ) target ON TRUE
             WHERE p.program_type = 'loyalty' AND p.active
               AND c.loyalty_merged_into_id IS NULL
               AND EXISTS (SELECT 1 FROM loyalty_tier t2 WHERE t2.program_id = p.id)
               AND (c.loyalty_tier_id IS DISTINCT FROM target.id
                    OR c.loyalty_tier_review_date IS NOT NULL)
            """,
            {"now": fields.Datetime.now()},
        )
        changes, start_grace, requalified = [], [], []
        for (
            card_id,
            current,
            target,
            upgrade,
            review_date,
            grace,
        ) in self.env.cr.fetchall():
            if current == target:
                requalified.append(card_id)
            elif upgrade or not grace:
                changes.append((card_id, current, target))
            elif not review_date:
                start_grace.append(card_id)
            elif (today - review_date).days >= grace:
                changes.append((card_id, current, target))
        if start_grace:
            self.env.cr.execute(
                "UPDATE loyalty_card SET loyalty_tier_review_date = %s"
                " WHERE id = ANY(%s)",
                [today, start_grace],
            )
        if requalified:
            self.env.cr.execute(
                "UPDATE loyalty_card SET loyalty_tier_review_date = NULL"
                " WHERE id = ANY(%s)",
                [requalified],
            )
        self.env.invalidate_all()
        Card = self.env["loyalty.card"].sudo()
        todo = {"start": 0}

        def step():
            batch = changes[todo["start"] : todo["start"] + batch_size]
            todo["start"] += batch_size
            if not batch:
                return 0
            cards = Card.browse(c for c, _old, _new in batch)
            cards.fetch(["loyalty_tier_id", "partner_id", "program_id", "company_id"])
            Card._loyalty_change_tiers(
                [
                    (Card.browse(c), self.browse(old), self.browse(new))
                    for c, old, new in batch
                ],
                self.env._("Tier review"),
            )
            return len(batch)

        self.env["loyalty.batch"]._run_batches(step, len(changes), max_batches)
        return len(changes)
