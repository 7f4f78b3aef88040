/** @odoo-module */
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { Component } from "@odoo/owl";
import { Dialog } from "@web/core/dialog/dialog";

/** The till's rewards: those the order can take now, each with what it
 * costs, then the catalog's other till rewards of the membership program
 * with why they cannot be taken yet (points missing, tier). */
export class LoyaltyCrmRewardPopup extends Component {
    static template = "loyalty_crm_addon.RewardPopup";
    static components = { Dialog };
    static props = {
        title: String,
        available: Array,
        unavailable: Array,
        getPayload: Function,
        close: Function,
    };
    select(item) {
        this.props.getPayload(item.item);
        this.props.close();
    }
}
