# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import calendar
from collections import defaultdict

from odoo import api, fields, models
from odoo.tools import SQL, float_compare

from ..engine.member_events import (
    BIRTHDAY_SQL,
    EXPIRING_SQL,
    INACTIVE_SQL,
    SCAN_BATCH_SQL,
)


class LoyaltyMemberEventDetection(models.AbstractModel):
    """Detection of member events, a part of ``loyalty.member.event``: what
    new ledger lines give rise to, and the daily scans (inactivity,
    birthdays, points expiring, members at risk). Each method only RECORDS
    events through ``_emit``; the automation rules run later, in the
    processing cron. Extend a method with ``_inherit =
    "loyalty.member.event"``."""

    _name = "loyalty.member.event.detection"
    _description = "Loyalty Member Event Detection"

    # ------------------------------------------------------------------
    # What ledger lines give rise to (inside the business transaction)
    # ------------------------------------------------------------------
    @api.model
    def _redeemed_before_sql(self, lines):
        """The ids of the cards of the new redemptions among ``lines`` that
        had a redemption before them (stops at the first), as SQL; None
        without redemptions."""
        cards = {ln.card_id.id for ln in lines if ln.entry_type == "redeem"}
        if not cards:
            return None
        self.env["loyalty.ledger.line"].flush_model(["card_id", "entry_type"])
        return SQL(
            """
            SELECT c.id FROM unnest(%s::int[]) AS c(id)
             WHERE EXISTS (SELECT 1 FROM loyalty_ledger_line l
                            WHERE l.card_id = c.id AND l.entry_type = 'redeem'
                              AND l.id <> ALL(%s::int[]))
            """,
            sorted(cards),
            lines.ids,
        )

    @api.model
    def _emit_from_ledger(self, lines, redeemed_before=None):
        """Events that new ledger lines give rise to: points reached, reward
        unlocked, first redemption, Nth order. A few queries per batch;
        ``redeemed_before``: the ids of the cards of ``lines`` that had a
        redemption before them, when posting already asked
        (``_redeemed_before_sql``)."""
        lines = lines.filtered(
            lambda ln: ln.program_id.program_type == "loyalty" and ln.card_id.partner_id
        )
        if not lines:
            return self.browse()
        env = self.env
        Ledger = env["loyalty.ledger.line"].sudo()
        delta = defaultdict(float)
        redeemed = defaultdict(int)
        orders = defaultdict(set)
        for line in lines:
            if line.state == "posted":
                delta[line.card_id] += line.points
            if line.entry_type == "redeem":
                redeemed[line.card_id] += 1
            elif line.entry_type == "earn" and (
                line.sale_order_id or line.pos_order_id
            ):
                orders[line.card_id].add((line.sale_order_id.id, line.pos_order_id.id))
        vals_list = self._balance_event_vals(delta)
        if redeemed:
            if redeemed_before is None:
                env.cr.execute(self._redeemed_before_sql(lines))
                redeemed_before = [row[0] for row in env.cr.fetchall()]
            before = set(redeemed_before)
            for card in redeemed:
                if card.id not in before:
                    vals_list.append(
                        self._prepare_event(
                            card,
                            "first_redemption",
                            f"first_redeem:{card.id}",
                            description=env._("First redemption"),
                        )
                    )
        cards = [card for card in orders if card.program_id.loyalty_nth_order > 0]
        if cards:
            totals = {
                card: sales + pos
                for card, sales, pos in Ledger._read_group(
                    [
                        ("card_id", "in", [c.id for c in cards]),
                        ("entry_type", "=", "earn"),
                    ],
                    ["card_id"],
                    ["sale_order_id:count_distinct", "pos_order_id:count_distinct"],
                )
            }
            for card in cards:
                nth, total = card.program_id.loyalty_nth_order, totals.get(card, 0)
                reached = total // nth * nth
                if reached and reached > total - len(orders[card]):
                    vals_list.append(
                        self._prepare_event(
                            card,
                            "nth_order",
                            f"nth_order:{card.id}:{reached}",
                            points=reached,
                            description=env._("Order #%s", reached),
                        )
                    )
        return self._emit(vals_list)

    @api.model
    def _balance_event_vals(self, gains):
        """Points milestones and rewards that balances rising by ``gains``
        ({card: points}, already on the cards) reach."""
        env = self.env
        vals_list = []
        rising = {card: d for card, d in gains.items() if d > 0}
        rewards = self._loyalty_cheapest_rewards(env["loyalty.card"].union(*rising))
        for card, gained in rising.items():
            after = card.points
            before = after - gained
            step = card.program_id.loyalty_points_milestone
            if step > 0:
                reached = (after // step) * step
                if reached >= step and float_compare(reached, before, 2) > 0:
                    vals_list.append(
                        self._prepare_event(
                            card,
                            "points_reached",
                            f"points:{card.id}:{reached:g}",
                            points=reached,
                            description=env._(
                                "%(points)s points reached",
                                points=env["loyalty.ledger.line"]._format_points(
                                    reached
                                ),
                            ),
                        )
                    )
            reward, required = rewards.get(card, (None, 0.0))
            if reward and before < required <= after:
                vals_list.append(
                    self._prepare_event(
                        card,
                        "reward_unlocked",
                        f"reward:{card.id}:{reward.id}",
                        reward_id=reward.id,
                        points=after,
                        description=env._("Reward unlocked: %s", reward.description),
                    )
                )
        return vals_list

    @api.model
    def _loyalty_cheapest_rewards(self, cards):
        """{card: (the cheapest reward of its program the member can claim,
        its points)}, from the programs' cached rewards."""
        Program = self.env["loyalty.program"]
        Reward = self.env["loyalty.reward"]
        result = {}
        for card in cards:
            # Tier-restricted rewards count only for members of those tiers.
            tier_id = card.loyalty_tier_id.id
            for reward_id, points, tier_ids in Program._loyalty_engine_data(
                card.program_id.id
            )["rewards"]:
                if not tier_ids or tier_id in tier_ids:
                    result[card] = (Reward.browse(reward_id), points)
                    break
        return result

    @api.model
    def _emit_at_risk(self, card_ids, today):
        """The segment cron moved these cards' members into the at-risk
        segment: one event per entry (the key holds the day it happened, so
        a member who stays at risk is not told again, and one who recovers
        and slips again is)."""
        self.env["res.partner"].invalidate_model(["loyalty_churn_reason"])
        cards = self.env["loyalty.card"].sudo().browse(card_ids)
        return self._emit(
            [
                self._prepare_event(
                    card,
                    "at_risk",
                    f"at_risk:{card.partner_id.id}:{today}",
                    tier_id=card.loyalty_tier_id.id,
                    description=card.partner_id.loyalty_churn_reason,
                )
                for card in cards
            ]
        )

    # ------------------------------------------------------------------
    # Daily scans (crons)
    # ------------------------------------------------------------------
    @api.model
    def _loyalty_scan(self, query, params, build_vals, batch_size, max_batches=0):
        """Run ``query`` (keyset-paginated on its first column,
        ``%(last)s``) by batches, recording the events ``build_vals`` makes
        of each row. Each batch also counts the rows left after it, for the
        cron's progress. Returns how many events were new."""
        env = self.env
        state = {"last": 0, "new": 0, "left": 0}
        batch_query = SCAN_BATCH_SQL.format(query=query)

        def step():
            env.cr.execute(
                batch_query, {**params, "last": state["last"], "batch": batch_size}
            )
            rows = env.cr.fetchall()
            if rows:
                state["last"] = rows[-1][0]
                state["left"] = rows[0][-1] - len(rows)
                state["new"] += len(self._emit([build_vals(row[:-1]) for row in rows]))
            return len(rows)

        env["loyalty.batch"]._run_batches(
            step, max_batches=max_batches, remaining=lambda: state["left"]
        )
        return state["new"]

    @api.model
    def _cron_detect_inactivity(self, batch_size=10000, max_batches=0):
        """An event per member with no earn nor redeem for the program's
        ``loyalty_inactivity_days``, once per period of inactivity.

        Members already told about are skipped by ``_emit`` (a lookup in the
        unique index on ``key``), not by an anti-join: its plan depends on
        statistics that a big run makes stale."""
        env = self.env

        def build_vals(row):
            partner_id, card_id, program_id, company_id, tier_id, last = row
            return {
                "partner_id": partner_id,
                "card_id": card_id,
                "program_id": program_id,
                "company_id": company_id,
                "tier_id": tier_id,
                "event_type": "inactive",
                "key": f"inactive:{partner_id}:{last}",
                "description": env._("No points earned or redeemed since %s", last),
            }

        today = fields.Date.context_today(self)
        return self._loyalty_scan(
            INACTIVE_SQL, {"today": today}, build_vals, batch_size, max_batches
        )

    @api.model
    def _cron_detect_birthdays(self, batch_size=10000, max_batches=0):
        """An event per member whose birthday is today (members born on 29
        February celebrate on the 28th in common years); then the birthday
        bonuses."""
        env = self.env
        today = fields.Date.context_today(self)
        days = [today.day]
        if today.month == 2 and today.day == 28 and not calendar.isleap(today.year):
            days.append(29)

        def build_vals(row):
            partner_id, card_id, program_id, company_id = row
            return {
                "partner_id": partner_id,
                "card_id": card_id,
                "program_id": program_id,
                "company_id": company_id,
                "event_type": "birthday",
                "key": f"birthday:{partner_id}:{today.year}",
                "description": env._("Birthday"),
            }

        params = {"month": today.month, "days": days}
        result = self._loyalty_scan(
            BIRTHDAY_SQL, params, build_vals, batch_size, max_batches
        )
        self.env["loyalty.program"]._loyalty_post_birthday_bonuses()
        return result

    @api.model
    def _cron_detect_expiring_points(self, batch_size=10000, max_batches=0):
        """An event per card and expiry date of its open lots that expire
        within the program's ``loyalty_expiry_warning_days``."""
        env = self.env
        today = fields.Date.context_today(self)

        def build_vals(row):
            __, card_id, partner_id, program_id, company_id, expiry, points = row
            return {
                "partner_id": partner_id,
                "card_id": card_id,
                "program_id": program_id,
                "company_id": company_id,
                "event_type": "points_expiring",
                "key": f"expiring:{card_id}:{expiry}",
                "points": points,
                "expiry_date": expiry,
                "description": env._(
                    "%(points)s points expire on %(date)s",
                    points=env["loyalty.ledger.line"]._format_points(points),
                    date=expiry,
                ),
            }

        return self._loyalty_scan(
            EXPIRING_SQL, {"today": today}, build_vals, batch_size, max_batches
        )
