# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from ast import literal_eval
from datetime import timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.tests import new_test_user, tagged
from odoo.tools.safe_eval import safe_eval

from ..hooks import post_init_hook
from .common import LoyaltyCrmCommon, membership_program_vals


@tagged("post_install", "-at_install")
class TestStaffExperience(LoyaltyCrmCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.owner = new_test_user(
            cls.env,
            login="loyalty_owner",
            groups="base.group_system,loyalty_crm_addon.group_loyalty_manager,"
            "sales_team.group_sale_manager",
        )
        cls.silver, cls.gold = cls.env["loyalty.tier"].create(
            [
                {
                    "name": "Silver",
                    "program_id": cls.program.id,
                    "sequence": 1,
                    "threshold": 50,
                },
                {
                    "name": "Gold",
                    "program_id": cls.program.id,
                    "sequence": 2,
                    "threshold": 150,
                },
            ]
        )

    def _web_client_eval(self, expression, user):
        """Evaluate an action's domain or context as the web client does: its
        evaluation context knows the user and dates, not ``ref``."""
        if not expression:
            return {}
        if not isinstance(expression, str):
            return expression
        return safe_eval(
            expression,
            {
                "uid": user.id,
                "context_today": lambda: __import__("datetime").date.today(),
                "datetime": __import__("odoo.tools.safe_eval").tools.safe_eval.datetime,
                "relativedelta": __import__(
                    "dateutil.relativedelta"
                ).relativedelta.relativedelta,
                "current_date": "2026-01-01",
                "active_id": False,
                "active_ids": [],
                "allowed_company_ids": user.company_ids.ids,
            },
        )

    def test_every_menu_opens(self):
        """A shop owner opens every Loyalty menu: each action's views load
        and its list searches without error."""
        env = self.env(user=self.owner)
        menus = env["ir.ui.menu"].search(
            [
                (
                    "id",
                    "child_of",
                    self.env.ref("loyalty_crm_addon.menu_loyalty_crm_root").id,
                )
            ]
        )
        opened = 0
        for menu in menus.filtered("action"):
            action = menu.action.sudo()
            if action._name != "ir.actions.act_window":
                continue
            with self.subTest(menu=menu.complete_name):
                data = action.read()[0]
                context = self._web_client_eval(data["context"], self.owner)
                domain = self._web_client_eval(data["domain"], self.owner) or []
                model = env[data["res_model"]].with_context(**context)
                views = [(view_id, view_type) for view_id, view_type in data["views"]]
                if not any(vt == "search" for _v, vt in views):
                    views.append(
                        (
                            data.get("search_view_id") and data["search_view_id"][0],
                            "search",
                        )
                    )
                model.get_views(views)
                if data["res_id"]:
                    model.browse(data["res_id"]).read()
                else:
                    model.web_search_read(domain, {"display_name": {}}, limit=80)
                opened += 1
        self.assertGreaterEqual(opened, 8)

    def test_salesperson_cancels_order_that_used_a_reward(self):
        """A salesperson who sees only their own documents cancels the order
        of a member that spent points: the points come back."""
        salesperson = new_test_user(
            self.env, login="own_docs_seller", groups="sales_team.group_sale_salesman"
        )
        self._give_points(150)
        order = self._order()
        order.user_id = salesperson
        order._update_programs_and_rewards()
        self.assertNotIn("error", order._apply_program_reward(self.reward, self.card))
        order.action_confirm()
        self.assertEqual(self.card.points, 150)
        order.with_user(salesperson)._action_cancel()
        self.assertEqual(order.state, "cancel")
        self.assertEqual(self.card.points, 150)
        self.assertLedgerMatches()

    def test_salesperson_cannot_remove_points_of_others_orders(self):
        salesperson = new_test_user(
            self.env, login="own_docs_seller2", groups="sales_team.group_sale_salesman"
        )
        other = new_test_user(
            self.env, login="other_seller", groups="sales_team.group_sale_salesman"
        )
        order = self._order()
        order.user_id = other
        order._update_programs_and_rewards()
        order.action_confirm()
        self.assertTrue(order.coupon_point_ids)
        from odoo.exceptions import AccessError

        with self.assertRaises(AccessError):
            order.coupon_point_ids.with_user(salesperson).unlink()

    def test_members_list_and_kanban_show_balance_tier_activity(self):
        self._confirmed_order()
        action = self.env.ref("loyalty_crm_addon.action_loyalty_members")
        views = {v.view_mode: v.view_id for v in action.view_ids}
        for mode in ("list", "kanban"):
            arch = self.env["res.partner"].get_view(views[mode].id, mode)["arch"]
            for field in (
                "loyalty_balance",
                "loyalty_tier_id",
                "loyalty_last_activity_date",
            ):
                self.assertIn(f'name="{field}"', arch, f"{mode} shows {field}")
        self.assertEqual(self.member.loyalty_member_tier_id, self.silver)
        self.assertEqual(self.member.loyalty_member_tier_id, self.card.loyalty_tier_id)
        self.assertEqual(self.member.loyalty_tier_id, self.silver)
        for fname in ("loyalty_member_tier_id", "loyalty_tier_id"):
            groups = self.env["res.partner"]._read_group(
                [("loyalty_card_ids", "!=", False)], [fname], ["__count"]
            )
            self.assertIn((self.silver, 1), groups, "members group by tier")
            self.assertIn(
                self.member,
                self.env["res.partner"].search([(fname, "=", self.silver.id)]),
            )

    def test_points_button_comes_first(self):
        arch = self.env["res.partner"].get_view(
            self.env.ref("base.view_partner_form").id, "form"
        )["arch"]
        from lxml import etree

        box = etree.fromstring(arch).xpath("//div[@name='button_box']")[0]
        self.assertEqual(box[0].get("name"), "action_open_loyalty_ledger")

    def test_points_analysis_is_a_graph_by_month_type_source_tier(self):
        self._confirmed_order()
        action = self.env.ref("loyalty_crm_addon.action_loyalty_points_analysis")
        self.assertEqual(action.view_mode.split(",")[0], "graph")
        self.assertEqual(
            self.env.ref("loyalty_crm_addon.menu_loyalty_reporting_ledger").action,
            action,
        )
        groups = self.Ledger._read_group(
            [("card_id", "=", self.card.id)],
            ["date:month", "entry_type", "source", "member_tier_id"],
            ["points:sum"],
        )
        self.assertEqual(groups[0][3], self.silver)
        self.assertEqual(groups[0][4], 100)

    def _to_gold_and_cancel(self, process_before_cancel):
        Event = self.env["loyalty.member.event"]
        self._confirmed_order()
        order = self._confirmed_order()
        self.assertEqual(self.card.loyalty_tier_id, self.gold)
        upgrade = Event.search(
            [
                ("card_id", "=", self.card.id),
                ("event_type", "=", "tier_upgrade"),
                ("tier_id", "=", self.gold.id),
            ]
        )
        if process_before_cancel:
            Event._cron_process_events()
            self.assertEqual(upgrade.state, "done")
            self.assertTrue(
                [s for s in self.member.activity_ids.mapped("summary") if "Gold" in s],
                "the upgrade opened a follow-up",
            )
        order._action_cancel()
        return upgrade

    def test_cancelled_order_reverts_same_day_upgrade_before_rules_ran(self):
        upgrade = self._to_gold_and_cancel(process_before_cancel=False)
        self.assertEqual(
            self.card.loyalty_tier_id, self.silver, "back at once, not at the review"
        )
        self.assertEqual(self.member.loyalty_member_tier_id, self.silver)
        self.assertEqual(upgrade.state, "cancel", "no congratulation goes out")
        self.assertIn("upgrade reverted", self.member.message_ids[0].body)

    def test_cancelled_order_closes_the_upgrade_followup(self):
        self._to_gold_and_cancel(process_before_cancel=True)
        self.assertEqual(self.card.loyalty_tier_id, self.silver)
        self.env["loyalty.member.event"]._cron_process_events()
        summaries = self.member.activity_ids.mapped("summary")
        self.assertFalse([s for s in summaries if "Gold" in s], summaries)
        self.assertFalse(
            [s for s in summaries if "moved down" in s], "no contradictory activity"
        )
        self.assertFalse(
            self.env["loyalty.member.event"].search(
                [("card_id", "=", self.card.id), ("event_type", "=", "tier_downgrade")]
            )
        )
        # the nightly review finds nothing left to change
        self.assertFalse(self.card._loyalty_apply_tiers(allow_downgrade=True))

    def test_shipped_rules_say_what_they_do_and_why_code(self):
        search = self.env["base.automation"].get_view(
            self.env.ref("base_automation.view_base_automation_search").id, "search"
        )["arch"]
        self.assertIn('name="loyalty"', search, "a Loyalty filter on automation rules")
        rules = (
            self.env["base.automation"]
            .with_context(active_test=False)
            .search([("model_id.model", "=like", "loyalty.%")])
        )
        self.assertGreaterEqual(len(rules), 10)
        for rule in rules:
            with self.subTest(rule=rule.name):
                self.assertTrue(rule.name.startswith("Loyalty"))
                self.assertTrue(rule.description)
                for action in rule.action_server_ids.filtered(
                    lambda a: a.state == "code"
                ):
                    self.assertIn("Execute Code", rule.description)
                    self.assertEqual(
                        len(action.code.strip().splitlines()), 1, "one method call"
                    )
                    self.assertNotIn("activity", action.code, "a no-code action")
                for action in rule.action_server_ids.filtered(
                    lambda a: a.state == "mail_post"
                ):
                    self.assertEqual(action.mail_post_method, "email")
                    self.assertEqual(action.template_id.model, "loyalty.member.event")

    def _sent(self, subject_part):
        self.env["loyalty.member.event"]._cron_process_events()
        return self.env["mail.mail"].search([("subject", "ilike", subject_part)])

    def test_signup_bonus_once_through_the_ledger_with_its_email(self):
        self.program.loyalty_signup_bonus = 50
        newcomer = self.env["res.partner"].create(
            {"name": "Nina New", "email": "nina@example.com"}
        )
        card = self.env["loyalty.card"].browse(newcomer.action_loyalty_enroll())
        newcomer.action_loyalty_enroll()
        bonus = self._lines(card, entry_type="bonus")
        self.assertEqual(bonus.points, 50)
        self.assertEqual(card.points, 50)
        self.assertLedgerMatches(card)
        mails = self._sent("sign-up bonus")
        self.assertEqual(mails.recipient_ids, newcomer)
        self.assertIn(">50<", mails.body_html, "points shown as a person writes them")

    def test_birthday_bonus_once_a_year(self):
        self.program.loyalty_birthday_bonus = 100
        today = __import__("odoo").fields.Date.today()
        self.member.loyalty_birthday = (
            today.replace(year=today.year - 30)
            if not (today.month == 2 and today.day == 29)
            else today.replace(year=today.year - 28)
        )
        Event = self.env["loyalty.member.event"]
        Event._cron_detect_birthdays()
        Event._cron_detect_birthdays()
        bonus = self._lines(entry_type="bonus")
        self.assertEqual(bonus.points, 100)
        self.assertEqual(bonus.reference, f"birthday:{self.member.id}:{today.year}")
        self.assertEqual(self.card.points, 100)
        self.assertLedgerMatches()
        self.assertTrue(self._sent("birthday gift"))

    def test_mailings_belong_to_the_responsible_and_target_recent_upgrades(self):
        responsible = new_test_user(
            self.env,
            login="loyalty_marketer",
            groups="mass_mailing.group_mass_mailing_user",
        )
        self.program.loyalty_responsible_id = responsible
        welcome = self.env.ref("loyalty_crm_addon.mailing_loyalty_tier_welcome")
        self.assertEqual(
            welcome.user_id, responsible, "in the responsible's My Mailings"
        )
        veteran = self.env["res.partner"].create(
            {"name": "Victor Veteran", "email": "v@example.com"}
        )
        with freeze_time(fields.Datetime.now() - timedelta(days=60)):
            veteran.action_loyalty_enroll()
            self._confirmed_order(partner=veteran)
        self._confirmed_order()
        self.assertTrue(veteran.loyalty_tier_id and self.member.loyalty_tier_id)
        recipients = self.env["res.partner"].search(
            literal_eval(welcome.mailing_domain)
        )
        self.assertIn(self.member, recipients)
        self.assertNotIn(veteran, recipients, "upgraded two months ago")

    def test_numbers_for_people_and_labels_where_users_look(self):
        self.member.loyalty_adjust_points(150, "Goodwill")
        body = self.member.message_ids[0].body
        self.assertIn("adjusted by +150:", body)
        self.assertNotIn("150.0", body)
        from lxml import etree

        arch = etree.fromstring(
            self.env["loyalty.program"].get_view(
                self.env.ref("loyalty.loyalty_program_view_form").id, "form"
            )["arch"]
        )
        group_of = {
            field: arch.xpath(f"//field[@name='{field}']/ancestor::group[1]")[0].get(
                "string"
            )
            for field in (
                "loyalty_inactivity_days",
                "loyalty_points_validity_days",
                "loyalty_signup_bonus",
                "loyalty_birthday_bonus",
            )
        }
        self.assertEqual(group_of["loyalty_inactivity_days"], "Member Follow-up")
        self.assertEqual(group_of["loyalty_points_validity_days"], "Points Life")
        self.assertEqual(group_of["loyalty_signup_bonus"], "Bonuses")

    def test_points_read_as_people_write_them(self):
        """Whole points without decimals, a thousands separator, decimals
        only when the points have them: chatter, emails, portal, cards."""
        self.member.loyalty_adjust_points(1250, "Goodwill")
        self.assertIn("adjusted by +1,250:", self.member.message_ids[0].body)
        name = self.card.point_name
        self.assertEqual(self.card._format_points(1250), f"1,250 {name}")
        self.assertEqual(self.card._format_points(12.5), f"12.50 {name}")
        self.assertEqual(self.card.points_display, f"1,250 {name}")
        widget = self.env["ir.qweb.field.loyalty_points"]
        self.assertEqual(widget.value_to_html(1250.0, {}), "1,250")
        self.assertEqual(widget.value_to_html(12.5, {}), "12.50")
        self.assertEqual(widget.value_to_html(1000000.0, {}), "1,000,000")

        Event = self.env["loyalty.member.event"]
        event = Event._emit(
            [
                Event._prepare_event(
                    self.card,
                    "points_reached",
                    "points:test:people",
                    points=1000.0,
                    description="1,000 points reached",
                )
            ]
        )
        template = self.env.ref(
            "loyalty_crm_addon.mail_template_loyalty_points_reached"
        )
        body = template._render_field("body_html", event.ids)[event.id]
        self.assertIn(">1,000<", body)
        self.assertIn(">1,250<", body)
        self.assertNotIn("1,250.0", body)
        self.assertNotIn("1250.0", body)
        half = self.env["res.partner"].create(
            {"name": "Half", "email": "h@example.com"}
        )
        half.action_loyalty_enroll()
        half.loyalty_adjust_points(12.5, "Goodwill")
        event.sudo().partner_id = half
        body = template._render_field("body_html", event.ids)[event.id]
        self.assertIn(">12.50<", body)

    def test_native_demo_program_gets_no_opening_balance(self):
        native = self.env["loyalty.program"].create(
            membership_program_vals("Loyalty Program")
        )
        self.env["ir.model.data"].create(
            {
                "module": "pos_loyalty",
                "name": "k11_test_native_program",
                "model": "loyalty.program",
                "res_id": native.id,
            }
        )
        shop = self.env["loyalty.program"].create(membership_program_vals("Shop Club"))
        Card = self.env["loyalty.card"]
        native_card, shop_card = Card.create(
            [
                {"program_id": native.id, "partner_id": self.partner.id},
                {"program_id": shop.id, "partner_id": self.partner.id},
            ]
        )
        self.env.cr.execute(
            "UPDATE loyalty_card SET points = 99900 WHERE id = %s", [native_card.id]
        )
        self.env.cr.execute(
            "UPDATE loyalty_card SET points = 40 WHERE id = %s", [shop_card.id]
        )
        self.env.invalidate_all()
        post_init_hook(self.env)
        self.assertFalse(
            self._lines(native_card), "Odoo's demo card stays out of the ledger"
        )
        self.assertEqual(self._lines(shop_card).points, 40)
        self.assertNotIn(native_card, self.Ledger._get_inconsistent_cards())
