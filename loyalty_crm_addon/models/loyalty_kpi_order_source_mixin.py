# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models

from ..kpi.order_facts import COUNTED_FIELDS, COUNTED_STATES


class LoyaltyKpiOrderSourceMixin(models.AbstractModel):
    """Orders the loyalty KPIs count (sales and POS orders): every change of
    a counted column, by the ORM's writes and its recomputations alike, and
    every counted order created or deleted, is noted for the KPI order facts
    (kpi/order_facts.py), rebuilt before the transaction commits."""

    _name = "loyalty.kpi.order.source.mixin"
    _description = "Orders counted by the loyalty KPIs"

    # "sale" or "pos" (kpi/order_facts.py COUNTED_STATES, COUNTED_FIELDS).
    _loyalty_kpi_channel = None

    def _loyalty_kpi_touch(self, ids):
        if ids:
            self.env["loyalty.kpi.order"]._touch_orders(self._loyalty_kpi_channel, ids)

    def _create(self, data_list):
        records = super()._create(data_list)
        states = COUNTED_STATES[self._loyalty_kpi_channel]
        self._loyalty_kpi_touch(
            [
                record.id
                for record, data in zip(records, data_list, strict=True)
                if data["stored"].get("state") in states
            ]
        )
        return records

    def _write_multi(self, vals_list):
        counted = COUNTED_FIELDS[self._loyalty_kpi_channel]
        states = COUNTED_STATES[self._loyalty_kpi_channel]
        state = self._fields["state"]
        # A counted column of an order that counts, or may have counted: its
        # state changes, or is not in the cache (None).
        touched = [
            record.id
            for record, vals in zip(self, vals_list, strict=True)
            if not counted.isdisjoint(vals)
            and (
                "state" in vals
                or self.env.cache.get(record, state, None) in (*states, None)
            )
        ]
        res = super()._write_multi(vals_list)
        self._loyalty_kpi_touch(touched)
        return res

    def unlink(self):
        states = COUNTED_STATES[self._loyalty_kpi_channel]
        self._loyalty_kpi_touch(self.filtered(lambda o: o.state in states).ids)
        return super().unlink()
