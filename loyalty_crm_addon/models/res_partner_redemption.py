# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
import weakref

from odoo import models
from odoo.exceptions import UserError
from odoo.service.model import MAX_TRIES_ON_CONCURRENCY_FAILURE
from odoo.tools import SQL

_logger = logging.getLogger(__name__)
# Conflicts on a card met by the request of a cursor (the RPC dispatcher
# retries a request on its cursor).
BUSY_TRIES = weakref.WeakKeyDictionary()


class ResPartner(models.Model):
    """The redemption's hot path (``loyalty_redeem_points``): what it reads
    of the user, and what it answers when other redemptions hold the card."""

    # res.partner is extended per capability, each in its own file.
    _inherit = "res.partner"  # pylint: disable=consider-merging-classes-inherited

    def _loyalty_with_tz(self):
        """These records with the user's time zone in their context (the
        context's, else the user's: known when ``_loyalty_prime_user`` or
        the ORM read it, else read with one small query; a redemption reads
        nothing else of the user)."""
        if self.env.context.get("tz"):
            return self
        user = self.env.user
        cache = self.env.cache
        if cache.contains(user, user._fields["partner_id"]):
            partner = user.partner_id
            if cache.contains(partner, partner._fields["tz"]):
                return self.with_context(tz=partner.tz or "UTC")
        self.env.cr.execute(
            """
            SELECT p.tz FROM res_users u JOIN res_partner p ON p.id = u.partner_id
             WHERE u.id = %s
            """,
            [user.id],
        )
        row = self.env.cr.fetchone()
        return self.with_context(tz=(row and row[0]) or "UTC")

    def _loyalty_prime_user(self):
        """What a redemption reads of the user, in one small query, unless
        the ORM already holds it: the user's company (``env.company``), the
        ``parent_path`` of the user's companies (the contacts' company rule
        ``parent_of`` expands them) and the user's time zone (the activity
        date). The ORM would read the whole rows of the user, its companies
        and its contact for these."""
        env = self.env
        cache = env.cache
        user = env.user
        Company = env["res.company"]
        company_ids = user._get_company_ids()  # cached by the ORM
        need_company = not env.context.get("allowed_company_ids") and (
            not cache.contains(user, user._fields["company_id"])
        )
        paths = Company.browse(company_ids)
        need_paths = any(
            not cache.contains(company, Company._fields["parent_path"])
            for company in paths
        )
        need_tz = not env.context.get("tz") and not (
            cache.contains(user, user._fields["partner_id"])
            and cache.contains(user.partner_id, user.partner_id._fields["tz"])
        )
        if not (need_company or need_paths or need_tz):
            return
        env.cr.execute(
            """
            SELECT u.company_id, u.partner_id, p.tz,
                   ARRAY(SELECT ARRAY[c.id::text, c.parent_path] FROM res_company c
                          WHERE c.id = ANY(%s))
              FROM res_users u JOIN res_partner p ON p.id = u.partner_id
             WHERE u.id = %s
            """,
            [list(company_ids), user.id],
        )
        row = env.cr.fetchone()
        if not row:
            return
        company_id, partner_id, tz, company_paths = row
        if need_company:
            cache.update(user, user._fields["company_id"], [company_id])
        if need_tz:
            if not cache.contains(user, user._fields["partner_id"]):
                cache.update(user, user._fields["partner_id"], [partner_id])
            partner = env["res.partner"].browse(partner_id)
            if cache.contains(user, user._fields["partner_id"]) and (
                user.partner_id == partner
            ):
                cache.update(partner, partner._fields["tz"], [tz])
        for cid, path in company_paths:
            company = Company.browse(int(cid))
            if not cache.contains(company, Company._fields["parent_path"]):
                cache.update(company, Company._fields["parent_path"], [path])

    def _loyalty_busy(self, error):
        """What a redemption that met a concurrent one on the same card
        raises: the database's error, which the RPC dispatcher answers by
        running the call again in a new transaction (it then waits its
        turn), as long as the dispatcher still retries; a clear "try again"
        instead of the raw database error when this is the dispatcher's
        last try (counted per cursor: one request, retried on it).
        Nothing is written either way."""
        cr = self.env.cr
        tries = BUSY_TRIES[cr] = BUSY_TRIES.get(cr, 0) + 1
        if tries < MAX_TRIES_ON_CONCURRENCY_FAILURE:
            return error
        BUSY_TRIES.pop(cr, None)
        _logger.info("Loyalty redemption: card busy after %s tries", tries)
        return UserError(
            self.env._(
                "This member's points are being used by other redemptions at "
                "this very moment: nothing was spent. Please try again."
            )
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
        self._loyalty_prime_user()
        visible = self.with_context(active_test=False)._search([("id", "=", self.id)])
        self.env.cr.execute(
            SQL(
                """
                SELECT p.active AND cp.active, card.id, card.company_id,
                       card.program_id, card.partner_id, card.loyalty_tier_id,
                       card.program_type
                  FROM res_partner p
                  JOIN res_partner cp ON cp.id = COALESCE(p.commercial_partner_id, p.id)
                  LEFT JOIN LATERAL (
                       SELECT c.id, c.company_id, c.program_id, c.partner_id,
                              c.loyalty_tier_id, prog.program_type
                         FROM loyalty_card c
                         JOIN loyalty_program prog ON prog.id = c.program_id
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
        # What posting reads of the card, as read here: no other query.
        fields_ = card._fields
        cache = self.env.cache
        for name, value in zip(
            ("company_id", "program_id", "partner_id", "loyalty_tier_id"),
            row[2:6],
            strict=True,
        ):
            if not cache.contains(card, fields_[name]):
                cache.update(card, fields_[name], [value])
        program = card.program_id
        if not cache.contains(program, program._fields["program_type"]):
            cache.update(program, program._fields["program_type"], [row[6]])
        if row[2] and row[2] not in self.env.companies.ids:
            raise UserError(
                self.env._("This membership card belongs to another company.")
            )
        return card
