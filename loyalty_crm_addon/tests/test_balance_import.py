# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import base64
import io
from datetime import date, timedelta
from unittest.mock import patch

from odoo.exceptions import UserError
from odoo.fields import Command
from odoo.tests import new_test_user, tagged

from .common import LoyaltyCrmCommon

HEADER = "email,name,phone,ref,points,lifetime_points,earned_on,expires_on,consent"


@tagged("post_install", "-at_install")
class TestBalanceImport(LoyaltyCrmCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.program.write(
            {
                "loyalty_tier_ids": [
                    Command.create({"name": "Silver", "threshold": 0}),
                    Command.create({"name": "Gold", "threshold": 1000}),
                ],
            }
        )
        cls.silver, cls.gold = cls.program.loyalty_tier_ids.sorted("threshold")
        cls.known = cls.env["res.partner"].create(
            {
                "name": "Known Customer",
                "email": "known@example.com",
                "phone": "+32 470 12 34 56",
                "ref": "K-1",
            }
        )
        cls.future = (date.today() + timedelta(days=200)).isoformat()
        cls.past = (date.today() - timedelta(days=30)).isoformat()

    def _file(self, *rows):
        return base64.b64encode("\n".join((HEADER,) + rows).encode())

    def _job(self, data, **values):
        return self.env["loyalty.balance.import"].create(
            {
                "data_file": data,
                "filename": "members.csv",
                "program_id": self.program.id,
                **values,
            }
        )

    def _mixed_file(self):
        return self._file(
            # 1 new member, lifetime points place them in Gold
            f"new@example.com,New Member,,,150,1200,{self.past},{self.future},in",
            # 2 an existing contact, matched by phone
            f",,+32470123456,,80,,{self.past},,",
            # 3 the same new member again: a duplicate in the file
            "NEW@example.com,Again,,,10,,,,",
            # 4 bad number
            "bad@example.com,Bad,,,12abc,,,,",
            # 5 bad date
            "date@example.com,Date,,,5,,2024-13-45,,",
            # 6 infinite number
            "inf@example.com,Inf,,,inf,,,,",
            # 7 no identity
            ",Nobody,,,5,,,,",
            # 8 already expired
            f"old@example.com,Old,,,5,,,{self.past},",
            # 9 a reference of an existing contact... the same member as row 2
            ",,,K-1,5,,,,",
        )

    def _ledger_total(self):
        self.env.flush_all()
        self.env.cr.execute("SELECT COALESCE(SUM(points), 0) FROM loyalty_ledger_line")
        return self.env.cr.fetchone()[0]

    def test_dry_run_reports_each_row_and_writes_nothing(self):
        job = self._job(self._mixed_file())
        partners = self.env["res.partner"].search_count([])
        total = self._ledger_total()
        job.action_dry_run()
        self.assertEqual(job.state, "checked")
        report = {line.row: (line.action, line.message) for line in job.line_ids}
        self.assertEqual(report[1][0], "create")
        self.assertEqual(report[2][0], "match")
        self.assertEqual(
            job.line_ids.filtered(lambda ln: ln.row == 2).partner_id, self.known
        )
        self.assertEqual(report[3], ("reject", "duplicate of row 1"))
        self.assertIn("not a number", report[4][1])
        self.assertIn("not a date", report[5][1])
        self.assertIn("finite", report[6][1])
        self.assertEqual(report[7][0], "reject")
        self.assertIn("expired", report[8][1])
        self.assertEqual(report[9], ("reject", "same member as row 2"))
        self.assertEqual(
            (job.count_create, job.count_match, job.count_skip, job.count_reject),
            (1, 1, 0, 7),
        )
        self.assertEqual(self.env["res.partner"].search_count([]), partners)
        self.assertEqual(self._ledger_total(), total)
        self.assertFalse(self.known.loyalty_card_id)

    def test_unknown_partners_rejected_when_creation_is_off(self):
        job = self._job(self._mixed_file(), create_partners=False)
        job.action_dry_run()
        line = job.line_ids.filtered(lambda ln: ln.row == 1)
        self.assertEqual(
            (line.action, line.message), ("reject", "no contact with this email")
        )

    def test_import_sends_no_welcome_mail(self):
        """The program's "At creation" email is not sent to the members an
        import enrolls (a migration sends nothing)."""
        template = self.env["mail.template"].create(
            {
                "name": "Welcome card",
                "model_id": self.env["ir.model"]._get_id("loyalty.card"),
                "subject": "Welcome card",
            }
        )
        self.program.communication_plan_ids = [
            Command.create({"trigger": "create", "mail_template_id": template.id})
        ]
        job = self._job(self._file("new@example.com,New Member,,,150,,,,"))
        job.action_import()
        self.assertEqual(job.state, "done")
        new = self.env["res.partner"].search([("email", "=", "new@example.com")])
        self.assertTrue(new.loyalty_card_id)
        self.assertFalse(
            self.env["mail.mail"].search([("subject", "=", "Welcome card")])
        )

    def test_import_posts_opening_balances_and_is_idempotent(self):
        data = self._mixed_file()
        job = self._job(data)
        job.action_import()
        self.assertEqual(job.state, "done")
        self.assertEqual(job.progress, 100.0)
        self.assertFalse(job.data_file, "the file with personal data is not kept")
        new = self.env["res.partner"].search([("email", "=", "new@example.com")])
        self.assertEqual(len(new), 1)
        self.assertEqual(new.loyalty_balance, 150)
        self.assertEqual(new.loyalty_tier_id, self.gold, "lifetime points place")
        self.assertEqual(new.loyalty_consent, "in")
        self.assertEqual(new.loyalty_consent_channel, "import")
        opening = self._lines(new.loyalty_card_id, reference="import-opening")
        self.assertEqual(opening.entry_type, "adjust")
        self.assertEqual(opening.source, "import")
        self.assertEqual(
            opening.date.date().isoformat(), self.past, "original earn date"
        )
        self.assertEqual(opening.expiry_date.isoformat(), self.future)
        self.assertEqual(opening.points_residual, 150, "spendable lot")
        self.assertEqual(self.known.loyalty_balance, 80)
        self.assertFalse(
            self.Ledger._get_inconsistent_cards(), "cards follow the ledger"
        )
        # No member event (no emails) for a migration.
        self.assertFalse(
            self.env["loyalty.member.event"].search(
                [("partner_id", "in", (new | self.known).ids)]
            )
        )
        for email in ("bad@example.com", "date@example.com", "again@example.com"):
            self.assertFalse(
                self.env["res.partner"].search([("email", "=", email)]), email
            )

        partners = self.env["res.partner"].search_count([])
        total = self._ledger_total()
        again = self._job(data)
        again.action_import()
        self.assertEqual(self.env["res.partner"].search_count([]), partners)
        self.assertEqual(self._ledger_total(), total)
        self.assertEqual(new.loyalty_balance, 150)
        self.assertEqual(
            (again.count_create, again.count_match, again.count_skip), (0, 0, 2)
        )

    def test_interrupted_import_resumes(self):
        rows = [f"m{i}@example.com,Member {i},,,{10 + i},,,," for i in range(5)]
        job = self._job(self._file(*rows), batch_size=2)
        self.assertFalse(job._run_import(max_batches=1), "stopped after a batch")
        self.assertEqual((job.state, job.next_row), ("running", 2))
        self.assertEqual(job.progress, 40.0)
        job.action_import()  # the rerun (or the scheduler) resumes
        self.assertEqual(job.state, "done")
        self.assertEqual(job.count_create, 5)
        self.assertEqual(len(job.line_ids), 5)
        balances = (
            self.env["res.partner"]
            .search([("email", "=like", "m_@example.com")], order="email")
            .mapped("loyalty_balance")
        )
        self.assertEqual(balances, [10, 11, 12, 13, 14])

    def test_large_import_is_queued_for_the_scheduler(self):
        self.env["ir.config_parameter"].set_param(
            "loyalty_crm_addon.import_sync_rows", 2
        )
        rows = [f"q{i}@example.com,Q {i},,,5,,,," for i in range(3)]
        job = self._job(self._file(*rows))
        # A scheduled job's context key, as an RPC caller could send it, does
        # not make the button run it at once, nor report as that job.
        cron = self.env.ref("loyalty_crm_addon.ir_cron_loyalty_balance_import")
        progress = self.env["ir.cron.progress"].create({"cron_id": cron.id})
        as_job = {"ir_cron_progress_id": progress.id, "cron_id": cron.id}
        job.with_context(**as_job).action_import()
        self.assertEqual(job.state, "queued")
        small = self._job(self._file("s@example.com,S,,,5,,,,"))
        # (A commit between its batches would fail this test's cursor.)
        small.with_context(**as_job).action_import()
        self.assertEqual(small.state, "done")
        self.assertEqual((progress.done, progress.remaining), (0, 0))
        self.env["loyalty.balance.import"]._cron_run_imports()
        self.assertEqual(job.state, "done")
        self.assertEqual(job.count_create, 3)

    def test_xlsx(self):
        import openpyxl

        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(HEADER.split(","))
        sheet.append(
            [
                "x@example.com",
                "Excel",
                None,
                1234,
                42.5,
                0,
                date.today() - timedelta(days=3),
                None,
                None,
            ]
        )
        sheet.append(
            ["y@example.com", "Why", None, None, "many", None, None, None, None]
        )
        buffer = io.BytesIO()
        book.save(buffer)
        job = self._job(base64.b64encode(buffer.getvalue()), filename="m.xlsx")
        job.action_import()
        partner = self.env["res.partner"].search([("email", "=", "x@example.com")])
        self.assertEqual(partner.ref, "1234")
        self.assertEqual(partner.loyalty_balance, 42.5)
        self.assertEqual(job.count_reject, 1)

    def test_bad_files_and_rights(self):
        with self.assertRaises(UserError):
            self._job(base64.b64encode(b"foo,bar\n1,2")).action_dry_run()
        with self.assertRaises(UserError):
            self._job(False).action_dry_run()
        user = new_test_user(
            self.env, login="imp_user", groups="loyalty_crm_addon.group_loyalty_user"
        )
        job = self._job(self._file("a@example.com,A,,,5,,,,"))
        with self.assertRaises(UserError):  # AccessError is one too
            job.with_user(user).action_import()

    def test_card_code_collision_is_retried(self):
        # Native card codes have 7 random hex digits: at a hundred thousand
        # members some new codes are already taken.
        taken = self.card.code
        codes = iter([taken, "044-fresh-code"])
        Card = type(self.env["loyalty.card"])
        with patch.object(Card, "_generate_code", lambda self: next(codes)):
            job = self._job(self._file("c@example.com,Coll,,,7,,,,"))
            job.action_import()
        partner = self.env["res.partner"].search([("email", "=", "c@example.com")])
        self.assertEqual(partner.loyalty_card_id.code, "044-fresh-code")
        self.assertEqual(partner.loyalty_balance, 7)

    def test_matching_keys_are_normalised(self):
        """Phone and mobile match whatever their punctuation; references
        exactly; other companies' contacts are not matched."""
        mobile = self.env["res.partner"].create(
            {"name": "Mobile Only", "mobile": "0470/11.22.33"}
        )
        other_company = self.env["res.company"].create({"name": "Other Shop"})
        self.env["res.partner"].create(
            {
                "name": "Other Shop's Customer",
                "email": "elsewhere@example.com",
                "company_id": other_company.id,
            }
        )
        job = self._job(
            self._file(
                ",,0470 11 22 33,,5,,,,",
                ",,,K-1,6,,,,",
                "Elsewhere@Example.com,,,,7,,,,",
            ),
            create_partners=False,
        )
        job.action_dry_run()
        report = {line.row: line for line in job.line_ids}
        self.assertEqual((report[1].action, report[1].partner_id), ("match", mobile))
        self.assertEqual(
            (report[2].action, report[2].partner_id), ("match", self.known)
        )
        self.assertEqual(report[3].action, "reject", "another company's contact")

    def test_import_leaves_no_chatter_trail_on_new_members(self):
        """The report and the ledger tell the import: contacts it creates get
        no enrollment note and their cards no points tracking; a contact
        that existed is told they were enrolled."""
        job = self._job(
            self._file(
                "fresh@example.com,Fresh,,,25,,,,",
                "known@example.com,,,,30,,,,",
            )
        )
        job.action_import()
        fresh = self.env["res.partner"].search([("email", "=", "fresh@example.com")])
        self.assertEqual(fresh.loyalty_balance, 25)
        self.assertEqual(self.known.loyalty_balance, 30)
        Message = self.env["mail.message"]
        self.assertFalse(
            Message.search([("model", "=", "res.partner"), ("res_id", "=", fresh.id)])
        )
        self.assertTrue(
            Message.search(
                [
                    ("model", "=", "res.partner"),
                    ("res_id", "=", self.known.id),
                    ("body", "ilike", "Enrolled in"),
                ]
            )
        )
        cards = (fresh | self.known).loyalty_card_id
        self.assertFalse(
            Message.search(
                [("model", "=", "loyalty.card"), ("res_id", "in", cards.ids)]
            )
        )
        self.assertFalse(self.Ledger._get_inconsistent_cards())
