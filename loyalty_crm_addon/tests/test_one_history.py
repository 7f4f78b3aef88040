# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from freezegun import freeze_time
from lxml import html

from odoo import Command, fields
from odoo.exceptions import UserError
from odoo.tests import HttpCase, new_test_user, tagged

from .common import LoyaltyCrmCommon, LoyaltyPosCase


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
        # Odoo wrote its own history lines as Odoo does (the cancelled
        # order's deleted): they know nothing of the redemption nor the
        # expiry, and no screen above shows them.
        self.assertRecordValues(
            self.env["loyalty.history"].search([("card_id", "=", self.card.id)]),
            [
                {
                    "order_model": "sale.order",
                    "order_id": self.first.id,
                    "issued": 100.0,
                    "used": 0.0,
                }
            ],
        )

    def test_pending_points_show_as_pending_to_the_customer(self):
        self.program.loyalty_pending_days = 14
        self._confirmed_order()
        [row] = self._portal_rows()
        self.assertIn("Available from", row[4])
        self.assertIn("+100", row[3])
        self.assertEqual(self.card.points, 0, "not spendable yet")

    def test_other_members_card_is_not_shown(self):
        other = self.env["res.partner"].create({"name": "Other"})
        card = self.env["loyalty.card"].browse(other.action_loyalty_enroll())
        self._give_points(10, other)
        self.authenticate("martha_portal", "martha_portal")
        response = self.url_open(f"/my/loyalty_card/{card.id}/history")
        self.assertNotIn(b"o_loyalty_ledger_line", response.content)


@tagged("post_install", "-at_install")
class TestOneHistoryEveryChannel(LoyaltyPosCase):
    """A sale, a credit note, a cancellation and a till order of one member:
    the card form, the sales orders' summaries, the till's receipt and the
    portal show the ledger's lines, even where Odoo's own history lines of
    the membership card, which Odoo's flows still write, say otherwise;
    nobody else writes such lines; gift cards keep Odoo's history."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.member = cls.earn_member  # 200 welcome points
        cls.card = cls._card_of(cls.member)
        cls.salesperson = new_test_user(
            cls.env,
            login="lca_one_history_sales",
            groups="sales_team.group_sale_salesman",
            company_id=cls.company.id,
        )
        cls.env["res.users"].create(
            {
                "name": "Earn Member",
                "login": "lca_earn_portal",
                "password": "lca_earn_portal",
                "partner_id": cls.member.id,
                "groups_id": [Command.set(cls.env.ref("base.group_portal").ids)],
            }
        )
        cls.History = cls.env["loyalty.history"]

    @classmethod
    def _card_of(cls, partner):
        return cls.env["loyalty.card"].search(
            [("program_id", "=", cls.program.id), ("partner_id", "=", partner.id)]
        )

    def _sale(self, qty):
        order = (
            self.env["sale.order"]
            .with_user(self.salesperson)
            .create(
                {
                    "partner_id": self.member.id,
                    "order_line": [
                        Command.create(
                            {
                                "product_id": self.product.id,
                                "product_uom_qty": qty,
                                "price_unit": 50.0,
                                "tax_id": [Command.clear()],
                            }
                        )
                    ],
                }
            )
        )
        order._update_programs_and_rewards()
        order.action_confirm()
        return order

    def _story(self):
        """A sale, a half credit note, a cancellation, a till order spending
        100 points; the till reports its history as pos_loyalty does, with
        made-up figures."""
        self.sale = self._sale(2)  # +100
        self.credited = self._sale(2)  # +100, then half credited: -50
        invoice = self.credited.with_user(self.admin)._create_invoices()
        invoice.action_post()
        refund = invoice._reverse_moves()
        refund.invoice_line_ids.quantity = 1
        refund.action_post()
        self.cancelled = self._sale(1)  # +50, cancelled: -50
        self.cancelled.with_context(disable_cancel_warning=True).action_cancel()
        PosOrder = self.env["pos.order"].with_user(self.pos_user)
        result = PosOrder.sync_from_ui([self._order_data(self.member, spend=100.0)])
        self.till_order = PosOrder.browse(result["pos.order"][0]["id"])
        confirmed = self.till_order.confirm_coupon_programs(
            {
                str(self.card.id): {
                    "points": -50.0,
                    "program_id": self.program.id,
                    "coupon_id": self.card.id,
                    "barcode": False,
                    "partner_id": self.member.id,
                    "line_codes": [
                        c
                        for c in self.till_order.lines.mapped("reward_identifier_code")
                        if c
                    ],
                }
            }
        )
        self.receipt = confirmed["loyalty_crm_receipt"]
        self.till_order.add_loyalty_history_lines(
            [
                {
                    "order_id": self.till_order.id,
                    "card_id": str(self.card.id),
                    "won": 5000.0,
                    "spent": 1.0,
                }
            ],
            [],
        )
        self.env.invalidate_all()

    def _portal(self):
        self.authenticate("lca_earn_portal", "lca_earn_portal")
        response = self.url_open(f"/my/loyalty_card/{self.card.id}/history")
        self.assertEqual(response.status_code, 200)
        tree = html.fromstring(response.content)
        rows = [
            [" ".join(td.text_content().split()) for td in row.findall("td")]
            for row in tree.xpath("//tr[hasclass('o_loyalty_ledger_line')]")
        ]
        values = self.make_jsonrpc_request(
            f"/my/loyalty_card/{self.card.id}/values", {}
        )
        return rows, values["history_lines"]

    def test_every_channel_shows_the_ledger(self):
        self._story()
        ledger = self.card.ledger_line_ids
        self.assertEqual(
            sorted(
                (
                    line.entry_type,
                    line.points,
                    str(line.sale_order_id or line.pos_order_id),
                )
                for line in ledger
                if line.sale_order_id or line.pos_order_id
            ),
            sorted(
                [
                    ("earn", 50.0, str(self.cancelled)),
                    ("earn", 50.0, str(self.till_order)),
                    ("earn", 100.0, str(self.credited)),
                    ("earn", 100.0, str(self.sale)),
                    ("redeem", -100.0, str(self.till_order)),
                    ("reversal", -50.0, str(self.cancelled)),
                    ("reversal", -50.0, str(self.credited)),
                ]
            ),
        )
        # 200 welcome points, +100, +50 (credit note), +50 -100 (till).
        self.assertLedgerMatches(self.member, 300)

        # Odoo's own history lines of the membership card, as Odoo writes
        # them: one per order, the cancelled order's deleted, the credit note
        # unknown to them; the till's line from the ledger, not from the
        # figures the till sent. No screen below shows them.
        self.assertEqual(
            sorted(
                (h.order_model, h.order_id, h.issued, h.used)
                for h in self.History.search([("card_id", "=", self.card.id)])
            ),
            sorted(
                [
                    ("pos.order", self.till_order.id, 50.0, 100.0),
                    ("sale.order", self.sale.id, 100.0, 0.0),
                    ("sale.order", self.credited.id, 100.0, 0.0),
                ]
            ),
        )

        # The card form: its History tab lists the ledger lines.
        form = self.card.with_user(self.admin).read(["ledger_line_ids"])[0]
        self.assertEqual(form["ledger_line_ids"], ledger.ids)

        # The sales orders' summaries: their ledger lines, as the salesperson
        # sees them (the portal's order page shows the same figures).
        def summary(order):
            data = order.with_user(self.salesperson).loyalty_data
            return data and (data["issued"], data["cost"], data["point_name"])

        self.assertEqual(summary(self.sale), (100.0, 0.0, "LCA Points"))
        self.assertEqual(summary(self.credited), (100.0, 50.0, "LCA Points"))
        self.assertFalse(summary(self.cancelled), "Odoo shows none once cancelled")
        # An order with another card too: Odoo's figures of that card plus
        # the ledger's lines.
        gift = self.env["loyalty.card"].create(
            {
                "program_id": self.env["loyalty.program"]
                .create({"name": "LCA Gift Cards", "program_type": "gift_card"})
                .id,
                "points": 40,
            }
        )
        self.History.create(
            {
                "card_id": gift.id,
                "order_model": "sale.order",
                "order_id": self.credited.id,
                "description": "Gift card spent",
                "used": 10.0,
            }
        )
        self.env.invalidate_all()
        self.assertEqual(summary(self.credited), (100.0, 60.0, "LCA Points"))

        # The till's receipt: the till order's ledger lines and the balance.
        self.assertEqual(
            (self.receipt["earned"], self.receipt["spent"], self.receipt["balance"]),
            (50.0, 100.0, 300.0),
        )
        self.assertEqual(self.till_order.loyalty_points_earned, 50.0)
        self.assertEqual(self.till_order.loyalty_points_spent, 100.0)

        # The portal: the card's history page and the card dialog.
        rows, dialog = self._portal()
        self.assertEqual([row[1] for row in rows], ledger.mapped("description"))
        for row, line in zip(rows, ledger, strict=True):
            points = line._loyalty_portal_values()["points"]
            self.assertEqual(row[3], " ".join(points.split()))
        self.assertEqual(
            [line["description"] for line in dialog],
            ledger[:5].mapped("description"),
        )

    def test_odoo_history_lines_written_not_forged(self):
        gift_program = self.env["loyalty.program"].create(
            {
                "name": "LCA Gift Cards",
                "program_type": "gift_card",
                "pos_ok": True,
                "pos_config_ids": [Command.link(self.main_pos_config.id)],
            }
        )
        gift = self.env["loyalty.card"].create(
            {"program_id": gift_program.id, "points": 40}
        )
        order = (
            self.env["pos.order"].with_user(self.pos_user).browse(self._sync_order())
        )
        order.add_loyalty_history_lines(
            [
                {"order_id": order.id, "card_id": str(gift.id), "won": 0, "spent": 10},
                {
                    "order_id": order.id,
                    "card_id": str(self.card.id),
                    "won": 5000.0,
                    "spent": 0,
                },
            ],
            [],
        )
        # The gift card's line as the till sends it, the membership card's
        # from the ledger; once per order and card however often it is sent.
        order.add_loyalty_history_lines([], [])
        earned = sum(order.sudo().loyalty_ledger_line_ids.mapped("points"))
        self.assertEqual(earned, 50.0)
        self.assertRecordValues(
            self.History.search([("order_model", "=", "pos.order")], order="id"),
            [
                {"card_id": gift.id, "issued": 0.0, "used": 10.0},
                {"card_id": self.card.id, "issued": earned, "used": 0.0},
            ],
        )

        # Cards generated: Odoo's history lines for every card, as Odoo
        # writes them; a new member's points are also the ledger's opening
        # line.
        newcomer = self.env["res.partner"].create({"name": "LCA Newcomer"})
        Wizard = self.env["loyalty.generate.wizard"].with_user(self.admin)
        for program in (gift_program, self.program):
            Wizard.create(
                {
                    "program_id": program.id,
                    "mode": "selected",
                    "customer_ids": [Command.set(newcomer.ids)],
                    "points_granted": 25,
                }
            ).generate_coupons()
        new_gift = gift_program.coupon_ids.filtered(lambda c: c.partner_id == newcomer)
        self.assertRecordValues(new_gift.history_ids, [{"issued": 25.0, "used": 0.0}])
        new_card = self._card_of(newcomer)
        self.assertRecordValues(new_card.history_ids, [{"issued": 25.0, "used": 0.0}])
        self.assertEqual(new_card.ledger_line_ids.mapped("points"), [25.0])
        self.assertEqual(new_card.points, 25.0)

        # Nobody else writes Odoo history lines on a membership card: no
        # context key sent over RPC opens the way.
        for user in (self.pos_user, self.admin):
            for context in ({}, {"loyalty_history": "native"}):
                with self.assertRaisesRegex(UserError, "points ledger"):
                    self.History.with_user(user).with_context(**context).create(
                        {
                            "card_id": self.card.id,
                            "description": "Forged",
                            "issued": 500,
                        }
                    )
        line = self.History.search([("card_id", "=", gift.id)])
        with self.assertRaisesRegex(UserError, "points ledger"):
            line.with_user(self.pos_user).write({"card_id": self.card.id})

    def _sync_order(self):
        result = (
            self.env["pos.order"]
            .with_user(self.pos_user)
            .sync_from_ui([self._order_data(self.member)])
        )
        return result["pos.order"][0]["id"]
