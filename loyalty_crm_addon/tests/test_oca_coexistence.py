# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Command
from odoo.tests import new_test_user, tagged

from ..hooks import pre_init_hook
from .common import LoyaltyCrmCommon


# Not "standard": these tests need OCA's loyalty and mailing addons
# (oca-requirements.txt), installed by the OCA suite of `./dev test`, which
# selects them with the tag loyalty_oca.
@tagged("post_install", "-at_install", "-standard", "loyalty_oca")
class TestOcaCoexistence(LoyaltyCrmCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env,
            login="lca_oca_manager",
            groups="sales_team.group_sale_manager,"
            "mass_mailing.group_mass_mailing_user,"
            "loyalty_crm_addon.group_loyalty_manager",
        )
        cls.salesperson = new_test_user(
            cls.env,
            login="lca_oca_salesperson",
            groups="sales_team.group_sale_salesman,loyalty_crm_addon.group_loyalty_user",
        )
        cls.promotion = cls.env["loyalty.program"].create(
            {
                "name": "OCA Spring Promotion",
                "program_type": "promotion",
                "trigger": "auto",
                "applies_on": "current",
                "rule_ids": [Command.create({"minimum_qty": 1})],
                "reward_ids": [
                    Command.create(
                        {
                            "reward_type": "discount",
                            "discount": 10,
                            "discount_mode": "percent",
                            "discount_applicability": "order",
                        }
                    )
                ],
            }
        )
        cls.other = cls.env["res.partner"].create(
            {"name": "Oscar Other", "email": "oscar@example.com"}
        )
        cls.other.action_loyalty_enroll()

    def _sales_only_settings(self):
        """(OCA addon, user, values of a program) only Sales honours. Salesmen
        limits are for administrators (loyalty_limit's access rights)."""
        admin = self.env.ref("base.user_admin")
        return [
            ("loyalty_limit", self.manager, {"max_customer_application": 1}),
            ("loyalty_limit", self.manager, {"salesmen_strict_limit": True}),
            (
                "loyalty_limit",
                admin,
                {
                    "salesmen_limit_ids": [
                        Command.create(
                            {
                                "user_id": self.salesperson.id,
                                "max_salesman_application": 2,
                            }
                        )
                    ]
                },
            ),
            (
                "loyalty_partner_applicability",
                self.manager,
                {"partner_ids": [Command.set(self.member.ids)]},
            ),
            (
                "loyalty_partner_applicability",
                self.manager,
                {"partner_domain": "[('customer_rank', '>', 0)]"},
            ),
            (
                "loyalty_criteria_multi_product",
                self.manager,
                {"rule_ids": [Command.create({"loyalty_criteria": "multi_product"})]},
            ),
        ]

    def test_sales_only_settings_refused_on_membership_programs(self):
        for addon, user, values in self._sales_only_settings():
            with self.subTest(addon=addon, values=list(values)):
                with self.assertRaises(ValidationError) as caught:
                    self.program.with_user(user).write(values)
                self.assertIn(addon, str(caught.exception))
                self.assertIn(self.program.name, str(caught.exception))
        # A rule of the membership program switched to multi-product criteria.
        with self.assertRaises(ValidationError):
            self.program.rule_ids.with_user(self.manager).write(
                {"loyalty_criteria": "multi_product"}
            )
        # A new membership program with one of them.
        with self.assertRaises(ValidationError):
            self.env["loyalty.program"].with_user(self.manager).create(
                {
                    "name": "Second Club",
                    "program_type": "loyalty",
                    "max_customer_application": 3,
                }
            )
        self.assertFalse(self.program.max_customer_application)
        self.assertFalse(self.program.partner_ids)
        self.assertEqual(self.program.rule_ids.loyalty_criteria, "domain")

    def test_sales_only_settings_allowed_on_promotions(self):
        for _addon, user, values in self._sales_only_settings():
            self.promotion.with_user(user).write(values)
        self.assertEqual(self.promotion.max_customer_application, 1)
        self.assertTrue(self.promotion.salesmen_strict_limit)
        self.assertIn(
            "multi_product", self.promotion.rule_ids.mapped("loyalty_criteria")
        )
        # ... until the promotion becomes a membership program.
        with self.assertRaises(ValidationError):
            self.promotion.with_user(self.manager).program_type = "loyalty"

    def test_install_refused_where_membership_programs_use_them(self):
        self.assertTrue(pre_init_hook(self.env))
        self.env.cr.execute(
            "UPDATE loyalty_program SET max_customer_application = 2 WHERE id = %s",
            [self.program.id],
        )
        self.program.invalidate_recordset()
        with self.assertRaises(UserError) as caught:
            pre_init_hook(self.env)
        self.assertIn("loyalty_limit", str(caught.exception))
        self.assertIn(self.program.name, str(caught.exception))

    def test_sale_loyalty_criteria_multi_product_is_refused(self):
        """It refuses the code of every program without rules (the reward
        catalog's coupons): the addon's manifest excludes it."""
        module = self.env["ir.module.module"].search(
            [("name", "=", "sale_loyalty_criteria_multi_product")]
        )
        self.assertEqual(module.state, "uninstalled", "on the addons path")
        with self.assertRaises(UserError) as caught:
            module.with_user(self.env.ref("base.user_admin")).button_install()
        self.assertIn("incompatible", str(caught.exception))
        module.invalidate_recordset()
        self.assertEqual(module.state, "uninstalled")

    def test_program_mailing_respects_loyalty_consent(self):
        """loyalty_mass_mailing's mailing of a program is a loyalty mailing:
        members who opted out of loyalty emails are left out."""
        action = self.program.with_user(self.manager).action_mailing_count()
        mailing = self.env["mailing.mailing"].browse(action["res_id"])
        self.assertEqual(mailing.program_id, self.program)
        self.assertTrue(mailing.loyalty_consent_required)
        mailing.mailing_domain = repr([("id", "in", (self.member | self.other).ids)])
        self.assertTrue(mailing.loyalty_consent_required)
        self.assertEqual(
            sorted(mailing._get_remaining_recipients()),
            sorted((self.member | self.other).ids),
        )
        self.member.loyalty_set_consent("out", "sale")
        self.assertEqual(mailing._get_remaining_recipients(), self.other.ids)

    def test_buyer_order_with_reward_posts_once_with_line_links(self):
        """sale_commercial_partner stores the order's customer entity and
        sale_loyalty_order_line_link rewrites the order's lines when a reward
        is on it: the ledger posts the order's points once, on the card of
        the member, the commercial partner."""
        company = self.env["res.partner"].create(
            {"name": "Member Corp", "is_company": True, "email": "corp@example.com"}
        )
        company_card = self.env["loyalty.card"].browse(company.action_loyalty_enroll())
        buyer = self.env["res.partner"].create(
            {"name": "Bea Buyer", "parent_id": company.id, "email": "bea@example.com"}
        )
        company.loyalty_adjust_points(150, "Welcome gift")
        order = self._order(partner=buyer)
        order.user_id = self.salesperson
        order = order.with_user(self.salesperson)
        order._update_programs_and_rewards()
        result = order._apply_program_reward(self.reward, company_card)
        self.assertNotIn("error", result)
        order._update_programs_and_rewards()
        self.assertEqual(order.commercial_partner_id, company)
        reward_line = order.order_line.filtered("reward_id")
        self.assertEqual(reward_line.loyalty_program_id, self.program)
        self.assertEqual((order.order_line - reward_line).reward_line_ids, reward_line)
        order.action_confirm()
        lines = order.sudo().loyalty_ledger_line_ids
        self.assertEqual(sorted(lines.mapped("points")), [-100, 100])
        self.assertEqual(lines.card_id, company_card)
        self.assertEqual(company_card.points, 150)
        self.assertLedgerMatches(company_card)
        self.assertEqual(self.program.related_so_count, 1)
