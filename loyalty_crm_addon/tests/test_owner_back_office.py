# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import ast
import base64
from datetime import date, timedelta

from odoo.exceptions import AccessError, UserError
from odoo.fields import Command
from odoo.tests import Form, new_test_user, tagged

from .common import LoyaltyCrmCommon


@tagged("post_install", "-at_install")
class TestOwnerBackOffice(LoyaltyCrmCommon):
    """The shop owner's back office: finding members by their standing,
    enrolling from Members, the import's dry run and the erasure."""

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
        cls.owner = new_test_user(
            cls.env,
            login="lca_owner",
            groups="base.group_user,loyalty_crm_addon.group_loyalty_manager,"
            "sales_team.group_sale_manager",
        )
        cls.clerk = new_test_user(
            cls.env,
            login="lca_clerk",
            groups="base.group_user,loyalty_crm_addon.group_loyalty_user,"
            "sales_team.group_sale_salesman",
        )
        cls.big = cls.env["res.partner"].create({"name": "Bea Big"})
        cls.small = cls.env["res.partner"].create({"name": "Sam Small"})
        for partner in (cls.big, cls.small):
            partner.action_loyalty_enroll()

    def _members(self, domain, order=None):
        Partner = self.env["res.partner"].with_user(self.owner)
        return Partner.search(
            [("id", "in", (self.member | self.big | self.small).ids), *domain],
            order=order,
        )

    # ------------------------------------------------------------------
    # Members: sort, filter, group; saved searches
    # ------------------------------------------------------------------
    def test_top_holders_sorted_filtered_and_grouped(self):
        self._confirmed_order(self.big, qty=10, price=95)  # 950 points
        self._give_points(40, self.small)
        self._give_points(150)
        top = self._members([("loyalty_balance", ">", 0)], order="loyalty_balance desc")
        self.assertEqual(top, self.big | self.member | self.small)
        self.assertEqual(top[0], self.big)
        self.assertEqual(top.mapped("loyalty_balance"), [950, 150, 40])
        # Lifetime points: earned, not spent, sorted and searched in SQL.
        self.big.loyalty_redeem_points(500, "Gift")
        self.assertEqual(self.big.loyalty_balance, 450)
        self.assertEqual(self.big.loyalty_lifetime_points, 950)
        self.assertEqual(
            self._members([("loyalty_lifetime_points", ">=", 900)]), self.big
        )
        self.assertEqual(
            self._members([("loyalty_lifetime_points", "<", 100)]),
            self.member | self.small,
            "adjustments do not count for tiers, nor lifetime",
        )
        self.assertEqual(
            self._members([], order="loyalty_lifetime_points desc, id")[0], self.big
        )
        # Group by bands of the balance (Odoo does not group floats).
        groups = dict(
            self.env["res.partner"]
            .with_user(self.owner)
            ._read_group(
                [("id", "in", (self.member | self.big | self.small).ids)],
                ["loyalty_balance_band"],
                ["__count"],
            )
        )
        self.assertEqual(groups, {"1_low": 1, "2_mid": 2})
        self.assertEqual(
            self._members([("loyalty_balance_band", "=", "1_low")]), self.small
        )
        self.assertEqual(self.big.loyalty_balance_band, "2_mid")
        # Tier, segment and churn risk are sortable and groupable columns.
        fields = self.env["res.partner"].with_user(self.owner).fields_get()
        for fname in (
            "loyalty_balance",
            "loyalty_tier_id",
            "loyalty_lifetime_points",
            "loyalty_segment",
            "loyalty_churn_score",
        ):
            self.assertTrue(fields[fname]["sortable"], fname)
        for fname in (
            "loyalty_tier_id",
            "loyalty_segment",
            "loyalty_balance_band",
            "loyalty_lifetime_band",
            "loyalty_churn_band",
        ):
            self.assertTrue(fields[fname]["groupable"], fname)
        # The saved searches of the Members menu run.
        action = self.env.ref("loyalty_crm_addon.action_loyalty_members")
        filters = (
            self.env["ir.filters"]
            .with_user(self.owner)
            .get_filters("res.partner", action.id)
        )
        names = {f["name"] for f in filters}
        self.assertLessEqual(
            {"Top Holders", "Close to Next Tier", "Points Expiring This Month"}, names
        )
        for saved in filters:
            self.env["res.partner"].with_user(self.owner).search(
                ast.literal_eval(saved["domain"]),
                order=", ".join(ast.literal_eval(saved["sort"])) or None,
                limit=5,
            )

    def test_close_to_next_tier_and_expiring_this_month(self):
        self._confirmed_order(self.big, qty=10, price=85)  # 850 of Gold's 1000
        self._confirmed_order(self.small, qty=1, price=50)  # 50
        self.assertEqual(
            self._members([("loyalty_close_to_next_tier", "=", True)]), self.big
        )
        self.assertTrue(self.big.loyalty_close_to_next_tier)
        self.assertFalse(self.small.loyalty_close_to_next_tier)
        # Points expiring this month: an open lot whose expiry is in it.
        today = date.today()
        line = self._lines(self.small.loyalty_card_id, entry_type="earn")
        self.assertEqual(line.state, "posted")

        def expire_on(day):
            self.env.flush_all()
            self.env.cr.execute(
                "UPDATE loyalty_ledger_line SET expiry_date = %s WHERE id = %s",
                [day, line.id],
            )
            self.env.invalidate_all()

        expire_on(today)
        self.assertEqual(
            self._members([("loyalty_expiring_this_month", "=", True)]), self.small
        )
        expire_on(today + timedelta(days=62))
        self.assertFalse(self._members([("loyalty_expiring_this_month", "=", True)]))

    def test_new_on_members_enrols(self):
        action = self.env.ref("loyalty_crm_addon.action_loyalty_members")
        context = ast.literal_eval(action.context)
        Partner = self.env["res.partner"].with_user(self.clerk).with_context(**context)
        with Form(Partner) as form:
            form.name = "Nora New"
        partner = form.record
        self.assertTrue(partner.loyalty_card_id, "New on Members makes a member")
        self.assertTrue(partner.loyalty_is_member)
        self.assertIn(partner, Partner.search(ast.literal_eval(action.domain)))
        # A contact made elsewhere is not enrolled.
        other = self.env["res.partner"].with_user(self.clerk).create({"name": "Otto"})
        self.assertFalse(other.loyalty_card_id)
        # Enrolling has the rights of "Enrol now".
        contacts_only = new_test_user(
            self.env, login="lca_contacts", groups="base.group_partner_manager"
        )
        with self.assertRaises(AccessError):
            self.env["res.partner"].with_user(contacts_only).create(
                {"name": "Sneaky", "loyalty_is_member": True}
            )

    # ------------------------------------------------------------------
    # Import: every error of a row, existing balances
    # ------------------------------------------------------------------
    def test_import_lists_every_error_and_warns_about_balances(self):
        self._give_points(70)
        past = (date.today() - timedelta(days=30)).isoformat()
        future = (date.today() + timedelta(days=30)).isoformat()
        rows = [
            "email,name,phone,ref,points,lifetime_points,earned_on,expires_on,consent",
            f"not-an-email,Bad,,,12abc,-5,{future},2024-13-45,maybe",
            f"martha@example.com,Martha,,,30,,{past},,",
        ]
        job = (
            self.env["loyalty.balance.import"]
            .with_user(self.owner)
            .create(
                {
                    "data_file": base64.b64encode("\n".join(rows).encode()),
                    "filename": "members.csv",
                    "program_id": self.program.id,
                }
            )
        )
        job.action_dry_run()
        bad, martha = job.line_ids.sorted("row")
        self.assertEqual(bad.action, "reject")
        for error in (
            "not an email address",
            "not a number",
            "cannot be negative",
            "not a date",
            "consent must be",
            "earned_on is in the future",
        ):
            self.assertIn(error, bad.message)
        self.assertEqual(martha.action, "match")
        self.assertEqual(martha.existing_points, 70)
        self.assertIn("already holding 70 points", martha.message)
        self.assertEqual(job.count_existing, 1)
        self.assertEqual(self.member.loyalty_balance, 70, "a dry run writes nothing")
        # Dry Run is the first button, and the primary one until it ran.
        arch = job.get_view(view_type="form")["arch"]
        buttons = arch[arch.index("<header") : arch.index("</header>")]
        self.assertLess(buttons.index("action_dry_run"), buttons.index("action_import"))

    # ------------------------------------------------------------------
    # Erasure: the member's name typed, no activity left behind
    # ------------------------------------------------------------------
    def test_erasure_asks_the_name_and_leaves_no_activity(self):
        self._give_points(30)
        followup = self.env.ref("loyalty_crm_addon.mail_activity_type_loyalty_followup")
        self.member.activity_schedule(
            activity_type_id=followup.id,
            summary="Call Martha Member about Gold",
            user_id=self.owner.id,
        )
        action = self.member.with_user(self.owner).action_open_loyalty_erase()
        self.assertEqual(action["res_model"], "loyalty.erase.wizard")
        Wizard = self.env["loyalty.erase.wizard"].with_user(self.owner)
        wizard = Wizard.with_context(**action["context"]).create(
            {"confirm_name": "Martha"}
        )
        with self.assertRaises(UserError):
            wizard.action_erase()
        self.assertEqual(self.member.name, "Martha Member", "nothing erased")
        with self.assertRaises(AccessError):
            self.member.with_user(self.clerk).action_open_loyalty_erase()
        wizard.confirm_name = "  martha   MEMBER "
        wizard.action_erase()
        self.env.invalidate_all()
        self.assertNotIn("Martha", self.member.name)
        self.assertEqual(self.member.loyalty_balance, 30)
        activities = (
            self.env["mail.activity"]
            .with_context(active_test=False)
            .search(
                [("res_model", "=", "res.partner"), ("res_id", "=", self.member.id)]
            )
        )
        self.assertFalse(activities, "no follow-up left, no '[erased]' to-do")

    # ------------------------------------------------------------------
    # Dashboard: the period before, currency, cohorts
    # ------------------------------------------------------------------
    def test_dashboard_compares_periods_and_shows_cohorts(self):
        self._confirmed_order(self.big)
        today = date.today()
        data = (
            self.env["loyalty.program"]
            .with_user(self.owner)
            .get_loyalty_dashboard_data(
                program_id=self.program.id,
                date_from=today.replace(day=1).isoformat(),
                date_to=today.isoformat(),
            )
        )
        self.assertEqual(data["currency_id"], self.program.currency_id.id)
        length = today - today.replace(day=1)
        previous_to = today.replace(day=1) - timedelta(days=1)
        self.assertEqual(data["previous"]["date_to"], previous_to.isoformat())
        self.assertEqual(
            data["previous"]["date_from"], (previous_to - length).isoformat()
        )
        self.assertEqual(set(data["previous"]["kpis"]), set(data["kpis"]))
        cohort = data["cohorts"][-1]
        self.assertEqual(cohort["month"], today.replace(day=1).isoformat())
        self.assertGreaterEqual(cohort["members"], 3)
        self.assertEqual(len(cohort["retained"]), 1)
        self.assertGreater(cohort["retained"][0], 0, "the big member bought")
