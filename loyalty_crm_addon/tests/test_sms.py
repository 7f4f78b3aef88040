# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import re

from odoo.exceptions import AccessError, UserError
from odoo.fields import Command
from odoo.tests import HttpCase, new_test_user, tagged

from .common import LoyaltyCrmCommon, LoyaltyPosCase

MOBILE = "+32 470 12 34 56"
SMS_RULES = (
    "loyalty_crm_addon.base_automation_loyalty_tier_upgrade_sms",
    "loyalty_crm_addon.base_automation_loyalty_points_expiring_sms",
    "loyalty_crm_addon.base_automation_loyalty_winback_sms",
)


@tagged("post_install", "-at_install")
class TestLoyaltySms(LoyaltyCrmCommon):
    """Loyalty SMS: shipped rules (off until a manager turns them on) that
    text the members who opted in to loyalty SMS, on their mobile; no SMS
    gateway is called: the SMS stay queued (``sms.sms``, outgoing)."""

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
        cls.gold = cls.program.loyalty_tier_ids.sorted("threshold")[-1]
        cls.salesperson = new_test_user(
            cls.env,
            login="sms_sales",
            groups="sales_team.group_sale_salesman,loyalty_crm_addon.group_loyalty_user",
        )
        cls.portal = new_test_user(
            cls.env, login="sms_portal", groups="base.group_portal"
        )
        cls.member.mobile = MOBILE
        Partner = cls.env["res.partner"]
        cls.silent = Partner.create(
            {"name": "Nora Notasked", "mobile": "+32 470 22 22 22"}
        )
        cls.refuser = Partner.create({"name": "Otto Out", "mobile": "+32 470 33 33 33"})
        cls.landline = Partner.create(
            {"name": "Lara Landline", "phone": "+32 2 555 12 12"}
        )
        for partner in cls.silent | cls.refuser | cls.landline:
            partner.action_loyalty_enroll()
        cls.member.with_user(cls.salesperson).loyalty_set_consent_sms("in")
        cls.refuser.with_user(cls.salesperson).loyalty_set_consent_sms("out")
        cls.landline.with_user(cls.salesperson).loyalty_set_consent_sms("in")

    def _emit(self, partners, event_type, **values):
        Event = self.Event
        Event._emit(
            [
                Event._prepare_event(
                    partner.loyalty_card_id,
                    event_type,
                    f"sms-test:{event_type}:{partner.id}",
                    **values,
                )
                for partner in partners
            ]
        )
        self.env.ref(
            "loyalty_crm_addon.ir_cron_loyalty_process_events"
        ).sudo().method_direct_trigger()

    def _sms(self, partners=None):
        domain = [("partner_id", "in", partners.ids)] if partners else []
        return self.env["sms.sms"].sudo().search(domain)

    def _turn_on(self, *xmlids):
        for xmlid in xmlids:
            self.env.ref(xmlid).active = True

    def test_sms_rules_ship_inactive(self):
        for xmlid in SMS_RULES:
            rule = self.env.ref(xmlid).with_context(active_test=False)
            self.assertFalse(rule.active, xmlid)
            self.assertEqual(rule.model_id.model, "loyalty.member.event")
            self.assertEqual(rule.action_server_ids.state, "sms")
            self.assertTrue(rule.action_server_ids.sms_template_id)
        # Off: nobody gets an SMS.
        self._emit(self.member, "tier_upgrade", tier_id=self.gold.id)
        self.assertFalse(self._sms())

    def test_tier_upgrade_sms_to_consenting_members_only(self):
        self._turn_on(SMS_RULES[0])
        everyone = self.member | self.silent | self.refuser | self.landline
        self._emit(everyone, "tier_upgrade", tier_id=self.gold.id)
        events = self.Event.search([("key", "like", "sms-test:tier_upgrade:")])
        self.assertEqual(set(events.mapped("state")), {"done"})
        sms = self._sms()
        self.assertEqual(len(sms), 1, "opted in with a mobile: one SMS, nobody else")
        self.assertRecordValues(
            sms, [{"partner_id": self.member.id, "state": "outgoing"}]
        )
        self.assertEqual(sms.number.replace(" ", ""), "+32470123456")
        self.assertIn("Gold", sms.body)
        self.assertIn("Martha Member", sms.body)

    def test_points_expiring_and_winback_sms(self):
        self._turn_on(*SMS_RULES[1:])
        self._give_points(1250)
        self._emit(
            self.member | self.silent,
            "points_expiring",
            points=120,
            expiry_date="2030-05-31",
        )
        self._emit(self.member | self.refuser, "inactive")
        sms = self._sms().sorted("id")
        self.assertEqual(sms.partner_id, self.member)
        self.assertEqual(len(sms), 2)
        self.assertIn("120", sms[0].body)
        self.assertIn("05/31/2030", sms[0].body)
        self.assertIn("1,250", sms[1].body)
        self.assertEqual(set(sms.mapped("state")), {"outgoing"})

    def test_opting_out_stops_sms(self):
        self._turn_on(SMS_RULES[0])
        self.member.with_user(self.salesperson).loyalty_set_consent_sms("out")
        self._emit(self.member, "tier_upgrade", tier_id=self.gold.id)
        self.assertFalse(self._sms())

    def test_staff_mass_sms_on_events_respects_consent(self):
        """Odoo's Send SMS on a list of member events: the SMS of members
        who did not opt in are cancelled (opted out)."""
        self._emit(self.member | self.silent, "inactive")
        events = self.Event.search([("key", "like", "sms-test:inactive:")])
        composer = (
            self.env["sms.composer"]
            .with_context(
                default_res_model="loyalty.member.event",
                default_res_ids=events.ids,
                default_composition_mode="mass",
                default_template_id=self.env.ref(
                    "loyalty_crm_addon.sms_template_loyalty_winback"
                ).id,
            )
            .create({})
        )
        composer.action_send_sms()
        sms = self._sms()
        self.assertEqual(
            {(s.partner_id, s.state, s.failure_type) for s in sms},
            {
                (self.member, "outgoing", False),
                (self.silent, "canceled", "sms_optout"),
            },
        )

    # ------------------------------------------------------------------
    # Consent
    # ------------------------------------------------------------------
    def test_consent_recorded_with_date_and_channel(self):
        self.assertFalse(self.silent.loyalty_consent_sms, "not asked yet")
        self.assertFalse(self.silent._loyalty_can_sms(), "SMS are opt-in")
        self.assertEqual(self.member.loyalty_consent_sms, "in")
        self.assertEqual(self.member.loyalty_consent_sms_channel, "backend")
        self.assertTrue(self.member.loyalty_consent_sms_date)
        self.assertTrue(self.member._fields["loyalty_consent_sms"].tracking)
        # The contact's buttons.
        self.silent.with_user(self.salesperson).action_loyalty_consent_sms_in()
        self.assertRecordValues(
            self.silent,
            [{"loyalty_consent_sms": "in", "loyalty_consent_sms_channel": "backend"}],
        )
        self.silent.with_user(self.salesperson).action_loyalty_consent_sms_out()
        self.assertEqual(self.silent.loyalty_consent_sms, "out")
        # Separate from the email consent.
        self.assertFalse(self.silent.loyalty_consent)
        for consent, channel in (("maybe", "pos"), ("in", "fax"), (1, "pos")):
            with self.assertRaises(UserError):
                self.silent.with_user(self.salesperson).loyalty_set_consent_sms(
                    consent, channel
                )
        with self.assertRaises(AccessError):
            self.silent.with_user(self.portal).loyalty_set_consent_sms("in", "portal")
        # Nobody writes it by hand, the administrator neither.
        admin = self.env.ref("base.user_admin")
        with self.assertRaises(UserError):
            self.silent.with_user(admin).write({"loyalty_consent_sms": "in"})
        with self.assertRaises(UserError):
            self.env["res.partner"].with_user(admin).create(
                {"name": "Forged", "loyalty_consent_sms": "in"}
            )
        self.assertEqual(self.silent.loyalty_consent_sms, "out")
        # A valid mobile is needed: no SMS to a landline.
        self.assertEqual(self.landline.loyalty_consent_sms, "in")
        self.assertFalse(self.landline._loyalty_can_sms())
        self.assertEqual(self.member._loyalty_can_sms(), self.member)

    def test_merge_keeps_the_choice(self):
        """Odoo's Merge (as the administrator, not superuser) copies the
        merged contact's choice onto a kept contact that had none."""
        admin = self.env.ref("base.user_admin")
        wizard = (
            self.env["base.partner.merge.automatic.wizard"]
            .with_user(admin)
            .create(
                {
                    "partner_ids": [Command.set((self.member | self.silent).ids)],
                    "dst_partner_id": self.silent.id,
                }
            )
        )
        wizard.action_merge()
        self.assertEqual(self.silent.loyalty_consent_sms, "in")

    def test_export_and_erasure(self):
        data = self.member.with_user(self.salesperson).loyalty_export_data()
        self.assertEqual(data["profile"]["loyalty_consent_sms"], "in")
        self.assertEqual(data["profile"]["loyalty_consent_sms_channel"], "backend")
        self.assertTrue(data["profile"]["loyalty_consent_sms_date"])
        manager = new_test_user(
            self.env,
            login="sms_manager",
            groups="sales_team.group_sale_manager,loyalty_crm_addon.group_loyalty_manager",
        )
        self.member.with_user(manager).action_loyalty_erase()
        self.assertEqual(self.member.loyalty_consent_sms, "out")
        self.assertFalse(self.member._loyalty_can_sms())


@tagged("post_install", "-at_install")
class TestLoyaltySmsPortal(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.member = cls.env["res.partner"].create(
            {"name": "Sima Sms", "email": "sima@example.com", "mobile": MOBILE}
        )
        cls.env["res.users"].create(
            {
                "login": "sima_portal",
                "password": "sima_portal",
                "partner_id": cls.member.id,
                "groups_id": [Command.set(cls.env.ref("base.group_portal").ids)],
            }
        )

    def test_member_records_sms_consent(self):
        self.authenticate("sima_portal", "sima_portal")
        page = self.url_open("/my/loyalty/privacy")
        self.assertEqual(page.status_code, 200)
        self.assertIn("we only send them if you ask", page.text)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        response = self.url_open(
            "/my/loyalty/privacy/consent/sms",
            data={"consent": "in", "csrf_token": token},
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("You receive loyalty text messages", response.text)
        self.assertRecordValues(
            self.member,
            [{"loyalty_consent_sms": "in", "loyalty_consent_sms_channel": "portal"}],
        )
        self.assertFalse(self.member.loyalty_consent, "the email choice is apart")
        response = self.url_open(
            "/my/loyalty/privacy/consent/sms",
            data={"consent": "out", "csrf_token": token},
        )
        self.assertIn("You do not receive loyalty text messages", response.text)
        self.assertEqual(self.member.loyalty_consent_sms, "out")
        export = self.url_open(f"/loyalty/privacy/export/{self.member.id}")
        self.assertEqual(export.json()["profile"]["loyalty_consent_sms"], "out")


@tagged("post_install", "-at_install")
class TestLoyaltyPosConsentSms(LoyaltyPosCase):
    def test_set_sms_consent_at_till(self):
        member = self.earn_member.with_user(self.pos_user)
        vals = member.loyalty_pos_set_consent_sms("in", self.main_pos_config.id)
        self.assertEqual(vals["loyalty_consent_sms"], "in")
        self.assertEqual(vals["loyalty_consent_sms_channel"], "pos")
        self.assertTrue(vals["loyalty_consent_sms_date"])
        self.assertRecordValues(
            self.earn_member,
            [{"loyalty_consent_sms": "in", "loyalty_consent_sms_channel": "pos"}],
        )
        self.assertFalse(self.earn_member.loyalty_consent, "the email choice is apart")
        fields = self.env["res.partner"]._load_pos_data_fields(self.main_pos_config.id)
        self.assertIn("loyalty_consent_sms", fields)
        self.assertIn("loyalty_consent_sms_date", fields)
        for consent, config in (("maybe", self.main_pos_config.id), ("out", 0)):
            with self.assertRaises(UserError):
                member.loyalty_pos_set_consent_sms(consent, config)
        clerk = new_test_user(self.env, login="sms_clerk", groups="base.group_user")
        with self.assertRaises(AccessError):
            self.earn_member.with_user(clerk).loyalty_pos_set_consent_sms(
                "out", self.main_pos_config.id
            )
        self.assertEqual(self.earn_member.loyalty_consent_sms, "in")
