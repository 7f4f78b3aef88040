# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .test_kpi import LoyaltyKpiCommon


@tagged("post_install", "-at_install")
class TestLoyaltyKpiAccess(LoyaltyKpiCommon):
    """The KPIs and the Member Revenue report read with the caller's rights:
    a salesperson limited to their own documents sees their orders in the
    report and is refused the KPIs (they count every order); a user of
    another company never sees this company's figures."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.seller = new_test_user(
            cls.env, login="kpi_own_seller", groups="sales_team.group_sale_salesman"
        )
        cls.colleague = new_test_user(
            cls.env, login="kpi_colleague", groups="sales_team.group_sale_salesman"
        )
        cls.sales_manager = new_test_user(
            cls.env, login="kpi_sales_manager", groups="sales_team.group_sale_manager"
        )
        cls.company_b = cls.env["res.company"].create({"name": "KPI Company B"})
        cls.user_b = new_test_user(
            cls.env,
            login="kpi_user_b",
            groups="sales_team.group_sale_manager,point_of_sale.group_pos_user,"
            "loyalty_crm_addon.group_loyalty_manager",
            company_id=cls.company_b.id,
            company_ids=[(6, 0, cls.company_b.ids)],
        )
        cls.period = (
            fields.Date.to_string(cls.today.replace(day=1)),
            fields.Date.to_string(cls.today),
        )

    def _sold_by(self, user, qty):
        order = self._order(qty=qty)
        order.user_id = user
        order._update_programs_and_rewards()
        order.action_confirm()
        return order

    def test_salesperson_reads_only_their_orders_and_no_kpis(self):
        mine = self._sold_by(self.seller, qty=2)
        self._sold_by(self.colleague, qty=7)
        self._confirmed_order(qty=3)
        Report = self.env["loyalty.report.order"]
        self.assertGreaterEqual(Report.search_count([]), 3)
        as_seller = Report.with_user(self.seller)
        self.assertEqual(as_seller.search([]).mapped("name"), [mine.name])
        self.assertEqual(
            as_seller._read_group([], ["is_member"], ["amount:sum"]),
            [(True, 40.0)],
        )
        program = self.program.with_user(self.seller)
        with self.assertRaisesRegex(AccessError, "all sales orders"):
            program.get_loyalty_kpis(*self.period)
        with self.assertRaisesRegex(AccessError, "all sales orders"):
            program.get_loyalty_dashboard_data()
        with self.assertRaises(AccessError):
            program._loyalty_kpi_scope(*self.period, channel="sale")

    def test_sales_manager_reads_the_sales_channel(self):
        """ "All Documents" reads every sales order, not the POS orders: the
        dashboard opens on the sales channel, the KPIs of both channels are
        refused."""
        self._sold_by(self.seller, qty=2)
        program = self.program.with_user(self.sales_manager)
        with self.assertRaisesRegex(AccessError, "POS"):
            program.get_loyalty_kpis(*self.period)
        data = program.get_loyalty_dashboard_data()
        self.assertEqual(data["channel"], "sale")
        scope = self.program._loyalty_kpi_scope(
            data["date_from"], data["date_to"], channel="sale"
        )
        self.assertEqual(data["kpis"], self.env["loyalty.kpi.engine"]._kpis(scope))
        Report = self.env["loyalty.report.order"]
        self.assertEqual(
            Report.with_user(self.sales_manager).search([]),
            Report.search([("channel", "=", "sale")]),
        )

    def test_another_company_never_sees_these_figures(self):
        self._sold_by(self.seller, qty=2)
        as_b = self.program.with_user(self.user_b)
        with self.assertRaises(AccessError):
            as_b.get_loyalty_kpis(*self.period)
        with self.assertRaises(AccessError):
            as_b.env["loyalty.program"].get_loyalty_dashboard_data(
                program_id=self.program.id
            )
        self.assertEqual(
            as_b.env["loyalty.program"].get_loyalty_dashboard_data(),
            {"program": False},
            "company B has no membership program",
        )
        self.assertFalse(as_b.env["loyalty.report.order"].search([]))
        # A program shared by the companies: company B's figures only.
        self.program.company_id = False
        kpis = as_b.get_loyalty_kpis(*self.period)
        self.assertEqual(kpis["aov_members"], 0.0)
        self.assertEqual(kpis["aov_non_members"], 0.0)
        self.assertEqual(kpis["member_revenue_share"], 0.0)
        self.assertEqual(kpis["points_liability"], 0.0)
        with self.assertRaises(AccessError):
            as_b.env["loyalty.program"].get_loyalty_dashboard_data(
                program_id=self.program.id, company_ids=[self.env.company.id]
            )

    def test_kpi_models_read_with_the_callers_rights(self):
        """The KPI models are the ORM's: read like the reports they feed
        (the order facts of the orders a user may read, in their companies;
        scores by loyalty users), written by the engine only."""
        self._sold_by(self.seller, qty=2)
        self.env["loyalty.report.points"]._cron_fold_kpi()
        self.Partner._cron_loyalty_segments()
        Facts = self.env["loyalty.kpi.order"]
        mine = Facts.search([("company_id", "=", self.env.company.id)])
        self.assertTrue(mine)
        self.assertFalse(Facts.with_user(self.seller).search([]), "own documents")
        self.assertEqual(Facts.with_user(self.sales_manager).search([]), mine)
        self.assertFalse(Facts.with_user(self.user_b).search([]), "other company")
        manager = self.env.ref("base.user_admin")
        Points = self.env["loyalty.kpi.points.daily"]
        self.assertEqual(
            Points.with_user(manager).search([]),
            Points.search([("company_id", "in", [self.env.company.id, False])]),
        )
        self.assertFalse(Points.with_user(self.user_b).search([]))
        self.assertTrue(
            self.env["loyalty.member.score"].with_user(self.seller).search([])
        )
        for model in (
            "loyalty.kpi.order",
            "loyalty.kpi.customer",
            "loyalty.kpi.points.daily",
            "loyalty.kpi.member.activity",
            "loyalty.kpi.watermark",
            "loyalty.member.score",
        ):
            Model = self.env[model].with_user(manager)
            Model.check_access("read")
            for operation in ("write", "create", "unlink"):
                with self.assertRaises(AccessError, msg=f"{model} {operation}"):
                    Model.check_access(operation)
