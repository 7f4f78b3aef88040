/* License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl). */
import { registry } from "@web/core/registry";
import { RadioField, radioField } from "@web/views/fields/radio/radio_field";
import { getFieldDomain } from "@web/model/relational_model/utils";
import { useSpecialData } from "@web/views/fields/relational_utils";

let nextId = 0;

/**
 * Odoo's radio list of rewards, each membership reward named with its cost
 * (read with ``loyalty_reward_cost`` in the context, which the plain radio
 * widget cannot send).
 */
export class LoyaltyRewardRadioField extends RadioField {
    setup() {
        this.id = `loyalty_reward_radio_${nextId++}`;
        this.type = "many2one";
        this.specialData = useSpecialData(async (orm, props) => {
            const { relation } = props.record.fields[props.name];
            const domain = getFieldDomain(props.record, props.name, props.domain);
            const { records } = await orm.call(relation, "web_search_read", [], {
                specification: { display_name: 1 },
                domain,
                context: { loyalty_reward_cost: true },
            });
            return records.map((record) => [record.id, record.display_name]);
        });
    }
}

registry.category("fields").add("loyalty_reward_radio", {
    ...radioField,
    component: LoyaltyRewardRadioField,
    supportedTypes: ["many2one"],
});
