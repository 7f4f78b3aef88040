# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import re

from odoo.fields import Command
from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestLoyaltyPrivacyPortal(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.member = cls.env["res.partner"].create(
            {"name": "Petra Portal", "email": "petra@example.com"}
        )
        cls.user = cls.env["res.users"].create(
            {
                "login": "petra_portal",
                "password": "petra_portal",
                "partner_id": cls.member.id,
                "groups_id": [Command.set(cls.env.ref("base.group_portal").ids)],
            }
        )
        cls.stranger = cls.env["res.partner"].create({"name": "Somebody Else"})

    def test_member_records_consent_and_downloads_data(self):
        self.authenticate("petra_portal", "petra_portal")
        page = self.url_open("/my/loyalty/privacy")
        self.assertEqual(page.status_code, 200)
        self.assertIn("not told us your choice", page.text)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        response = self.url_open(
            "/my/loyalty/privacy/consent",
            data={"consent": "out", "csrf_token": token},
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("You do not receive loyalty emails", response.text)
        self.assertEqual(self.member.loyalty_consent, "out")
        self.assertEqual(self.member.loyalty_consent_channel, "portal")

        export = self.url_open(f"/loyalty/privacy/export/{self.member.id}")
        self.assertEqual(export.status_code, 200)
        self.assertIn("attachment", export.headers["Content-Disposition"])
        self.assertEqual(export.json()["profile"]["email"], "petra@example.com")
        # Nobody else's data.
        other = self.url_open(f"/loyalty/privacy/export/{self.stranger.id}")
        self.assertEqual(other.status_code, 404)
