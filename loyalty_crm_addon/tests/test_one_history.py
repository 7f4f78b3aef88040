# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from freezegun import freeze_time
from lxml import html

from odoo import fields
from odoo.tests import HttpCase, tagged

from .common import LoyaltyCrmCommon


@tagged("post_install", "-at_install")
class TestOneHistory(LoyaltyCrmCommon, HttpCase):
    """Staff, the card form, the sales order and the customer portal tell the
    same story of a member's points: the ledger's."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.program.write({"loyalty_points_validity_days": 30, "portal_visible": True})
        cls.portal_user = cls.env["res.users"].create(
            {
                "name": "Martha Member",
                "login": "martha_portal",
                "password": "martha_portal",
                "partner_id": cls.member.id,
                "groups_id": [(6, 0, [cls.env.ref("base.group_portal").id])],
            }
        )

    def _story(self):
        """Earn, spend, cancel, expire."""
        self.first = self._confirmed_order()  # +100
        self.member.loyalty_redeem_points(30, "Cinema tickets")  # -30
        cancelled = self._confirmed_order(qty=2)  # +40
        cancelled.with_context(disable_cancel_warning=True).action_cancel()  # -40
        with freeze_time(fields.Date.today() + timedelta(days=31)):
            self.Ledger._cron_expire_points()  # the 70 left
        self.env.invalidate_all()

    def _portal_rows(self):
        self.authenticate("martha_portal", "martha_portal")
        response = self.url_open(f"/my/loyalty_card/{self.card.id}/history")
        self.assertEqual(response.status_code, 200)
        tree = html.fromstring(response.content)
        return [
            [" ".join(td.text_content().split()) for td in row.findall("td")]
            for row in tree.xpath("//tr[hasclass('o_loyalty_ledger_line')]")
        ]

    def test_same_lines_everywhere(self):
        self._story()
        ledger = self.card.ledger_line_ids
        self.assertEqual(
            sorted(
                zip(ledger.mapped("entry_type"), ledger.mapped("points"), strict=True)
            ),
            [
                ("earn", 40),
                ("earn", 100),
                ("expire", -70),
                ("redeem", -30),
                ("reversal", -40),
            ],
        )
        self.assertEqual(self.card.points, 0)
        self.assertLedgerMatches()

        # Staff: the member's ledger.
        self.assertEqual(self.Ledger.search([("card_id", "=", self.card.id)]), ledger)
        # The card form shows the ledger, not the native history lines.
        arch = html.fromstring(
            self.card.get_views([(False, "form")])["views"]["form"]["arch"]
        )
        [ledger_page] = arch.xpath("//page[@name='loyalty_ledger']")
        self.assertEqual(ledger_page.get("invisible"), "program_type != 'loyalty'")
        [native_page] = arch.xpath("//page[.//field[@name='history_ids']]")
        self.assertEqual(native_page.get("invisible"), "program_type == 'loyalty'")
        form_lines = self.card.read(["ledger_line_ids"])[0]["ledger_line_ids"]
        self.assertEqual(form_lines, ledger.ids)

        # The portal: the same lines, same order, same signed points.
        rows = self._portal_rows()
        self.assertEqual([row[1] for row in rows], ledger.mapped("description"))
        for row, line in zip(rows, ledger, strict=True):
            self.assertIn(format(abs(line.points), "g"), row[3])
            self.assertEqual(row[3][0], "-" if line.points < 0 else "+")
        self.assertIn(self.first.name, [row[2] for row in rows], "order linked")
        # The card dialog of the portal home page too.
        values = self.make_jsonrpc_request(
            f"/my/loyalty_card/{self.card.id}/values", {}
        )
        self.assertEqual(
            [line["description"] for line in values["history_lines"]],
            ledger.mapped("description"),
        )
        self.assertEqual(values["history_lines"][0]["points"][0], "-")

        # The sales order's loyalty summary agrees with its ledger lines.
        self.assertEqual(self.first.loyalty_data["issued"], 100)
        self.assertEqual(self.first.loyalty_data["cost"], 0)

    def test_pending_points_show_as_pending_to_the_customer(self):
        self.program.loyalty_pending_days = 14
        self._confirmed_order()
        [row] = self._portal_rows()
        self.assertIn("Pending until", row[4])
        self.assertIn("+100", row[3])
        self.assertEqual(self.card.points, 0, "not spendable yet")

    def test_other_members_card_is_not_shown(self):
        other = self.env["res.partner"].create({"name": "Other"})
        card = self.env["loyalty.card"].browse(other.action_loyalty_enroll())
        self._give_points(10, other)
        self.authenticate("martha_portal", "martha_portal")
        response = self.url_open(f"/my/loyalty_card/{card.id}/history")
        self.assertNotIn(b"o_loyalty_ledger_line", response.content)
