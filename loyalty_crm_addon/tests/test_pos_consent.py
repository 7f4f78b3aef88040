# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import odoo.tests
from odoo.exceptions import AccessError, UserError

from .test_pos_tour import LoyaltyPosCase


@odoo.tests.tagged("post_install", "-at_install")
class TestLoyaltyPosConsent(LoyaltyPosCase):
    """The cashier records the customer's consent to loyalty emails in the
    member panel; the server writes it with the channel and the date.

    The tour is in static/tests/tours/loyalty_crm_consent_tour.js.
    """

    def _consent_history(self, partner):
        """The values loyalty_consent took, oldest first (chatter tracking)."""
        field = self.env["ir.model.fields"]._get("res.partner", "loyalty_consent")
        values = (
            self.env["mail.tracking.value"]
            .sudo()
            .search(
                [
                    ("field_id", "=", field.id),
                    ("mail_message_id.model", "=", "res.partner"),
                    ("mail_message_id.res_id", "=", partner.id),
                ],
                order="id",
            )
        )
        return [v.new_value_char for v in values]

    def test_set_consent_at_till(self):
        member = self.earn_member.with_user(self.pos_user)
        vals = member.loyalty_pos_set_consent("out", self.main_pos_config.id)
        self.assertEqual(vals["loyalty_consent"], "out")
        self.assertEqual(vals["loyalty_consent_channel"], "pos")
        self.assertTrue(vals["loyalty_consent_date"])
        self.assertRecordValues(
            self.earn_member,
            [{"loyalty_consent": "out", "loyalty_consent_channel": "pos"}],
        )
        # The till loads the choice with the customer.
        fields = self.env["res.partner"]._load_pos_data_fields(self.main_pos_config.id)
        self.assertIn("loyalty_consent", fields)
        self.assertIn("loyalty_consent_date", fields)

    def test_set_consent_at_till_refuses_bad_input(self):
        member = self.earn_member.with_user(self.pos_user)
        config_id = self.main_pos_config.id
        for consent, config in (
            ("maybe", config_id),
            ("", config_id),
            (None, config_id),
            ("out", 0),
            ("out", "1"),
            ("out", self.main_pos_config.id + 10**6),
        ):
            with self.subTest(consent=consent, config=config):
                with self.assertRaises(UserError):
                    member.loyalty_pos_set_consent(consent, config)
        both = (self.earn_member | self.redeem_member).with_user(self.pos_user)
        with self.assertRaises(UserError):
            both.loyalty_pos_set_consent("out", config_id)
        self.assertFalse(self.earn_member.loyalty_consent)
        self.assertFalse(self.redeem_member.loyalty_consent)

    def test_set_consent_at_till_needs_pos_user(self):
        clerk = self.env["res.users"].create(
            {
                "name": "LCA Clerk",
                "login": "lca_clerk",
                "groups_id": [(6, 0, [self.env.ref("base.group_user").id])],
            }
        )
        with self.assertRaises(AccessError):
            self.earn_member.with_user(clerk).loyalty_pos_set_consent(
                "out", self.main_pos_config.id
            )
        self.assertFalse(self.earn_member.loyalty_consent)

    def test_pos_consent_tour(self):
        self.assertFalse(self.earn_member.loyalty_consent)

        self.start_pos_tour("loyalty_crm_till_consent")

        self.env.invalidate_all()
        self.assertRecordValues(
            self.earn_member,
            [{"loyalty_consent": "in", "loyalty_consent_channel": "pos"}],
        )
        self.assertTrue(self.earn_member.loyalty_consent_date)
        # Both choices reached the server, in order: out, then in again.
        self.assertEqual(
            self._consent_history(self.earn_member), ["Opted out", "Opted in"]
        )
        # The choice about SMS, apart.
        self.assertRecordValues(
            self.earn_member,
            [{"loyalty_consent_sms": "in", "loyalty_consent_sms_channel": "pos"}],
        )
