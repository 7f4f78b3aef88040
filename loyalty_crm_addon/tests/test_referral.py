# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import re

import psycopg2

from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import LoyaltyCrmCommon

CODE_RE = re.compile(r"^[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}$")


@tagged("post_install", "-at_install")
class TestReferral(LoyaltyCrmCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.program.write(
            {"loyalty_referrer_points": 100, "loyalty_referee_points": 50}
        )
        cls.member.write(
            {
                "phone": "+32 470 12 34 56",
                "vat": "BE0477472701",
                "street": "Rue Neuve 12",
                "zip": "1000",
                "city": "Brussels",
            }
        )
        cls.Referral = cls.env["loyalty.referral"]
        cls.Event = cls.env["loyalty.member.event"]

    def _friend(self, name="Fiona Friend", **values):
        return self.env["res.partner"].create(
            {
                "name": name,
                "email": "%s@example.org" % name.split()[0].lower(),
                **values,
            }
        )

    def _referral(self, partner):
        return self.Referral.search(
            [("referee_commercial_id", "=", partner.commercial_partner_id.id)],
            order="id desc",
            limit=1,
        )

    def _refer(self, partner, referrer=None):
        partner.loyalty_referred_by_id = referrer or self.member
        return self._referral(partner)

    def assertRejected(self, referral, reason):
        self.assertEqual(referral.state, "rejected")
        self.assertEqual(referral.reject_reason, reason)
        self.assertFalse(referral.ledger_line_ids)

    # ------------------------------------------------------------------
    # Codes
    # ------------------------------------------------------------------
    def test_codes_generated_unique_and_backfilled(self):
        self.assertRegex(self.member.loyalty_referral_code, CODE_RE)
        others = self.env["res.partner"].create(
            [{"name": "Member %s" % i} for i in range(30)]
        )
        for partner in others:
            partner.action_loyalty_enroll()
        codes = others.mapped("loyalty_referral_code")
        self.assertTrue(all(CODE_RE.match(c) for c in codes))
        self.assertEqual(len(set(codes + [self.member.loyalty_referral_code])), 31)
        self.assertIn(
            self.member.loyalty_referral_code, self.member.loyalty_referral_url
        )
        # Members from before the addon's referral codes get one at upgrade.
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE res_partner SET loyalty_referral_code = NULL WHERE id = ANY(%s)",
            [others[:5].ids],
        )
        others.invalidate_recordset(["loyalty_referral_code"])
        self.assertEqual(self.env["res.partner"]._loyalty_backfill_referral_codes(), 5)
        self.assertTrue(all(others[:5].mapped("loyalty_referral_code")))
        # Codes are unique in the database too.
        with (
            self.assertRaises(psycopg2.errors.UniqueViolation),
            mute_logger("odoo.sql_db"),
            self.cr.savepoint(),
        ):
            others[0].loyalty_referral_code = self.member.loyalty_referral_code
            self.env.flush_all()

    def test_code_lookup_is_forgiving(self):
        code = self.member.loyalty_referral_code
        for typed in (
            code.lower(),
            code.replace("-", ""),
            " %s " % code.replace("-", " "),
        ):
            self.assertEqual(self.Referral._loyalty_find_referrer(typed), self.member)
        with self.assertRaises(UserError):
            self.Referral._loyalty_find_referrer("NOPE-NOPE")

    # ------------------------------------------------------------------
    # Conversion
    # ------------------------------------------------------------------
    def test_conversion_from_contact_and_sales_order(self):
        friend = self._friend()
        referral = self._refer(friend)
        self.assertEqual(referral.state, "pending")
        self.assertEqual(referral.channel, "contact")
        self.assertEqual(referral.code, self.member.loyalty_referral_code)
        self.assertEqual(self.member.loyalty_referral_count, 1)

        order = self._confirmed_order(friend, qty=2, price=50.0)

        self.assertEqual(referral.state, "converted")
        self.assertEqual(referral.order_ref, order)
        self.assertTrue(referral.conversion_date)
        lines = referral.ledger_line_ids
        self.assertEqual(set(lines.mapped("entry_type")), {"referral"})
        self.assertEqual(set(lines.mapped("source")), {"referral"})
        self.assertEqual(
            {(ln.partner_id, ln.points) for ln in lines},
            {(self.member, 100.0), (friend, 50.0)},
        )
        self.assertEqual(self.member.loyalty_balance, 100.0)
        # The friend earned 100 on the order and 50 as a welcome.
        self.assertEqual(friend.loyalty_balance, 150.0)
        self.assertLedgerMatches()
        self.assertLedgerMatches(friend.loyalty_card_id)
        event = self.Event.search([("event_type", "=", "referral_converted")])
        self.assertEqual(event.partner_id, self.member)
        self.assertEqual(event.points, 100.0)
        # Referral figures are computed without dependencies: read afresh.
        self.member.invalidate_recordset()
        self.assertEqual(self.member.loyalty_referral_converted_count, 1)
        self.assertEqual(self.member.loyalty_referral_conversion_rate, 100.0)
        self.assertEqual(self.member.loyalty_referral_points, 100.0)
        # The rule thanks the referrer: an activity for their salesperson
        # and an email, once the processing cron ran.
        self.Event._cron_process_events()
        self.assertTrue(
            self.env["mail.activity"].search(
                [("res_model", "=", "res.partner"), ("res_id", "=", self.member.id)]
            )
        )
        # A second order converts nothing more.
        self._confirmed_order(friend)
        self.assertEqual(len(self.Ledger.search([("referral_id", "!=", False)])), 2)
        # The referrer can no longer change once the customer ordered.
        with self.assertRaises(UserError):
            friend.loyalty_referred_by_id = False

    def test_cancelled_converting_order_takes_referral_points_back(self):
        friend = self._friend()
        referral = self._refer(friend)
        order = self._confirmed_order(friend, qty=2, price=50.0)
        self.assertEqual(referral.state, "converted")
        self.assertEqual(self.member.loyalty_balance, 100.0)

        order._action_cancel()

        self.assertEqual(referral.state, "rejected")
        self.assertEqual(referral.reject_reason, "order_cancelled")
        reversals = self.Ledger.search(
            [("referral_id", "=", referral.id), ("entry_type", "=", "reversal")]
        )
        self.assertEqual(
            {(ln.partner_id, ln.points) for ln in reversals},
            {(self.member, -100.0), (friend, -50.0)},
        )
        self.member.invalidate_recordset()
        friend.invalidate_recordset()
        self.assertEqual(self.member.loyalty_balance, 0.0)
        self.assertEqual(friend.loyalty_balance, 0.0)
        self.assertLedgerMatches()
        self.assertLedgerMatches(friend.loyalty_card_id)
        # Cancelling again reverses nothing more.
        order._action_cancel()
        self.assertEqual(
            self.Ledger.search_count(
                [("referral_id", "=", referral.id), ("entry_type", "=", "reversal")]
            ),
            2,
        )

    def test_code_on_sales_order(self):
        friend = self._friend()
        order = self._order(friend)
        with self.assertRaises(UserError):
            order.loyalty_referral_code = "ZZZZ-ZZZZ"
        order.loyalty_referral_code = self.member.loyalty_referral_code.lower()
        order.action_confirm()
        referral = self._referral(friend)
        self.assertEqual(referral.channel, "sale")
        self.assertEqual(referral.state, "converted")
        self.assertEqual(friend.loyalty_referred_by_id, self.member)
        self.assertEqual(self.member.loyalty_balance, 100.0)

    def test_minimum_order_and_pending_points(self):
        self.program.write(
            {"loyalty_referral_min_amount": 200, "loyalty_pending_days": 14}
        )
        friend = self._friend()
        referral = self._refer(friend)
        self._confirmed_order(friend, qty=1, price=100.0)
        self.assertEqual(referral.state, "pending", "below the program's minimum")
        self._confirmed_order(friend, qty=3, price=100.0)
        self.assertEqual(referral.state, "converted")
        self.assertEqual(set(referral.ledger_line_ids.mapped("state")), {"pending"})
        self.assertEqual(self.member.loyalty_balance, 0.0)
        self.assertEqual(self.member.loyalty_pending_balance, 100.0)
        self.assertLedgerMatches()

    # ------------------------------------------------------------------
    # Fraud checks
    # ------------------------------------------------------------------
    def test_self_referral(self):
        self.assertRejected(self._refer(self.member), "self")

    def test_same_commercial_entity(self):
        company = self.env["res.partner"].create({"name": "Acme", "is_company": True})
        company.action_loyalty_enroll()
        colleague = self._friend("Colin Colleague", parent_id=company.id)
        self.assertRejected(self._refer(colleague, company), "same_entity")

    def test_same_email_phone_vat_address(self):
        cases = [
            ({"email": "  Martha@EXAMPLE.com "}, "same_email"),
            ({"phone": "0470/12.34.56"}, "same_phone"),
            ({"mobile": "0032 470 123 456"}, "same_phone"),
            ({"vat": "be 0477.472.701"}, "same_vat"),
            ({"street": "rue  neuve 12", "zip": "1000"}, "same_address"),
        ]
        for i, (values, reason) in enumerate(cases):
            with self.subTest(reason=reason, values=values):
                friend = self._friend("Friend%s Someone" % i, **values)
                referral = self._refer(friend)
                self.assertRejected(referral, reason)
                self.assertTrue(referral.reject_detail)
                # Its order converts nothing.
                self._confirmed_order(friend)
                self.assertEqual(referral.state, "rejected")
        self.assertEqual(self.member.loyalty_balance, 0.0)
        # Different details are no fraud.
        honest = self._friend(
            "Honest Friend", phone="+32 470 99 88 77", street="Rue Neuve 14", zip="1000"
        )
        self.assertEqual(self._refer(honest).state, "pending")

    def test_referee_who_bought_before(self):
        friend = self._friend()
        self._confirmed_order(friend)
        with self.assertRaises(UserError):
            friend.loyalty_referred_by_id = self.member
        order = self._order(friend)
        order.loyalty_referral_code = self.member.loyalty_referral_code
        order.action_confirm()
        self.assertRejected(self._referral(friend), "prior_purchase")
        self.assertEqual(self.member.loyalty_balance, 0.0)

    def test_referral_sync_key_cannot_be_sent(self):
        """The key the engine writes a contact's referrer under holds a
        Python object: sent as a flag (as over RPC), it changes nothing."""
        friend = self._friend()
        self._confirmed_order(friend)
        forged = friend.with_context(loyalty_referral_sync=True)
        with self.assertRaises(UserError):
            forged.loyalty_referred_by_id = self.member
        # A contact created with a referrer and the flag is registered and
        # checked as any other.
        newcomer = (
            self.env["res.partner"]
            .with_context(loyalty_referral_sync=True)
            .create(
                {
                    "name": "Nina Newcomer",
                    "email": self.member.email,
                    "loyalty_referred_by_id": self.member.id,
                }
            )
        )
        self.assertRejected(self._referral(newcomer), "same_email")

    def test_circular_referral(self):
        friend = self._friend()
        self._refer(friend)
        friend.action_loyalty_enroll()
        # The friend now tries to refer the member who brought them.
        self.assertRejected(self._refer(self.member, friend), "circular")
        # Also through a chain: member -> friend -> cousin -> member.
        cousin = self._friend("Cousin Chain")
        self.assertEqual(self._refer(cousin, friend).state, "pending")
        cousin.action_loyalty_enroll()
        self.assertRejected(self._refer(self.member, cousin), "circular")

    def test_monthly_cap(self):
        self.program.loyalty_referral_monthly_cap = 2
        friends = [self._friend("Friend%s Capped" % i) for i in range(3)]
        referrals = [self._refer(f) for f in friends]
        for friend in friends:
            self._confirmed_order(friend)
        self.assertEqual(
            [r.state for r in referrals], ["converted", "converted", "rejected"]
        )
        self.assertEqual(referrals[2].reject_reason, "monthly_cap")
        self.assertEqual(self.member.loyalty_balance, 200.0)
        self.assertLedgerMatches()
        # No cap: everyone counts.
        self.program.loyalty_referral_monthly_cap = 0
        late = self._friend("Late Friend")
        self._refer(late)
        self._confirmed_order(late)
        self.assertEqual(self._referral(late).state, "converted")

    def test_staff_see_reasons_and_reject(self):
        referral = self._refer(self.member)
        label = dict(self.Referral._fields["reject_reason"].selection)[
            referral.reject_reason
        ]
        self.assertEqual(label, "Self-referral")
        pending = self._refer(self._friend())
        pending.action_reject()
        self.assertRejected(pending, "manual")
