# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The contact at the till: find a member, show their standing, enrol
them, record their consent."""

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..engine import member_pos
from ..engine.ledger import PRECISION
from ..engine.member_pos import POS_SEARCH_KEYS, search_keys
from .loyalty_referral import normalize_code
from .res_partner import (
    CONSENT_FIELDS,
)


class ResPartner(models.Model):
    # res.partner is extended per capability, each in its own file.
    _inherit = "res.partner"  # pylint: disable=consider-merging-classes-inherited

    # ------------------------------------------------------------------
    # The till: find a member, show their standing, enroll them
    # ------------------------------------------------------------------
    @api.model
    def _loyalty_pos_config(self, config_id):
        if isinstance(config_id, bool) or not isinstance(config_id, int):
            raise UserError(self.env._("Unknown point of sale."))
        config = self.env["pos.config"].search_fetch(
            [("id", "=", config_id)], ["company_id"], limit=1
        )
        if not config:
            raise UserError(self.env._("Unknown point of sale."))
        return config

    def init(self):
        res = super().init()
        member_pos.create_indexes(self.env.cr, self.env.registry.has_trigram)
        return res

    @api.model
    def loyalty_pos_search(
        self, query, config_id, offset=0, limit=member_pos.POS_SEARCH_LIMIT
    ):
        """Ids of the partners a till's customer search finds for ``query``:
        a member's whole card code or referral code, or a whole barcode,
        first; then the start of a name (or of its second or third word),
        phone, mobile or email; a word further in the name when nothing
        else matched. Searched here, by index, so that a shop with many
        members never loads them all."""
        return self._loyalty_pos_search(
            query, self._loyalty_pos_config(config_id), offset, limit
        )

    @api.model
    def _loyalty_pos_search(self, query, config, offset, limit):
        if not isinstance(query, str) or len(query) > member_pos.MAX_POS_QUERY:
            raise UserError(self.env._("Invalid search."))
        if (
            isinstance(offset, bool)
            or not isinstance(offset, int)
            or isinstance(limit, bool)
            or not isinstance(limit, int)
        ):
            raise UserError(self.env._("Invalid search."))
        query = query.strip()
        if not query:
            return []
        offset, limit = max(0, offset), max(1, min(limit, 100))
        return self._loyalty_pos_search_ids(query, config, offset, limit)

    @api.model
    def loyalty_pos_find(
        self, query, config_id, offset=0, limit=member_pos.POS_SEARCH_LIMIT
    ):
        """The till's customer search in one call: ``ids`` found
        (``loyalty_pos_search``), the ``partners`` as the till loads them
        and their standing (``members``, as ``loyalty_pos_member_info``)."""
        config = self._loyalty_pos_config(config_id)
        ids = self._loyalty_pos_search(query, config, offset, limit)
        partners = self.browse(ids)
        return {
            "ids": ids,
            "partners": partners.read(
                partners._load_pos_data_fields(config.id), load=False
            ),
            "members": partners._loyalty_pos_member_info(config),
        }

    def loyalty_pos_member_info(self, config_id):
        """Standing of the partners at the till, as plain values keyed by
        partner id (str): membership card, available and pending points,
        tier, progress to the next tier, points expiring soon."""
        return self._loyalty_pos_member_info(self._loyalty_pos_config(config_id))

    def _loyalty_pos_member_info(self, config):
        # The partners the user may read.
        partners = (
            self.with_company(config.company_id)
            .with_context(active_test=False)
            .search_fetch([("id", "in", self.ids)], ["commercial_partner_id"])
        )
        return partners._loyalty_pos_standing(config)

    def loyalty_pos_enroll(self, config_id):
        """Enroll the customer at the till; returns their standing (with
        the new card's id)."""
        self.ensure_one()
        config = self._loyalty_pos_config(config_id)
        self.with_company(config.company_id).action_loyalty_enroll()
        return self._loyalty_pos_member_info(config)[str(self.id)]

    @api.model
    def loyalty_pos_check_referral(self, code, partner_id, config_id):
        """What the till tells the cashier about a referral code typed for a
        customer (``partner_id``, or False): ``valid``, the ``code`` as
        stored, who refers (``referrer``), the customer's ``bonus`` and the
        first purchase it needs (``min_amount``), and a ``message`` to show.
        Nothing is written: the server registers the code with the paid
        order, as before."""
        config = self._loyalty_pos_config(config_id)
        if not isinstance(code, str) or len(code) > member_pos.MAX_POS_QUERY:
            raise UserError(self.env._("Invalid referral code."))
        if partner_id is not False and (
            isinstance(partner_id, bool) or not isinstance(partner_id, int)
        ):
            raise UserError(self.env._("Invalid customer."))
        if not self.env.su and not self.env.user.has_group(
            "point_of_sale.group_pos_user"
        ):
            raise AccessError(
                self.env._("Only point of sale users check referral codes.")
            )
        code = normalize_code(code)
        program = config.company_id.loyalty_membership_program_id
        result = {"valid": False, "code": code, "referrer": "", "bonus": 0.0}
        referrer = (
            self.sudo().search([("loyalty_referral_code", "=", code)], limit=1)
            if code
            else self.browse()
        ).commercial_partner_id
        customer = self.browse(partner_id or []).exists().commercial_partner_id
        if not referrer:
            result["message"] = self.env._("No member has the referral code %s.", code)
        elif not program:
            result["message"] = self.env._("This shop has no membership program.")
        elif customer and customer == referrer:
            result["message"] = self.env._("A customer cannot refer themselves.")
        elif customer and (
            self.env["loyalty.referral"]
            .sudo()
            .search_count(
                [
                    ("referee_commercial_id", "=", customer.id),
                    ("state", "=", "converted"),
                    ("referrer_id", "!=", referrer.id),
                ],
                limit=1,
            )
        ):
            result["message"] = self.env._(
                "%s was already referred by another member.", customer.name
            )
        else:
            result.update(
                valid=True,
                referrer=referrer.name or "",
                bonus=round(program.loyalty_referee_points, PRECISION),
                min_amount=program.loyalty_referral_min_amount,
                message=self.env._("Referred by %s.", referrer.name),
            )
        return result

    @api.model
    def _loyalty_pos_search_ids(self, query, config, offset, limit):
        """Ids of the partners found for ``query`` (a stripped, non-empty
        text): first those holding it as a whole card code, referral code or
        barcode (of the till's company); then those whose name (or its second
        or third word), phone, mobile or email starts with it, in the order of
        what matched; a word further in the name only when nothing else
        matched. One statement; each branch reads its own index in order and
        stops at ``offset + limit`` rows, so that a page costs the same with
        100,000 matches as with one. The user's access rules apply."""
        company = config.company_id.id
        escaped = (
            query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        )
        prefix = escaped + "%"
        # Each branch gives its first rows by its key (filters applied): the
        # first rows of their union by (rank, key) are the right ones.
        top = offset + limit
        kept = SQL("p.active AND (p.company_id IS NULL OR p.company_id = %s)", company)

        def branch(rank, key, condition):
            return SQL(
                "(SELECT p.id, %(key)s AS key, %(rank)s AS rank FROM res_partner p"
                " WHERE %(condition)s AND %(kept)s ORDER BY %(key)s, p.id"
                " LIMIT %(top)s)",
                key=key,
                rank=rank,
                condition=condition,
                kept=kept,
                top=top,
            )

        name_key = SQL('lower(p.name) COLLATE "C"')
        branches = [
            branch(
                0,
                name_key,
                SQL(
                    "p.id IN (SELECT c.partner_id FROM loyalty_card c"
                    " WHERE c.code = %s AND c.active AND c.partner_id IS NOT NULL"
                    " AND (c.company_id IS NULL OR c.company_id = %s))",
                    query,
                    company,
                ),
            ),
            branch(
                0,
                name_key,
                SQL(
                    "p.barcode IS NOT NULL AND p.barcode @> jsonb_build_object(%s, %s)",
                    str(company),
                    query,
                ),
            ),
            branch(0, name_key, SQL("p.loyalty_referral_code = %s", query)),
        ]
        keys = search_keys(query)
        for name in keys:
            expression, where = POS_SEARCH_KEYS[name]
            key = SQL(f'({expression}) COLLATE "C"')
            condition = SQL("%s LIKE %s", key, prefix)
            if where:
                condition = SQL(f"{where} AND %s", condition)
            branches.append(branch(1, key, condition))
        found = SQL("SELECT id, key, rank FROM hits")
        if self.env.registry.has_trigram and len(query) >= 3 and "name" in keys:
            # Costly on common words: only when nothing else matched (a
            # one-time filter: the scan is skipped otherwise).
            found = SQL(
                "%s UNION ALL (SELECT p.id, %s, 2 FROM res_partner p"
                " WHERE NOT EXISTS (SELECT 1 FROM hits)"
                " AND lower(p.name) LIKE %s AND %s ORDER BY 2, p.id LIMIT %s)",
                found,
                name_key,
                "% " + prefix,
                kept,
                top,
            )
        self.flush_model()
        self.env["loyalty.card"].flush_model(
            ["code", "active", "partner_id", "company_id"]
        )
        rows = self.env.execute_query(
            SQL(
                """
                WITH hits AS MATERIALIZED (%(branches)s)
                SELECT id FROM (%(found)s) f
                 GROUP BY id
                 ORDER BY min(rank), min(key), id
                 LIMIT %(limit)s OFFSET %(offset)s
                """,
                branches=SQL(" UNION ALL ").join(branches),
                found=found,
                limit=limit,
                offset=offset,
            )
        )
        found_ids = [row[0] for row in rows]
        if not found_ids:
            return []
        allowed = set(self._search([("id", "in", found_ids)]))
        return [pid for pid in found_ids if pid in allowed]

    def _loyalty_pos_standing(self, config):
        """Standing of the partners at the till, as plain values keyed by
        partner id (str), for the partners the user may read (``self``)."""
        program = config.company_id.loyalty_membership_program_id
        result = {}
        for partner in self:
            card = partner.loyalty_card_id
            info = {
                "partner_id": partner.id,
                "is_member": bool(card) and bool(program),
                "program_id": program.id,
                "can_enroll": bool(program)
                and not card
                and partner.commercial_partner_id.active,
            }
            if info["is_member"]:
                tier = partner.loyalty_tier_id
                next_tier = partner.loyalty_next_tier_id
                qualifying = partner.loyalty_tier_points
                progress = 100.0
                if next_tier and next_tier.threshold:
                    progress = max(
                        0.0, min(100.0, 100.0 * qualifying / next_tier.threshold)
                    )
                info.update(
                    {
                        "card_id": card.id,
                        "card_code": card.code or "",
                        "point_name": program.portal_point_name or "",
                        "balance": round(partner.loyalty_balance, PRECISION),
                        "pending": round(partner.loyalty_pending_balance, PRECISION),
                        "tier": tier.name or "",
                        "tier_color": tier.color or 0,
                        "next_tier": next_tier.name or "",
                        "points_to_next_tier": round(
                            partner.loyalty_points_to_next_tier, PRECISION
                        ),
                        "tier_progress": round(progress, 1),
                        "expiring": round(partner.loyalty_expiring_points, PRECISION),
                        "expiry_date": fields.Date.to_string(
                            partner.loyalty_next_expiry_date
                        )
                        or "",
                    }
                )
            result[str(partner.id)] = info
        return result

    @api.model
    def _loyalty_till_member_cards(self, data):
        """A till's ``confirm_coupon_programs`` data ({card id: values}) with
        the new membership cards it makes for a company's buyer given to the
        company: its existing card of the program replaces the till's new one
        (returned {card id: the till's id}), else the card is made for it."""
        env = self.env
        new = {
            k: v
            for k, v in data.items()
            if k < 0 and v.get("partner_id") and not v.get("giftCardId")
        }
        programs = (
            env["loyalty.program"]
            .sudo()
            .browse({v["program_id"] for v in new.values()})
            .filtered(lambda p: p.program_type == "loyalty")
        )
        new = {k: v for k, v in new.items() if v["program_id"] in programs.ids}
        if not new:
            return data, {}
        Partner = env["res.partner"].sudo()
        members = {
            p.id: p.commercial_partner_id.id
            for p in Partner.browse({v["partner_id"] for v in new.values()}).exists()
        }
        cards = (
            env["loyalty.card"]
            .sudo()
            .search(
                [
                    ("program_id", "in", programs.ids),
                    ("partner_id", "in", list(set(members.values()))),
                ],
                order="id desc",
            )
        )
        existing = {(c.program_id.id, c.partner_id.id): c.id for c in cards}
        data, renamed = dict(data), {}
        for key, vals in new.items():
            member_id = members.get(vals["partner_id"])
            if not member_id:
                continue
            card_id = existing.get((vals["program_id"], member_id))
            if card_id and card_id not in data:
                del data[key]
                data[card_id] = dict(vals, partner_id=member_id)
                renamed[card_id] = key
            else:
                data[key] = dict(vals, partner_id=member_id)
        return data, renamed

    # ------------------------------------------------------------------
    # Consent at the till
    # ------------------------------------------------------------------
    @api.model
    def _load_pos_data_fields(self, config_id):
        # The member panel shows the customer's choice as the till loads it.
        return super()._load_pos_data_fields(config_id) + CONSENT_FIELDS

    def loyalty_pos_set_consent(self, consent, config_id):
        """The customer's choice told to the cashier: recorded on the server
        with the channel ``pos`` and the date. Returns the partner's consent
        fields as the till loads them, so the panel shows them at once."""
        config = self._loyalty_pos_config(config_id)
        if not self.env.su and not self.env.user.has_group(
            "point_of_sale.group_pos_user"
        ):
            raise AccessError(
                self.env._("Only point of sale users record consent at the till.")
            )
        if len(self) != 1 or consent not in ("in", "out"):
            raise UserError(self.env._("Consent is 'in' or 'out', for one customer."))
        # The cashier sees the customer; the choice is the customer's own.
        self.check_access("read")
        config.check_access("read")
        self._loyalty_set_consent(consent, "pos")
        self.invalidate_recordset(CONSENT_FIELDS)
        return self.read(CONSENT_FIELDS)[0]

    def _loyalty_opt_out_lists(self):
        """Their subscriptions to loyalty mailing lists are opted out, the way
        mass mailing's own unsubscribe does it."""
        subscriptions = self._loyalty_list_subscriptions().filtered(
            lambda s: not s.opt_out
        )
        subscriptions.write({"opt_out": True})

    def _loyalty_list_subscriptions(self):
        """Subscriptions of the partners' emails to loyalty mailing lists."""
        emails = [e for e in self.mapped("email_normalized") if e]
        if not emails:
            return self.env["mailing.subscription"]
        return (
            self.env["mailing.subscription"]
            .sudo()
            .search(
                [
                    ("contact_id.email_normalized", "in", emails),
                    ("list_id.loyalty_consent_required", "=", True),
                ]
            )
        )
