# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date, timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.fields import Command
from odoo.tests import Form, new_test_user, tagged

from .common import LoyaltyCrmCommon


@tagged("post_install", "-at_install")
class TestLoyaltyAutomation(LoyaltyCrmCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Event = cls.env["loyalty.member.event"]
        cls.salesperson = new_test_user(
            cls.env, login="loyalty_sales", groups="sales_team.group_sale_salesman"
        )
        cls.responsible = new_test_user(
            cls.env,
            login="loyalty_resp",
            groups="loyalty_crm_addon.group_loyalty_manager",
        )
        cls.program.write(
            {
                "loyalty_responsible_id": cls.responsible.id,
                "loyalty_points_milestone": 0,
                "loyalty_nth_order": 0,
                "loyalty_tier_ids": [
                    Command.create({"name": "Silver", "threshold": 0}),
                    Command.create({"name": "Gold", "threshold": 1000}),
                ],
            }
        )
        cls.silver, cls.gold = cls.program.loyalty_tier_ids.sorted("threshold")
        cls.member.user_id = cls.salesperson
        cls.activity_type = cls.env.ref(
            "loyalty_crm_addon.mail_activity_type_loyalty_followup"
        )
        cls.winback = cls.env.ref("loyalty_crm_addon.mailing_list_winback")

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------
    def _emit(self, event_type, key, partner=None, **values):
        partner = partner or self.member
        card = partner.loyalty_card_id
        return self.Event._emit(
            [
                {
                    "partner_id": partner.id,
                    "card_id": card.id,
                    "program_id": self.program.id,
                    "company_id": self.env.company.id,
                    "event_type": event_type,
                    "key": key,
                    **values,
                }
            ]
        )

    def _run_automation(self):
        """The rules run after the business transaction, from the cron."""
        self.Event._cron_process_events()

    def _activities(self, partner=None):
        self._run_automation()
        return self.env["mail.activity"].search(
            [
                ("res_model", "=", "res.partner"),
                ("res_id", "=", (partner or self.member).id),
                ("activity_type_id", "=", self.activity_type.id),
            ]
        )

    def _mails(self, template="", partner=None):
        """Emails to the member, of one shipped template when given."""
        self._run_automation()
        domain = [("recipient_ids", "in", (partner or self.member).ids)]
        if template:
            event_type = template
            domain += [
                ("model", "=", "loyalty.member.event"),
                ("res_id", "in", self._events(event_type, partner).ids),
            ]
        return self.env["mail.mail"].search(domain)

    def _winback_contacts(self, email="martha@example.com"):
        self._run_automation()
        return self.env["mailing.contact"].search(
            [("email_normalized", "=", email), ("list_ids", "in", self.winback.ids)]
        )

    def _events(self, event_type, partner=None):
        return self.Event.search(
            [
                ("event_type", "=", event_type),
                ("partner_id", "=", (partner or self.member).id),
            ]
        )

    def _go_inactive(self, partner=None, days=100):
        (partner or self.member).sudo().loyalty_last_activity_date = (
            fields.Date.today() - timedelta(days=days)
        )

    # ------------------------------------------------------------------
    # Tier changes
    # ------------------------------------------------------------------
    def test_tier_upgrade_activity_and_email_once(self):
        self._give_points(250)
        self._set_tier(self.member.loyalty_card_id, self.gold)
        event = self._emit(
            "tier_upgrade",
            "tier:test:1",
            tier_id=self.gold.id,
            previous_tier_id=self.silver.id,
        )
        self.assertEqual(len(event), 1)
        activity = self._activities()
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, self.salesperson, "the member's salesperson")
        self.assertEqual(
            activity.res_model, "res.partner", "on the partner, not on the event"
        )
        self.assertIn("Gold", activity.summary)
        mail = self._mails("tier_upgrade")
        self.assertEqual(len(mail), 1)
        self.assertIn("Welcome to Gold", mail.subject)
        self.assertIn("250", mail.body_html, "the member's real balance")
        self.assertIn("Gold", mail.body_html)
        self.assertIn("Silver", mail.body_html)

        # The same occurrence again (engine rerun, re-save): nothing new.
        self.assertFalse(
            self._emit("tier_upgrade", "tier:test:1", tier_id=self.gold.id)
        )
        self.assertEqual(len(self._activities()), 1)
        self.assertEqual(len(self._mails("tier_upgrade")), 1)

    def test_owner_changes_what_a_rule_does_without_code(self):
        """The shipped follow-up is Odoo's no-code "Create Activity" action
        and the emails "Send Email" with a template: an owner edits them in
        the rule's form and the next event follows."""
        rule = self.env.ref("loyalty_crm_addon.base_automation_loyalty_tier_upgrade")
        self.assertEqual(
            sorted(rule.action_server_ids.mapped("state")),
            ["mail_post", "next_activity"],
        )
        call = self.env.ref("mail.mail_activity_data_call")
        template = self.env["mail.template"].create(
            {
                "name": "Tier upgrade, shop style",
                "model_id": self.env["ir.model"]._get_id("loyalty.member.event"),
                "subject": "Bravo, you are {{ object.tier_id.name }} now",
                "partner_to": "{{ object.partner_id.id }}",
                "body_html": "<p>Bravo</p>",
            }
        )
        owner = new_test_user(
            self.env,
            login="loyalty_rule_owner",
            groups="base.group_system,loyalty_crm_addon.group_loyalty_manager",
        )
        with Form(rule.with_user(owner)) as form:
            for index in range(len(form.action_server_ids)):
                with form.action_server_ids.edit(index) as action:
                    if action.state == "next_activity":
                        action.activity_type_id = call
                        action.activity_summary = "Call to congratulate"
                        action.activity_date_deadline_range = 7
                        action.activity_user_type = "specific"
                        action.activity_user_id = self.responsible
                    else:
                        action.template_id = template

        self._give_points(250)
        self._emit("tier_upgrade", "tier:test:owner", tier_id=self.gold.id)
        self._run_automation()
        activity = self.env["mail.activity"].search(
            [
                ("res_model", "=", "res.partner"),
                ("res_id", "=", self.member.id),
                ("activity_type_id", "=", call.id),
            ]
        )
        self.assertEqual(activity.summary, "Call to congratulate")
        self.assertEqual(activity.user_id, self.responsible)
        self.assertEqual(
            activity.date_deadline, fields.Date.context_today(activity) + timedelta(7)
        )
        self.assertFalse(self._activities(), "no loyalty follow-up any more")
        self.assertEqual(self._mails("tier_upgrade").subject, "Bravo, you are Gold now")

    def test_activity_goes_to_program_responsible_without_salesperson(self):
        self.member.user_id = False
        self._emit("tier_downgrade", "tier:test:down", tier_id=self.silver.id)
        self.assertEqual(self._activities().user_id, self.responsible)
        self.assertFalse(self._mails(), "no email on a downgrade")

        self.program.loyalty_responsible_id = False
        other = self.env["res.partner"].create(
            {"name": "Nobody's", "email": "n@example.com"}
        )
        other.action_loyalty_enroll()
        self._emit("tier_downgrade", "tier:test:down2", partner=other)
        self.assertEqual(
            self._activities(other).user_id, self.env.ref("base.user_admin")
        )

    def test_archived_rule_does_nothing(self):
        self.env.ref(
            "loyalty_crm_addon.base_automation_loyalty_tier_upgrade"
        ).active = False
        event = self._emit("tier_upgrade", "tier:test:off", tier_id=self.gold.id)
        self.assertTrue(event, "the event is still recorded")
        self.assertFalse(self._activities())
        self.assertFalse(self._mails())

    def test_template_renders_real_figures(self):
        self._give_points(1234)
        self.program.loyalty_points_validity_days = 10
        self._give_points(56)
        self._set_tier(self.member.loyalty_card_id, self.silver)
        self.member.invalidate_recordset()
        event = self._emit("tier_upgrade", "tier:test:render", tier_id=self.silver.id)
        template = self.env.ref("loyalty_crm_addon.mail_template_loyalty_tier_upgrade")
        values = template._generate_template(
            event.ids, ["subject", "body_html", "partner_to"]
        )[event.id]
        self.assertEqual(values["subject"], "Welcome to Silver, Martha Member!")
        body = values["body_html"]
        self.assertIn("1,290", body, "balance")
        self.assertIn("Silver", body, "tier")
        self.assertIn("56", body, "points expiring soon")
        self.assertEqual(self.member.loyalty_next_tier_id, self.gold)
        self.assertIn("Gold", body, "next tier")
        self.assertIn(
            f"{self.member.loyalty_points_to_next_tier:,.0f}", body, "progress"
        )
        self.assertEqual(values["partner_ids"], self.member.ids)

    # ------------------------------------------------------------------
    # Events from the ledger
    # ------------------------------------------------------------------
    def test_points_reached_once_per_threshold(self):
        self.program.loyalty_points_milestone = 100
        self._give_points(90)
        self.assertFalse(self._events("points_reached"))
        self._give_points(250)  # 340: passes 100, 200 and 300, one event for 300
        event = self._events("points_reached")
        self.assertEqual(event.key, f"points:{self.card.id}:300")
        self.assertEqual(len(self._mails("points_reached")), 1)
        self.assertIn("300", self._mails("points_reached").subject)
        self.member.loyalty_redeem_points(150, "Gift")  # 190
        self._give_points(150)  # 340 again: 300 already celebrated
        self.assertEqual(len(self._events("points_reached")), 1)
        self.assertEqual(len(self._mails("points_reached")), 1)

    def test_reward_unlocked_when_balance_crosses_cheapest_reward(self):
        self.env["loyalty.reward"].create(
            {
                "program_id": self.program.id,
                "reward_type": "discount",
                "discount": 20,
                "required_points": 500,
            }
        )
        self._give_points(60)
        self.assertFalse(self._events("reward_unlocked"))
        self._give_points(60)  # 120 >= 100, the cheapest reward
        event = self._events("reward_unlocked")
        self.assertEqual(event.reward_id, self.reward)
        self.assertEqual(event.key, f"reward:{self.card.id}:{self.reward.id}")
        mail = self._mails("reward_unlocked")
        self.assertEqual(len(mail), 1)
        self.assertIn("120", mail.body_html)
        self._give_points(10)
        self.assertEqual(len(self._events("reward_unlocked")), 1)

    def test_first_redemption(self):
        self._give_points(300)
        self.member.loyalty_redeem_points(50, "Coffee")
        self.member.loyalty_redeem_points(50, "Cake")
        event = self._events("first_redemption")
        self.assertEqual(len(event), 1)
        self.assertEqual(len(self._activities()), 1)

    def test_nth_order(self):
        self.program.loyalty_nth_order = 2
        self._confirmed_order()
        self.assertFalse(self._events("nth_order"))
        self._confirmed_order()
        event = self._events("nth_order")
        self.assertEqual(event.key, f"nth_order:{self.card.id}:2")
        self.assertEqual(len(self._mails("nth_order")), 1)
        activity = self._activities().filtered(lambda a: "order #2" in a.summary)
        self.assertEqual(len(activity), 1)
        self._confirmed_order()
        self.assertEqual(len(self._events("nth_order")), 1)
        self.assertEqual(len(self._mails("nth_order")), 1)

    def test_ledger_events_cost_the_same_for_one_or_many_cards(self):
        self.program.write({"loyalty_points_milestone": 100, "loyalty_nth_order": 5})
        partners = self.env["res.partner"].create(
            [{"name": f"M{i}", "email": f"m{i}@example.com"} for i in range(10)]
        )
        cards = self.env["loyalty.card"].browse(
            [p.action_loyalty_enroll() for p in partners]
        )
        Ledger = self.Ledger

        def cost(some_cards):
            lines = Ledger._engine().create(
                [
                    Ledger._prepare_line(card, "adjust", 10, source="manual")
                    for card in some_cards
                ]
            )
            self.env.flush_all()
            self.env.invalidate_all()
            lines = Ledger.browse(lines.ids)
            before = self.env.cr.sql_log_count
            self.Event._emit_from_ledger(lines)
            return self.env.cr.sql_log_count - before

        # The program's rewards and tiers are read once, then cached.
        self.env["loyalty.program"]._loyalty_engine_data(self.program.id)
        self.assertEqual(cost(cards[:1]), cost(cards[1:]))

    # ------------------------------------------------------------------
    # Scheduled detection
    # ------------------------------------------------------------------
    def test_inactivity_winback_list_and_activity_once(self):
        self._go_inactive()
        # A mailing contact with the same email exists already: reused.
        existing = self.env["mailing.contact"].create(
            {"name": "Martha", "email": "Martha@example.com"}
        )
        active = self.env["res.partner"].create(
            {"name": "Busy", "email": "busy@example.com"}
        )
        active.action_loyalty_enroll()
        active.sudo().loyalty_last_activity_date = fields.Date.today()
        self.Event._cron_detect_inactivity()
        event = self._events("inactive")
        self.assertEqual(len(event), 1)
        self.assertEqual(self._winback_contacts(), existing)
        self.assertEqual(len(self._activities()), 1)
        self.assertFalse(self._events("inactive", active))
        self.assertFalse(event.lead_id, "no tier, no opportunity")

        self.Event._cron_detect_inactivity()
        self.Event.with_context(active_test=False)._cron_detect_inactivity(batch_size=1)
        self.assertEqual(len(self._events("inactive")), 1)
        self.assertEqual(len(self._activities()), 1)
        self.assertEqual(
            len(
                self.env["mailing.subscription"].search(
                    [("list_id", "=", self.winback.id)]
                )
            ),
            1,
        )

        # Active again, then inactive again: a new period, a new event.
        self._go_inactive(days=95)
        self.Event._cron_detect_inactivity()
        self.assertEqual(len(self._events("inactive")), 2)
        self.assertEqual(len(self._activities()), 2)
        self.assertEqual(
            len(self._winback_contacts()), 1, "still one contact, one subscription"
        )

    def test_inactivity_respects_opt_out(self):
        contact = self.env["mailing.contact"].create(
            {
                "name": "Martha",
                "email": "martha@example.com",
                "subscription_ids": [
                    Command.create({"list_id": self.winback.id, "opt_out": True})
                ],
            }
        )
        self._go_inactive()
        self.Event._cron_detect_inactivity()
        self._run_automation()
        self.assertTrue(contact.subscription_ids.opt_out)
        self.assertEqual(
            len(self.env["mailing.contact"].search([("email", "ilike", "martha@")])), 1
        )

    def test_inactive_top_tier_member_gets_an_opportunity(self):
        self._set_tier(self.member.loyalty_card_id, self.gold)
        silver_member = self.env["res.partner"].create(
            {"name": "Sil", "email": "s@example.com"}
        )
        silver_member.action_loyalty_enroll()
        self._set_tier(silver_member.loyalty_card_id, self.silver)
        self._go_inactive()
        self._go_inactive(silver_member)
        self.Event._cron_detect_inactivity()
        self._run_automation()
        lead = self._events("inactive").lead_id
        self.assertEqual(lead.type, "opportunity")
        self.assertEqual(lead.partner_id, self.member)
        self.assertEqual(lead.user_id, self.salesperson)
        self.assertFalse(self._events("inactive", silver_member).lead_id)
        self.Event._cron_detect_inactivity()
        self._run_automation()
        self.assertEqual(
            self.env["crm.lead"].search_count([("partner_id", "=", self.member.id)]), 1
        )

    def test_birthday_once_a_year(self):
        self.member.loyalty_birthday = date(1990, 3, 14)
        with freeze_time("2025-03-13"):
            self.Event._cron_detect_birthdays()
            self.assertFalse(self._events("birthday"))
        with freeze_time("2025-03-14"):
            self.Event._cron_detect_birthdays()
            self.Event._cron_detect_birthdays()
            self.assertEqual(
                self._events("birthday").key, f"birthday:{self.member.id}:2025"
            )
            self.assertEqual(len(self._mails("birthday")), 1)
            self.assertIn("Happy birthday", self._mails("birthday").subject)
            self.assertIn(
                self.member,
                self.env["res.partner"].search(
                    [("loyalty_birthday_this_month", "=", True)]
                ),
            )

    def test_leap_day_birthday_in_common_year(self):
        self.member.loyalty_birthday = date(2000, 2, 29)
        with freeze_time("2025-02-28"):
            self.Event._cron_detect_birthdays()
        self.assertEqual(len(self._events("birthday")), 1)

    def test_points_expiring_warning(self):
        self.program.write(
            {"loyalty_points_validity_days": 20, "loyalty_expiry_warning_days": 30}
        )
        self._give_points(80)
        self.Event._cron_detect_expiring_points()
        self.Event._cron_detect_expiring_points()
        event = self._events("points_expiring")
        self.assertEqual(len(event), 1)
        self.assertEqual(event.points, 80)
        self.assertEqual(event.expiry_date, fields.Date.today() + timedelta(days=20))
        mail = self._mails("points_expiring")
        self.assertEqual(len(mail), 1)
        self.assertIn("80", mail.body_html)
        self.assertIn(
            self.member,
            self.env["res.partner"].search(
                [("loyalty_has_expiring_points", "=", True)]
            ),
        )
        # Spent lots are no longer announced.
        self.program.loyalty_expiry_warning_days = 10
        self.Event._cron_detect_expiring_points()
        self.assertEqual(len(self._events("points_expiring")), 1)

    def test_shipped_records(self):
        for xmlid in (
            "loyalty_crm_addon.ir_cron_loyalty_inactivity",
            "loyalty_crm_addon.mailing_loyalty_winback",
            "loyalty_crm_addon.mailing_loyalty_tier_welcome",
            "loyalty_crm_addon.mailing_loyalty_points_expiring",
            "loyalty_crm_addon.mailing_loyalty_birthday",
        ):
            self.assertTrue(self.env.ref(xmlid))
        winback = self.env.ref("loyalty_crm_addon.mailing_loyalty_winback")
        self.assertEqual(winback.state, "draft")
        self.assertEqual(winback.contact_list_ids, self.winback)
        for xmlid in ("tier_welcome", "points_expiring", "birthday"):
            mailing = self.env.ref(f"loyalty_crm_addon.mailing_loyalty_{xmlid}")
            self.env["res.partner"].search(
                mailing._get_recipients_domain()
            )  # valid domain
