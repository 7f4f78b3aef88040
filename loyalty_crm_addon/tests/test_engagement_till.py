# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import uuid
from datetime import timedelta

import odoo.tests
from odoo import fields
from odoo.exceptions import AccessError, UserError

from .common import LoyaltyPosCase


@odoo.tests.tagged("post_install", "-at_install")
class TestLoyaltyEngagementTill(LoyaltyPosCase):
    """Engagement at the till: the member panel's badges, nearest
    achievement and running campaigns; the customer's answer to "would
    you recommend us?", once per order.

    The tour is in static/tests/tours/loyalty_crm_till_engagement_tour.js.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        today = fields.Date.context_today(cls.env["loyalty.campaign"])
        Achievement = cls.env["loyalty.achievement"].sudo()
        cls.first_steps, cls.streak = Achievement.create(
            [
                {
                    "name": "First Steps",
                    "program_id": cls.program.id,
                    "goal": "orders",
                    "target": 1,
                    "icon": "fa-rocket",
                },
                {
                    "name": "Streak Master",
                    "program_id": cls.program.id,
                    "goal": "orders",
                    "target": 5,
                    "icon": "fa-fire",
                },
            ]
        )
        cls.env["loyalty.achievement.member"].sudo().create(
            [
                {
                    "partner_id": cls.earn_member.id,
                    "achievement_id": cls.first_steps.id,
                    "program_id": cls.program.id,
                    "period": "all",
                    "progress": 1,
                    "state": "done",
                    "date_done": fields.Datetime.now(),
                },
                {
                    "partner_id": cls.earn_member.id,
                    "achievement_id": cls.streak.id,
                    "program_id": cls.program.id,
                    "period": "all",
                    "progress": 3,
                },
            ]
        )
        Campaign = cls.env["loyalty.campaign"].sudo()
        cls.campaign = Campaign.create(
            {
                "name": "Double points on Widgets",
                "program_id": cls.program.id,
                "date_from": today - timedelta(days=1),
                "date_to": today + timedelta(days=3),
                "multiplier": 2.0,
                "channel": "pos",
                "product_ids": cls.product.ids,
            }
        )
        # Not at the till: a sales-only campaign, one that has ended.
        Campaign.create(
            [
                {
                    "name": "Sales only",
                    "program_id": cls.program.id,
                    "date_from": today - timedelta(days=1),
                    "date_to": today,
                    "multiplier": 5.0,
                    "channel": "sale",
                },
                {
                    "name": "Over",
                    "program_id": cls.program.id,
                    "date_from": today - timedelta(days=9),
                    "date_to": today - timedelta(days=2),
                    "multiplier": 5.0,
                },
            ]
        )

    def _info(self, partner):
        return partner.with_user(self.pos_user).loyalty_pos_member_info(
            self.main_pos_config.id
        )[str(partner.id)]

    def _feedback(self, partner):
        return self.env["loyalty.feedback"].search([("partner_id", "=", partner.id)])

    def test_member_panel_engagement(self):
        info = self._info(self.earn_member)
        self.assertEqual(info["badge_count"], 1)
        self.assertEqual(
            [(b["name"], b["icon"]) for b in info["badges"]],
            [("First Steps", "fa-rocket")],
        )
        self.assertEqual(
            info["next_achievement"]["label"], "2 more orders for Streak Master"
        )
        self.assertEqual(info["next_achievement"]["progress_rate"], 60)
        self.assertEqual(
            [(c["name"], c["multiplier"], c["product_ids"]) for c in info["campaigns"]],
            [("Double points on Widgets", 2.0, self.product.ids)],
        )
        self.assertIn("Double points on Widgets", info["campaigns"][0]["label"])
        # Another member: no badge, the same campaigns.
        other = self._info(self.redeem_member)
        self.assertEqual(other["badge_count"], 0)
        self.assertEqual(other["badges"], [])
        self.assertFalse(other["next_achievement"])
        self.assertEqual(len(other["campaigns"]), 1)
        # A campaign of another tier is not this member's.
        tier = (
            self.env["loyalty.tier"]
            .sudo()
            .create(
                {"name": "LCA Gold", "program_id": self.program.id, "threshold": 9999}
            )
        )
        self.campaign.sudo().tier_ids = tier
        self.assertEqual(self._info(self.earn_member)["campaigns"], [])

    def test_member_panel_engagement_in_one_go(self):
        """The standing of the partners a list shows costs the same queries
        for one member as for several."""
        partners = self.earn_member | self.redeem_member | self.refund_member
        Partner = self.env["res.partner"].with_user(self.pos_user)
        Partner.browse(self.earn_member.id).loyalty_pos_member_info(
            self.main_pos_config.id
        )
        self.env.invalidate_all()
        before = self.env.cr.sql_log_count
        Partner.browse(self.earn_member.id).loyalty_pos_member_info(
            self.main_pos_config.id
        )
        one = self.env.cr.sql_log_count - before
        self.env.invalidate_all()
        before = self.env.cr.sql_log_count
        Partner.browse(partners.ids).loyalty_pos_member_info(self.main_pos_config.id)
        three = self.env.cr.sql_log_count - before
        self.assertLessEqual(three, one + 6)

    def test_nps_once_per_order(self):
        order_uuid = str(uuid.uuid4())
        member = self.earn_member.with_user(self.pos_user)
        config_id = self.main_pos_config.id
        first = member.loyalty_pos_record_feedback(9, order_uuid, config_id)
        again = member.loyalty_pos_record_feedback(3, order_uuid, config_id)
        self.assertEqual(first, again)
        feedback = self._feedback(self.earn_member)
        self.assertRecordValues(
            feedback,
            [
                {
                    "score": 9,
                    "channel": "pos",
                    "reference": f"pos:{order_uuid}",
                    "partner_id": self.earn_member.id,
                }
            ],
        )
        # Another order, another answer.
        member.loyalty_pos_record_feedback(10, str(uuid.uuid4()), config_id)
        self.assertEqual(len(self._feedback(self.earn_member)), 2)

    def test_nps_refused(self):
        member = self.earn_member.with_user(self.pos_user)
        config_id = self.main_pos_config.id
        for score, ref in ((11, "a-1"), (-1, "a-2"), ("9", "a-3"), (9, "bad ref!")):
            with self.assertRaises(UserError):
                member.loyalty_pos_record_feedback(score, ref, config_id)
        # The order of another customer is not this customer's answer.
        data = self._order_data(self.redeem_member)
        self.env["pos.order"].with_user(self.pos_user).sync_from_ui([data])
        with self.assertRaises(UserError):
            member.loyalty_pos_record_feedback(8, data["uuid"], config_id)
        clerk = self.env["res.users"].create(
            {
                "name": "LCA NPS Clerk",
                "login": "lca_nps_clerk",
                "groups_id": [(6, 0, [self.env.ref("base.group_user").id])],
            }
        )
        with self.assertRaises(AccessError):
            self.earn_member.with_user(clerk).loyalty_pos_record_feedback(
                8, str(uuid.uuid4()), config_id
            )
        self.assertFalse(self._feedback(self.earn_member))

    def test_engagement_tour(self):
        self.start_pos_tour("loyalty_crm_engagement_till")
        order = self._member_order(self.earn_member)
        self.assertIn(order.state, ("paid", "done", "invoiced"))
        # The till showed +100 (50.00 of widgets, double points): the server
        # posted as much.
        self.assertAlmostEqual(order.loyalty_points_earned, 100.0)
        self.assertRecordValues(
            self._feedback(self.earn_member),
            [{"score": 9, "channel": "pos", "reference": f"pos:{order.uuid}"}],
        )
