# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Member events get a state: the automation rules now run after the business
transaction, from a cron. Events recorded before acted at once: they are
done. The shipped rules are reloaded from their files (they now react to an
event becoming done, not to its creation)."""


def migrate(cr, version):
    cr.execute(
        """
        ALTER TABLE loyalty_member_event
          ADD COLUMN IF NOT EXISTS state varchar;
        UPDATE loyalty_member_event SET state = 'done' WHERE state IS NULL;
        UPDATE ir_model_data SET noupdate = false
         WHERE module = 'loyalty_crm_addon'
           AND model IN ('base.automation', 'ir.actions.server')
           AND name LIKE ANY (ARRAY['base_automation_loyalty_%%',
                                    'ir_actions_server_loyalty_%%']);
        """
    )
