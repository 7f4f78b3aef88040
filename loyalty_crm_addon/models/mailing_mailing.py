# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.osv import expression
from odoo.tools import SQL


class MailingMailing(models.Model):
    """Consent gate of loyalty mailings: the recipients of a loyalty mailing
    never include members who opted out of loyalty communications."""

    _inherit = "mailing.mailing"

    loyalty_consent_required = fields.Boolean(
        string="Loyalty Mailing",
        compute="_compute_loyalty_consent_required",
        store=True,
        readonly=False,
        help="Leaves out the members who opted out of loyalty communications. "
        "Set for mailings to loyalty lists, filtering on loyalty fields or "
        "linked to a loyalty program.",
    )

    def _loyalty_program_field(self):
        """The mailing's loyalty program field (OCA's loyalty_mass_mailing
        links mailings to programs; not a dependency), or None."""
        field = self._fields.get("program_id")
        return field.name if field and field.comodel_name == "loyalty.program" else None

    @api.depends(
        lambda self: [
            "mailing_domain",
            "contact_list_ids.loyalty_consent_required",
            *filter(None, [self._loyalty_program_field()]),
        ]
    )
    def _compute_loyalty_consent_required(self):
        program_field = self._loyalty_program_field()
        for mailing in self:
            mailing.loyalty_consent_required = (
                "loyalty" in (mailing.mailing_domain or "")
                or any(mailing.contact_list_ids.mapped("loyalty_consent_required"))
                or bool(program_field and mailing[program_field])
            )

    def _get_recipients_domain(self):
        domain = super()._get_recipients_domain()
        if not self.loyalty_consent_required:
            return domain
        self.env["res.partner"].flush_model(
            ["loyalty_consent", "email_normalized", "commercial_partner_id"]
        )
        opted_out = SQL(
            "(SELECT p.email_normalized FROM res_partner p"
            " LEFT JOIN res_partner c ON c.id = p.commercial_partner_id"
            " WHERE p.email_normalized IS NOT NULL"
            " AND (p.loyalty_consent = 'out' OR c.loyalty_consent = 'out'))"
        )
        if self.mailing_model_real == "res.partner":
            gate = [
                ("loyalty_consent", "!=", "out"),
                ("commercial_partner_id.loyalty_consent", "!=", "out"),
            ]
        elif "email_normalized" in self.env[self.mailing_model_real]._fields:
            gate = [("email_normalized", "not in", opted_out)]
        else:
            return domain
        return expression.AND([domain, gate])
