# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

# The board ranks the points earned over this many days.
LEADERBOARD_DAYS = 30
LEADERBOARD_SIZE = 10
# Points earned: orders, bonuses (achievements, feedback, birthday...) and
# referrals, net of their reversals (returns, cancellations).
EARNING_ENTRIES = ("earn", "bonus", "referral")

LEADERBOARD_SQL = """
    WITH earned AS (
        -- Only the members who chose to appear are ranked: from them (a
        -- partial index), their cards, then their recent lines.
        SELECT c.partner_id, SUM(l.points) AS points
          FROM res_partner p
          JOIN loyalty_card c ON c.partner_id = p.id
          JOIN loyalty_ledger_line l ON l.card_id = c.id
          LEFT JOIN loyalty_ledger_line o ON o.id = l.reversed_line_id
         WHERE p.loyalty_leaderboard_opt_in AND p.active
           AND c.program_id = %(program)s
           AND l.date >= %(since)s
           AND COALESCE(o.entry_type, l.entry_type) IN %(entries)s
         GROUP BY c.partner_id
        HAVING SUM(l.points) > 0
    ),
    ranked AS (
        SELECT e.partner_id, e.points,
               RANK() OVER (ORDER BY e.points DESC) AS rank
          FROM earned e
    )
    SELECT partner_id, points, rank FROM ranked
     WHERE rank <= %(size)s OR partner_id = %(me)s
     ORDER BY rank, partner_id
"""


def leaderboard_name(name):
    """What the board shows of a member: the first name and the initial of
    the last word ("Maria Garcia Lopez" -> "Maria L."), no more."""
    words = (name or "").split()
    if not words:
        return "?"
    if len(words) == 1:
        return words[0]
    return f"{words[0]} {words[-1][0].upper()}."


class ResPartner(models.Model):
    """The members' leaderboard: members who opt in (from the portal) are
    ranked by the points they earned over the last ``LEADERBOARD_DAYS``
    days, shown by first name and initial only."""

    _inherit = "res.partner"  # pylint: disable=consider-merging-classes-inherited

    loyalty_leaderboard_opt_in = fields.Boolean(
        string="On the Leaderboard",
        default=False,
        copy=False,
        help="The member chose to appear on the members' leaderboard of the "
        "portal (first name and initial only).",
    )

    def init(self):
        res = super().init()
        # The board starts from the members who opted in: a few among many.
        self.env.cr.execute(
            """
            CREATE INDEX IF NOT EXISTS res_partner_loyalty_leaderboard_idx
                ON res_partner (id) WHERE loyalty_leaderboard_opt_in
            """
        )
        return res

    def _loyalty_set_leaderboard_opt_in(self, opt_in):
        """The member's choice (the commercial partner's), from the portal;
        rights are the caller's job. Returns True."""
        if not isinstance(opt_in, bool):
            raise UserError(self.env._("The leaderboard choice is yes or no."))
        members = self.sudo().commercial_partner_id
        members.filtered(
            lambda p: p.loyalty_leaderboard_opt_in != opt_in
        ).loyalty_leaderboard_opt_in = opt_in
        return True

    @api.model
    def _loyalty_leaderboard(self, program, member=None, today=None):
        """The board of ``program``: ``{"days", "rows": [{rank, name,
        points, is_me}] (top LEADERBOARD_SIZE), "me": the row of ``member``
        (a commercial partner) or False}``. One query; members not opted
        in never appear."""
        today = today or fields.Date.context_today(self)
        since = today - timedelta(days=LEADERBOARD_DAYS - 1)
        self.env["loyalty.ledger.line"].flush_model()
        self.env["res.partner"].flush_model(["loyalty_leaderboard_opt_in", "active"])
        self.env.cr.execute(
            SQL(
                LEADERBOARD_SQL,
                program=program.id,
                since=fields.Datetime.to_datetime(since),
                entries=EARNING_ENTRIES,
                size=LEADERBOARD_SIZE,
                me=member.id if member else 0,
            )
        )
        rows = self.env.cr.fetchall()
        names = {
            p.id: leaderboard_name(p.name)
            for p in self.sudo().browse([r[0] for r in rows])
        }
        board, me = [], False
        for partner_id, points, rank in rows:
            row = {
                "rank": rank,
                "name": names[partner_id],
                "points": points,
                "is_me": bool(member) and partner_id == member.id,
            }
            if row["is_me"]:
                me = row
            if rank <= LEADERBOARD_SIZE and len(board) < LEADERBOARD_SIZE:
                board.append(row)
        return {"days": LEADERBOARD_DAYS, "rows": board, "me": me}

    # ------------------------------------------------------------------
    # Privacy: the choice is the member's data
    # ------------------------------------------------------------------
    def _loyalty_export_data(self):
        data = super()._loyalty_export_data()
        data["profile"]["loyalty_leaderboard_opt_in"] = self.loyalty_leaderboard_opt_in
        return data

    def _loyalty_erase_one(self):
        people = self | self.child_ids.with_context(active_test=False)
        people.filtered("loyalty_leaderboard_opt_in").loyalty_leaderboard_opt_in = False
        return super()._loyalty_erase_one()

    # ------------------------------------------------------------------
    # Demo data
    # ------------------------------------------------------------------
    @api.model
    def _loyalty_demo_leaderboard(self, count=8):
        """Some demo members chose to appear on the leaderboard: those who
        earned the most points lately (not the portal demo user, who
        chooses on the portal)."""
        program = self.env.ref(
            "loyalty_crm_addon.loyalty_program_rewards_club", raise_if_not_found=False
        )
        if not program:
            return False
        portal = self.env.ref("base.partner_demo_portal", raise_if_not_found=False)
        cards = self.env["loyalty.card"].search(
            [
                ("program_id", "=", program.id),
                ("partner_id", "!=", False),
                ("partner_id", "!=", portal.id if portal else False),
                ("partner_id.is_company", "=", False),
            ],
            order="points desc, id",
            limit=count,
        )
        cards.partner_id.loyalty_leaderboard_opt_in = True
        return True
