# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Detection of member events: what new ledger lines give rise to, and the
daily scans (inactivity, birthdays, points expiring). Each function takes the
``loyalty.member.event`` model and only RECORDS events through its ``_emit``;
the automation rules run later, in the processing cron."""

import calendar
from collections import defaultdict

from odoo import fields
from odoo.tools import float_compare

from .batch import run_batches
from .ledger import format_points
from .member_figures import EXPIRING_SOON_SQL


def events_from_ledger(Event, lines):
    """Events that new ledger lines give rise to: points reached, reward
    unlocked, first redemption, Nth order. A few queries per batch."""
    lines = lines.filtered(
        lambda ln: ln.program_id.program_type == "loyalty" and ln.card_id.partner_id
    )
    if not lines:
        return Event.browse()
    env = Event.env
    Ledger = env["loyalty.ledger.line"].sudo()
    delta = defaultdict(float)
    redeemed = defaultdict(int)
    orders = defaultdict(set)
    for line in lines:
        if line.state == "posted":
            delta[line.card_id] += line.points
        if line.entry_type == "redeem":
            redeemed[line.card_id] += 1
        elif line.entry_type == "earn" and (line.sale_order_id or line.pos_order_id):
            orders[line.card_id].add((line.sale_order_id.id, line.pos_order_id.id))
    vals_list = balance_event_vals(Event, delta)
    if redeemed:
        # cards that had a redemption before these lines (stops at the first)
        Ledger.flush_model(["card_id", "entry_type"])
        env.cr.execute(
            """
            SELECT c.id FROM unnest(%s::int[]) AS c(id)
             WHERE EXISTS (SELECT 1 FROM loyalty_ledger_line l
                            WHERE l.card_id = c.id AND l.entry_type = 'redeem'
                              AND l.id <> ALL(%s::int[]))
            """,
            [[c.id for c in redeemed], lines.ids],
        )
        before = {row[0] for row in env.cr.fetchall()}
        for card in redeemed:
            if card.id not in before:
                vals_list.append(
                    Event._prepare_event(
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
                    Event._prepare_event(
                        card,
                        "nth_order",
                        f"nth_order:{card.id}:{reached}",
                        points=reached,
                        description=env._("Order #%s", reached),
                    )
                )
    return Event._emit(vals_list)


def balance_event_vals(Event, gains):
    """Points milestones and rewards that balances rising by ``gains``
    ({card: points}, already on the cards) reach."""
    env = Event.env
    vals_list = []
    rising = {card: d for card, d in gains.items() if d > 0}
    rewards = cheapest_rewards(env["loyalty.card"].union(*rising))
    for card, gained in rising.items():
        after = card.points
        before = after - gained
        step = card.program_id.loyalty_points_milestone
        if step > 0:
            reached = (after // step) * step
            if reached >= step and float_compare(reached, before, 2) > 0:
                vals_list.append(
                    Event._prepare_event(
                        card,
                        "points_reached",
                        f"points:{card.id}:{reached:g}",
                        points=reached,
                        description=env._(
                            "%(points)s points reached",
                            points=format_points(env, reached),
                        ),
                    )
                )
        reward, required = rewards.get(card, (None, 0.0))
        if reward and before < required <= after:
            vals_list.append(
                Event._prepare_event(
                    card,
                    "reward_unlocked",
                    f"reward:{card.id}:{reward.id}",
                    reward_id=reward.id,
                    points=after,
                    description=env._("Reward unlocked: %s", reward.description),
                )
            )
    return vals_list


def cheapest_rewards(cards):
    """{card: (the cheapest reward of its program the member can claim, its
    points)}, from the programs' cached rewards."""
    Program = cards.env["loyalty.program"]
    Reward = cards.env["loyalty.reward"]
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


def _scan(Event, query, params, build_vals, batch_size, max_batches=0):
    """Run ``query`` (keyset-paginated on its first column, ``%(last)s``) by
    batches, recording the events ``build_vals`` makes of each row. Each
    batch also counts the rows left after it, for the cron's progress (the
    scan reads them all anyway, to sort them). Returns how many events were
    new."""
    env = Event.env
    state = {"last": 0, "new": 0, "left": 0}
    batch_query = f"""
        SELECT scan.*, COUNT(*) OVER () FROM ({query}) scan
         ORDER BY 1 LIMIT %(batch)s
    """  # noqa: S608 -- our own queries

    def step():
        env.cr.execute(
            batch_query, {**params, "last": state["last"], "batch": batch_size}
        )
        rows = env.cr.fetchall()
        if rows:
            state["last"] = rows[-1][0]
            state["left"] = rows[0][-1] - len(rows)
            state["new"] += len(Event._emit([build_vals(row[:-1]) for row in rows]))
        return len(rows)

    run_batches(env, step, max_batches=max_batches, remaining=lambda: state["left"])
    return state["new"]


def detect_inactivity(Event, batch_size=10000, max_batches=0):
    """An event per member with no earn nor redeem for the program's
    ``loyalty_inactivity_days``, once per period of inactivity.

    Members already told about are skipped by ``_emit`` (a lookup in the
    unique index on ``key``), not by an anti-join: its plan depends on
    statistics that a big run makes stale."""
    env = Event.env
    query = """
        SELECT DISTINCT ON (p.id) p.id, c.id, c.program_id,
               COALESCE(c.company_id, pr.company_id), c.loyalty_tier_id, a.last
          FROM loyalty_card c
          JOIN loyalty_program pr ON pr.id = c.program_id
          JOIN res_partner p ON p.id = c.partner_id
         CROSS JOIN LATERAL (
               SELECT COALESCE(p.loyalty_last_activity_date,
                               c.create_date::date) AS last
         ) a
         WHERE pr.program_type = 'loyalty' AND pr.active AND p.active
           AND p.id > %(last)s
           AND a.last <= %(today)s::date - pr.loyalty_inactivity_days
         ORDER BY p.id, c.id
    """

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

    today = fields.Date.context_today(Event)
    return _scan(Event, query, {"today": today}, build_vals, batch_size, max_batches)


def detect_birthdays(Event, batch_size=10000, max_batches=0):
    env = Event.env
    today = fields.Date.context_today(Event)
    days = [today.day]
    # Members born on 29 February celebrate on the 28th in common years.
    if today.month == 2 and today.day == 28 and not calendar.isleap(today.year):
        days.append(29)
    query = """
        SELECT DISTINCT ON (p.id) p.id, c.id, c.program_id,
               COALESCE(c.company_id, pr.company_id)
          FROM res_partner p
          JOIN loyalty_card c ON c.partner_id = p.id
          JOIN loyalty_program pr ON pr.id = c.program_id
         WHERE pr.program_type = 'loyalty' AND pr.active AND p.active
           AND p.id > %(last)s
           AND EXTRACT(MONTH FROM p.loyalty_birthday) = %(month)s
           AND EXTRACT(DAY FROM p.loyalty_birthday) = ANY(%(days)s)
         ORDER BY p.id, c.id
    """

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
    return _scan(Event, query, params, build_vals, batch_size, max_batches)


def detect_expiring_points(Event, batch_size=10000, max_batches=0):
    """An event per card and expiry date of its open lots that expire within
    the program's ``loyalty_expiry_warning_days``."""
    env = Event.env
    today = fields.Date.context_today(Event)
    query = f"""
        SELECT MIN(l.id), l.card_id, c.partner_id, c.program_id,
               COALESCE(c.company_id, pr.company_id), l.expiry_date,
               SUM(l.points_residual)
          FROM loyalty_ledger_line l
          JOIN loyalty_card c ON c.id = l.card_id
          JOIN loyalty_program pr ON pr.id = c.program_id
         WHERE {EXPIRING_SOON_SQL}
           AND c.partner_id IS NOT NULL
         GROUP BY l.card_id, l.expiry_date, c.partner_id, c.program_id,
                  c.company_id, pr.company_id
        HAVING MIN(l.id) > %(last)s
         ORDER BY MIN(l.id)
    """

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
                points=format_points(env, points),
                date=expiry,
            ),
        }

    return _scan(Event, query, {"today": today}, build_vals, batch_size, max_batches)
