# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import random
import threading
import time

from psycopg2 import errorcodes
from psycopg2.errors import OperationalError

from odoo import SUPERUSER_ID, api
from odoo.api import Transaction
from odoo.exceptions import UserError
from odoo.modules.registry import Registry
from odoo.tests import BaseCase, tagged
from odoo.tests.common import get_db_name
from odoo.tools import mute_logger

RETRYABLE = {errorcodes.SERIALIZATION_FAILURE, errorcodes.LOCK_NOT_AVAILABLE}


@tagged("post_install", "-at_install")
class TestConcurrentRedemption(BaseCase):
    """Terminals redeem from one card at the same moment, each on its own
    database connection, as separate server workers do."""

    def setUp(self):
        super().setUp()
        self.registry = Registry(get_db_name())
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            company = env.ref("base.main_company")
            self.previous_program = company.loyalty_membership_program_id
            program = env["loyalty.program"].create(
                {"name": "Concurrency Club", "program_type": "loyalty", "active": False}
            )
            company.loyalty_membership_program_id = program
            partner = env["res.partner"].create({"name": "Busy Member"})
            partner.action_loyalty_enroll()
            partner.loyalty_adjust_points(100, "Opening")
            self.partner_id, self.program_id = partner.id, program.id
        self.addCleanup(self._restore)

    def _restore(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env.ref(
                "base.main_company"
            ).loyalty_membership_program_id = self.previous_program

    def _redeem(self, results, barrier, index):
        barrier.wait(timeout=10)
        for _attempt in range(20):
            with self.registry.cursor() as cr:
                # The test runner holds the registry lock: hand the registry over.
                cr.transaction = Transaction(self.registry)
                env = api.Environment(cr, SUPERUSER_ID, {})
                try:
                    line_id = (
                        env["res.partner"]
                        .browse(self.partner_id)
                        .loyalty_redeem_points(30, "Parallel redemption %s" % index)
                    )
                    cr.commit()  # pylint: disable=invalid-commit
                    results.append(line_id)
                    return
                except UserError:
                    cr.rollback()
                    results.append("refused")
                    return
                except OperationalError as exc:
                    cr.rollback()
                    if exc.pgcode not in RETRYABLE:
                        raise
            # The server retries a serialization failure the same way.
            time.sleep(random.uniform(0.01, 0.1))
        results.append("gave up")

    @mute_logger("odoo.sql_db")
    def test_parallel_redemptions_never_overspend(self):
        results, barrier = [], threading.Barrier(5)
        threads = [
            threading.Thread(target=self._redeem, args=(results, barrier, i))
            for i in range(5)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        granted = [r for r in results if isinstance(r, int)]
        self.assertEqual(len(granted), 3, results)
        self.assertEqual(results.count("refused"), 2, results)
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            partner = env["res.partner"].browse(self.partner_id)
            card = env["loyalty.card"].search([("partner_id", "=", partner.id)])
            self.assertEqual(card.points, 10)
            self.assertEqual(sum(card.ledger_line_ids.mapped("points")), 10)
