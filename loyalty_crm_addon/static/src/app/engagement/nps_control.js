/** @odoo-module */
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { Component, useState } from "@odoo/owl";
import { usePos } from "@point_of_sale/app/store/pos_hook";
import { useService } from "@web/core/utils/hooks";
import { _t } from "@web/core/l10n/translation";

/** "How likely are you to recommend us?": asked by the cashier if they
 * wish, never in the way of the sale. The answer (0-10) is recorded by the
 * server for the member, once per order (reference pos:<order uuid>). */
export class LoyaltyNpsControl extends Component {
    static template = "loyalty_crm_addon.LoyaltyNpsControl";
    static props = { partner: Object };

    setup() {
        this.pos = usePos();
        this.notification = useService("notification");
        this.state = useState({ open: false, saving: false });
        this.scores = [...Array(11).keys()];
    }
    get order() {
        return this.pos.get_order();
    }
    get answer() {
        return this.order?.uiState?.loyaltyCrmNps;
    }
    async record(score) {
        const order = this.order;
        if (!order || this.state.saving || this.answer !== undefined) {
            return;
        }
        this.state.saving = true;
        try {
            await this.pos.data.call("res.partner", "loyalty_pos_record_feedback", [
                [this.props.partner.id],
                score,
                order.uuid,
                this.pos.config.id,
            ]);
            order.uiState.loyaltyCrmNps = score;
            this.state.open = false;
        } catch (error) {
            this.notification.add(
                error?.data?.message || _t("The answer was not recorded; try again."),
                { type: "warning" }
            );
        } finally {
            this.state.saving = false;
        }
    }
}
