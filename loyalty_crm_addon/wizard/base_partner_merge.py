# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict

from odoo import models
from odoo.tools import float_is_zero, float_round

from ..engine.ledger import ENGINE, PRECISION
from ..models.res_partner import ENGINE_PARTNER_FIELDS


class MergePartnerAutomatic(models.TransientModel):
    _inherit = "base.partner.merge.automatic.wizard"

    def _merge_loyalty_cards(self, src_partners, dst_partner):
        """Membership cards are merged by the ledger (one card per program,
        ``_loyalty_merge_membership_cards``); native code merges the other
        nominative cards (eWallets...)."""
        self._loyalty_merge_membership_cards(src_partners, dst_partner)
        return super()._merge_loyalty_cards(src_partners, dst_partner)

    def _loyalty_merge_membership_cards(
        self, src_partners, dst_partner, description=None
    ):
        """One membership card per program for the kept contact: its own
        card, or else the oldest of the merged contacts'. The other cards
        give it their balance (lots by expiry date) and their pending
        points through ledger lines "Contacts merged into ...", then are
        archived, marked as merged into it (their qualifying points count
        for its tier, their lines' reversals land on it). Every ledger line
        stays, the merge moves it to the kept contact."""
        Card = self.env["loyalty.card"].sudo().with_context(active_test=False)
        cards = Card.search(
            [
                ("partner_id", "in", (src_partners | dst_partner).ids),
                ("program_id.program_type", "=", "loyalty"),
            ],
            order="id",
        )
        if not cards:
            return
        Ledger = self.env["loyalty.ledger.line"]
        description = description or self.env._(
            "Contacts merged into %s", dst_partner.display_name
        )
        vals_list, kept, merged = [], Card, Card
        for _program, program_cards in cards.grouped("program_id").items():
            active = program_cards.filtered("active")
            final = (active.filtered(lambda c: c.partner_id == dst_partner) or active)[
                :1
            ] or program_cards[:1]
            others = program_cards - final
            kept |= final
            merged |= others
            vals_list += self._loyalty_merge_lines(final, others, description)
        cards._loyalty_lock()
        Ledger._post(vals_list, locked=cards)
        engine = Card.with_context(loyalty_ledger_origin=ENGINE)
        if merged:
            # Cards merged before into these ones follow them.
            earlier = Card.search([("loyalty_merged_into_id", "in", merged.ids)])
            for final in kept:
                mine = merged.filtered(lambda c, f=final: c.program_id == f.program_id)
                mine |= earlier.filtered(
                    lambda c, m=mine: c.loyalty_merged_into_id in m
                )
                engine.browse(mine.ids).write({"loyalty_merged_into_id": final.id})
            engine.browse(merged.ids).write({"active": False})
        engine.browse(kept.ids).write({"partner_id": dst_partner.id})
        # The tier follows the merged qualifying points (upgrades at once).
        kept._loyalty_apply_tiers(reason=self.env._("Contacts merged"))

    def _loyalty_merge_lines(self, final, others, description):
        """Ledger values moving the balance and pending points of ``others``
        onto ``final``: per lot expiry date, as the points would have
        expired on their card."""
        Ledger = self.env["loyalty.ledger.line"]
        if not others:
            return []
        lots = Ledger.sudo().search(
            [
                ("card_id", "in", others.ids),
                ("points_residual", ">", 0),
            ]
        )
        vals_list = []
        common = {"source": "import", "description": description}
        for card in others:
            card_lots = lots.filtered(lambda ln, c=card: ln.card_id == c)
            posted = card_lots.filtered(lambda ln: ln.state == "posted")
            balance = float_round(card.points, PRECISION)
            if not float_is_zero(balance, precision_digits=PRECISION):
                vals_list.append(
                    Ledger._prepare_line(card, "adjust", -balance, **common)
                )
                by_expiry = defaultdict(float)
                for lot in posted:
                    by_expiry[lot.expiry_date] += lot.points_residual
                rest = balance - sum(by_expiry.values())
                if not float_is_zero(rest, precision_digits=PRECISION):
                    by_expiry[None] += rest
                for expiry, points in by_expiry.items():
                    if float_is_zero(points, precision_digits=PRECISION):
                        continue
                    values = dict(common)
                    if expiry is not None:
                        values["expiry_date"] = expiry
                    vals_list.append(
                        Ledger._prepare_line(final, "adjust", points, **values)
                    )
            pending = card_lots - posted
            for lot in pending:
                dates = {"state": "pending", "release_date": lot.release_date}
                vals_list.append(
                    Ledger._prepare_line(
                        card, "adjust", -lot.points_residual, **dates, **common
                    )
                )
                vals_list.append(
                    Ledger._prepare_line(
                        final,
                        "adjust",
                        lot.points_residual,
                        expiry_date=lot.expiry_date,
                        **dates,
                        **common,
                    )
                )
            if pending:
                # Those lots now wait on the kept card.
                pending._engine().write({"points_residual": 0.0})
        return vals_list

    def _update_values(self, src_partners, dst_partner):
        """Native merge copies the merged contacts' stored values onto the
        kept one; the engine's figures are not copied: the kept contact
        keeps its referral code (or takes the first merged contact's) and
        the latest day of loyalty activity."""
        partners = src_partners | dst_partner
        engine_fields = [
            fname
            for fname in ENGINE_PARTNER_FIELDS
            if dst_partner._fields[fname].store
            and dst_partner._fields[fname].type not in ("one2many", "many2many")
        ]
        code = dst_partner.loyalty_referral_code or next(
            (p.loyalty_referral_code for p in src_partners if p.loyalty_referral_code),
            False,
        )
        days = [p.loyalty_last_activity_date for p in partners]
        last_day = max((d for d in days if d), default=False)
        # The merged contacts are deleted next: their figures go first,
        # so that native code copies none (and no code twice).
        src_partners.with_context(loyalty_ledger_origin=ENGINE).sudo().write(
            dict.fromkeys(engine_fields, False)
        )
        src_partners.flush_recordset(engine_fields)
        dst = dst_partner.with_context(
            loyalty_ledger_origin=ENGINE, loyalty_referral_sync=ENGINE
        )
        res = super()._update_values(src_partners, dst)
        dst.sudo().write(
            {"loyalty_referral_code": code, "loyalty_last_activity_date": last_day}
        )
        return res

    def _update_foreign_keys(self, src_partners, dst_partner):
        """The merged contacts' ledger lines and orders become the kept
        contact's: so do their last days of activity (KPI member activity,
        the latest per program), and the KPI order facts of the kept
        contact are rebuilt with them (kpi/order_facts.py). Scores and the
        facts' refresh rows are the merged contacts' own (their id is the
        contact's): dropped, the next segment run scores the kept contact
        again. Done before the native merge moves every row pointing to
        the merged contacts (it would move these onto the kept one, or drop
        them where the kept one has one)."""
        src, dst = src_partners.ids, dst_partner.id
        cr = self.env.cr
        self.env.flush_all()
        cr.execute(
            """
            DELETE FROM loyalty_member_score WHERE partner_id = ANY(%(src)s);
            DELETE FROM loyalty_kpi_customer WHERE partner_id = ANY(%(src)s);
            DELETE FROM loyalty_kpi_member_activity WHERE partner_id = ANY(%(src)s)
            RETURNING program_id, last_day
            """,
            {"src": src},
        )
        last_days = {}
        for program_id, last_day in cr.fetchall():
            last_days[program_id] = max(last_day, last_days.get(program_id, last_day))
        res = super()._update_foreign_keys(src_partners, dst_partner)
        if last_days:
            cr.execute(
                """
                INSERT INTO loyalty_kpi_member_activity AS a
                       (program_id, partner_id, last_day)
                SELECT p, %(dst)s, d
                  FROM unnest(%(programs)s::int[], %(days)s::date[]) AS v(p, d)
                ON CONFLICT (program_id, partner_id) DO UPDATE
                   SET last_day = GREATEST(a.last_day, EXCLUDED.last_day)
                """,
                {
                    "dst": dst,
                    "programs": list(last_days),
                    "days": list(last_days.values()),
                },
            )
        for model in (
            "loyalty.member.score",
            "loyalty.kpi.customer",
            "loyalty.kpi.member.activity",
            "loyalty.kpi.order",
        ):
            self.env[model].invalidate_model()
        self.env["loyalty.kpi.order"]._touch(partner_ids=[*src, dst])
        return res
