# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Member events get a state: the automation rules now run after the business
transaction, from a cron. Events recorded before were acted upon at once:
they are done."""


def migrate(cr, version):
    cr.execute(
        """
        ALTER TABLE loyalty_member_event ADD COLUMN IF NOT EXISTS state varchar;
        UPDATE loyalty_member_event SET state = 'done' WHERE state IS NULL;
        """
    )
