/* License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl). */
import { formatPoints } from "@loyalty_crm_addon/core/format_points";
import { registry } from "@web/core/registry";
import { FloatField, floatField } from "@web/views/fields/float/float_field";

/** A float field showing points as people write them (1,250; 12.50). */
export class LoyaltyPointsField extends FloatField {
    get formattedValue() {
        if (!this.props.readonly && this.state.hasFocus) {
            return super.formattedValue;
        }
        return formatPoints(this.value);
    }
}

registry.category("fields").add("loyalty_points", {
    ...floatField,
    component: LoyaltyPointsField,
});

// List totals and grouped rows use the widget's formatter.
registry.category("formatters").add("loyalty_points", (value) => formatPoints(value));
