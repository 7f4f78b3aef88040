# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import base64
import json

from odoo.exceptions import AccessError, UserError
from odoo.fields import Command
from odoo.tests import new_test_user, tagged

from .common import LoyaltyCrmCommon


@tagged("post_install", "-at_install")
class TestLoyaltyPrivacy(LoyaltyCrmCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Event = cls.env["loyalty.member.event"]
        cls.program.write(
            {
                "loyalty_points_milestone": 0,
                "loyalty_nth_order": 0,
                "loyalty_tier_ids": [
                    Command.create({"name": "Silver", "threshold": 0}),
                    Command.create({"name": "Gold", "threshold": 1000}),
                ],
            }
        )
        cls.silver, cls.gold = cls.program.loyalty_tier_ids.sorted("threshold")
        cls.member.write({"phone": "+1 555 0100", "ref": "MARTHA-7"})
        cls.other = cls.env["res.partner"].create(
            {"name": "Olga Other", "email": "olga@example.com"}
        )
        cls.other.action_loyalty_enroll()
        cls.winback = cls.env.ref("loyalty_crm_addon.mailing_list_winback")

    def _emit(self, partner, key, event_type="tier_upgrade"):
        events = self.Event._emit(
            [
                {
                    "partner_id": partner.id,
                    "card_id": partner.loyalty_card_id.id,
                    "program_id": self.program.id,
                    "company_id": self.env.company.id,
                    "event_type": event_type,
                    "tier_id": self.gold.id,
                    "key": key,
                    "description": f"Welcome {partner.name} to Gold",
                }
            ]
        )
        # Automation that runs after the transaction runs from its cron.
        cron = self.env.ref(
            "loyalty_crm_addon.ir_cron_loyalty_process_events",
            raise_if_not_found=False,
        )
        if cron:
            cron.method_direct_trigger()
        return events

    def _mails(self, partner):
        return self.env["mail.mail"].search(
            [("recipient_ids", "in", partner.ids), ("model", "like", "loyalty.%")]
        )

    # ------------------------------------------------------------------
    # Consent
    # ------------------------------------------------------------------
    def test_consent_is_recorded_with_date_and_channel(self):
        self.assertFalse(self.member.loyalty_consent, "not asked yet")
        self.member.loyalty_set_consent("out", "pos")
        self.assertEqual(self.member.loyalty_consent, "out")
        self.assertEqual(self.member.loyalty_consent_channel, "pos")
        self.assertTrue(self.member.loyalty_consent_date)
        # Tracked in the chatter (tests run with tracking disabled).
        self.assertTrue(self.member._fields["loyalty_consent"].tracking)
        for consent, channel in (("maybe", "pos"), ("in", "fax"), (1, "pos")):
            with self.assertRaises(UserError):
                self.member.loyalty_set_consent(consent, channel)
        self.assertEqual(self.member.loyalty_consent, "out")
        portal = new_test_user(
            self.env, login="privacy_portal", groups="base.group_portal"
        )
        with self.assertRaises(AccessError):
            self.member.with_user(portal).loyalty_set_consent("in", "portal")

    def test_opted_out_member_gets_no_automated_email(self):
        self.member.loyalty_set_consent("out", "portal")
        self._emit(self.member, "tier:privacy:out")
        self._emit(self.other, "tier:privacy:in")
        self.assertFalse(self._mails(self.member))
        self.assertTrue(self._mails(self.other), "members who did not opt out do")
        template = self.env.ref("loyalty_crm_addon.mail_template_loyalty_tier_upgrade")
        event = self.Event.search([("key", "=", "tier:privacy:out")])
        self.assertFalse(template.send_mail(event.id))
        # A company's opt-out covers its contacts.
        colleague = self.env["res.partner"].create(
            {
                "name": "Col League",
                "email": "col@example.com",
                "parent_id": self.member.id,
            }
        )
        self.assertFalse(colleague._loyalty_can_contact())

    def test_opted_out_member_gets_no_mailing(self):
        contact = self.env["mailing.contact"].create(
            {
                "name": "Martha",
                "email": "martha@example.com",
                "list_ids": [Command.link(self.winback.id)],
            }
        )
        self.env["mailing.contact"].create(
            {
                "name": "Olga",
                "email": "olga@example.com",
                "list_ids": [Command.link(self.winback.id)],
            }
        )
        winback = self.env.ref("loyalty_crm_addon.mailing_loyalty_winback")
        self.assertTrue(winback.loyalty_consent_required)
        self.assertEqual(len(winback._get_remaining_recipients()), 2)
        self.member.loyalty_set_consent("out", "sale")
        contact.invalidate_recordset()
        self.assertTrue(
            contact.subscription_ids.opt_out, "unsubscribed like mass mailing does"
        )
        recipients = self.env["mailing.contact"].browse(
            winback._get_remaining_recipients()
        )
        self.assertEqual(recipients.mapped("email"), ["olga@example.com"])
        # A mailing on contacts filtered by loyalty fields (tier welcome:
        # members who moved up a tier lately, as the engine moves them).
        cards = self.member.loyalty_card_id | self.other.loyalty_card_id
        cards._loyalty_change_tiers(
            [(card, card.loyalty_tier_id, self.gold) for card in cards], "test"
        )
        tier_mailing = self.env.ref("loyalty_crm_addon.mailing_loyalty_tier_welcome")
        self.assertTrue(tier_mailing.loyalty_consent_required)
        ids = tier_mailing._get_remaining_recipients()
        self.assertIn(self.other.id, ids)
        self.assertNotIn(self.member.id, ids)
        # A general newsletter is not a loyalty mailing.
        newsletter = self.env["mailing.mailing"].create(
            {
                "subject": "News",
                "mailing_model_id": self.env.ref("base.model_res_partner").id,
                "mailing_domain": "[('id', 'in', %s)]" % [self.member.id],
            }
        )
        self.assertFalse(newsletter.loyalty_consent_required)
        self.assertEqual(newsletter._get_remaining_recipients(), [self.member.id])

    def test_opted_out_member_not_added_to_winback_list(self):
        self.member.loyalty_set_consent("out", "backend")
        self.member.sudo().loyalty_last_activity_date = "2000-01-01"
        self.other.sudo().loyalty_last_activity_date = "2000-01-01"
        self.Event._cron_detect_inactivity()
        cron = self.env.ref(
            "loyalty_crm_addon.ir_cron_loyalty_process_events",
            raise_if_not_found=False,
        )
        if cron:
            cron.method_direct_trigger()
        emails = (
            self.env["mailing.subscription"]
            .search([("list_id", "=", self.winback.id), ("opt_out", "=", False)])
            .contact_id.mapped("email_normalized")
        )
        self.assertIn("olga@example.com", emails)
        self.assertNotIn("martha@example.com", emails)

    # ------------------------------------------------------------------
    # Export
    # ------------------------------------------------------------------
    def test_export_contents(self):
        self._give_points(120)
        self.member.loyalty_redeem_points(20, "Coffee", reference="R1")
        self._emit(self.member, "tier:privacy:export")
        self.member.loyalty_set_consent("in", "portal")
        data = self.member.loyalty_export_data()
        json.dumps(data)  # plain values only
        self.assertEqual(data["profile"]["email"], "martha@example.com")
        self.assertEqual(data["profile"]["loyalty_balance"], 100)
        self.assertEqual(data["profile"]["loyalty_consent"], "in")
        self.assertEqual(data["profile"]["loyalty_consent_channel"], "portal")
        # The member's profiling (segment, churn risk) is part of their data.
        self.assertIn("loyalty_churn_reason", data["profile"])
        self.assertIn("loyalty_segment", data["profile"])
        self.assertEqual(
            [(ln["entry_type"], ln["points"]) for ln in data["ledger"]],
            [("adjust", 120.0), ("redeem", -20.0)],
        )
        self.assertEqual(data["cards"][0]["points"], 100)
        self.assertEqual(data["tiers_history"][0]["tier_id"], "Gold")
        self.assertIsInstance(data["referrals"], list)
        self.assertIsInstance(data["claims"], list)
        for key in ("events", "activities"):
            self.assertIn(key, data)
        # The member themselves (portal) may export, nobody else.
        user = self.env["res.users"].create(
            {
                "login": "martha_portal",
                "partner_id": self.member.id,
                "groups_id": [Command.set(self.env.ref("base.group_portal").ids)],
            }
        )
        self.assertEqual(
            self.member.with_user(user).loyalty_export_data()["profile"]["name"],
            "Martha Member",
        )
        with self.assertRaises(AccessError):
            self.other.with_user(user).loyalty_export_data()
        action = self.member.action_loyalty_export()
        self.assertEqual(action["url"], f"/loyalty/privacy/export/{self.member.id}")

    # ------------------------------------------------------------------
    # Erasure
    # ------------------------------------------------------------------
    def _personal_data_in_loyalty_tables(self, tokens):
        """(table, column) of loyalty tables whose text holds a token."""
        self.env.flush_all()
        self.env.cr.execute(
            """
            SELECT table_name, column_name FROM information_schema.columns
             WHERE table_name LIKE 'loyalty%%'
               AND data_type IN ('character varying', 'text', 'jsonb')
            """
        )
        found = []
        for table, column in self.env.cr.fetchall():
            self.env.cr.execute(
                f'SELECT 1 FROM "{table}" WHERE "{column}"::text ILIKE ANY(%s) LIMIT 1',
                [[f"%{t}%" for t in tokens]],
            )
            if self.env.cr.fetchone():
                found.append((table, column))
        return found

    def test_erasure_keeps_totals_and_removes_personal_data(self):
        self._give_points(300)
        self.member.loyalty_adjust_points(-50, "Correction for Martha Member")
        self.member.loyalty_redeem_points(25, "Gift for martha@example.com")
        self._emit(self.member, "tier:privacy:erase")
        job = self.env["loyalty.balance.import"].create(
            {
                "program_id": self.program.id,
                "data_file": base64.b64encode(
                    b"email,name,phone,points\nmartha@example.com,Martha Member,"
                    b"+1 555 0100,10\n"
                ),
            }
        )
        job.action_dry_run()
        self.env["mailing.contact"].create(
            {
                "name": "Martha",
                "email": "martha@example.com",
                "list_ids": [Command.link(self.winback.id)],
            }
        )
        tokens = ["Martha Member", "martha@example.com", "+1 555 0100", "MARTHA-7"]
        self.assertTrue(self._personal_data_in_loyalty_tables(tokens))
        card = self.member.loyalty_card_id
        before = [(ln.id, ln.points, ln.entry_type) for ln in card.ledger_line_ids]
        balance = card.points

        # Refused while an order is open.
        quotation = self._order()
        with self.assertRaises(UserError):
            self.member.action_loyalty_erase()
        quotation.action_cancel()
        clerk = new_test_user(
            self.env,
            login="privacy_clerk",
            groups="loyalty_crm_addon.group_loyalty_user",
        )
        with self.assertRaises(AccessError):
            self.member.with_user(clerk).action_loyalty_erase()

        self.assertTrue(self.member.action_loyalty_erase())
        self.env.invalidate_all()
        self.assertEqual(self._personal_data_in_loyalty_tables(tokens), [])
        self.assertEqual(
            [(ln.id, ln.points, ln.entry_type) for ln in card.ledger_line_ids], before
        )
        self.assertEqual(card.points, balance)
        self.assertFalse(self.Ledger._get_inconsistent_cards())
        self.assertFalse(self.member.email)
        self.assertFalse(self.member.phone)
        self.assertNotIn("Martha", self.member.name)
        self.assertEqual(self.member.loyalty_consent, "out")
        self.assertFalse(
            self.env["mailing.contact"].search([("email", "=", "martha@example.com")])
        )
        log = self.env["privacy.log"].search([], order="id desc", limit=1)
        self.assertIn("loyalty.ledger.line", log.execution_details)
        self.assertNotIn("Martha", log.anonymized_name)
        # The other member is untouched.
        self.assertEqual(self.other.name, "Olga Other")

    def test_privacy_lookup_finds_loyalty_records_and_erases(self):
        self._give_points(40)
        wizard = self.env["privacy.lookup.wizard"].create(
            {"name": "Martha Member", "email": "martha@example.com"}
        )
        wizard.action_lookup()
        models = set(wizard.line_ids.mapped("res_model"))
        self.assertIn("loyalty.ledger.line", models)
        self.assertIn("res.partner", models)
        ledger_line = wizard.line_ids.filtered(
            lambda ln: ln.res_model == "loyalty.ledger.line"
        )[:1]
        with self.assertRaises(UserError):
            ledger_line.action_unlink()  # the ledger keeps its lines
        wizard.action_loyalty_erase()
        self.assertFalse(self.member.email)
        self.assertEqual(self.member.loyalty_balance, 40)
        self.assertIn("Loyalty data erased", wizard.execution_details)

    def test_consent_given_at_the_sale(self):
        order = self._order()
        order.loyalty_consent = "out"
        order._update_programs_and_rewards()
        order.action_confirm()
        self.assertEqual(self.member.loyalty_consent, "out")
        self.assertEqual(self.member.loyalty_consent_channel, "sale")
