# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import UserError


class LoyaltyRewardClaimWizard(models.TransientModel):
    _name = "loyalty.reward.claim.wizard"
    _description = "Redeem a catalog reward for a member"

    partner_id = fields.Many2one("res.partner", string="Member", required=True)
    program_ids = fields.Many2many(
        "loyalty.program", compute="_compute_program_ids", string="Memberships"
    )
    reward_id = fields.Many2one(
        "loyalty.reward",
        required=True,
        domain="[('program_id', 'in', program_ids)]",
    )
    reward_type = fields.Selection(related="reward_id.reward_type")
    points = fields.Float(related="reward_id.required_points", string="Cost")
    balance = fields.Float(compute="_compute_balance", string="Available Points")
    sale_order_id = fields.Many2one(
        "sale.order",
        string="Add to Quotation",
        domain="[('partner_id', 'child_of', partner_id), "
        "('state', 'in', ('draft', 'sent'))]",
        help="Apply the reward on this quotation at once; otherwise the member "
        "gets a coupon code.",
    )
    note = fields.Text()

    @api.depends("partner_id")
    def _compute_program_ids(self):
        for wizard in self:
            wizard.program_ids = (
                self.env["loyalty.card"]
                .sudo()
                .search(
                    [
                        ("partner_id", "=", wizard.partner_id.commercial_partner_id.id),
                        ("program_type", "=", "loyalty"),
                    ]
                )
                .program_id
            )

    @api.depends("partner_id", "reward_id", "program_ids")
    def _compute_balance(self):
        for wizard in self:
            program = (wizard.reward_id.program_id or wizard.program_ids[:1])._origin
            card = (
                self.env["loyalty.card"]
                .sudo()
                .search(
                    [
                        ("partner_id", "=", wizard.partner_id.commercial_partner_id.id),
                        ("program_id", "=", program.id),
                    ],
                    limit=1,
                )
            )
            wizard.balance = card.points

    def action_claim(self):
        self.ensure_one()
        self.partner_id._loyalty_check_group("loyalty_crm_addon.group_loyalty_user")
        order = self.sale_order_id
        if order and self.reward_id.reward_type not in ("discount", "product"):
            raise UserError(
                self.env._("Only discounts and free products go on a quotation.")
            )
        claim = self.env["loyalty.reward.claim"]._loyalty_claim(
            self.partner_id,
            self.reward_id,
            "contact",
            note=self.note or False,
            sale_order_id=order.id,
        )
        if order:
            claim._loyalty_apply_on_order(order)
        return {
            "type": "ir.actions.act_window",
            "res_model": "loyalty.reward.claim",
            "res_id": claim.id,
            "view_mode": "form",
            "target": "current",
        }
