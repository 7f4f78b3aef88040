/* License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl). */
import { _t } from "@web/core/l10n/translation";
import { patch } from "@web/core/utils/patch";
import { GraphModel } from "@web/views/graph/graph_model";
import { PivotModel } from "@web/views/pivot/pivot_model";

// A member without a tier is in no tier yet: the graphs and pivots of
// tiers say so instead of Odoo's generic "None".
const TIER_FIELDS = {
    "loyalty.card": ["loyalty_tier_id"],
    "loyalty.ledger.line": ["member_tier_id"],
    "loyalty.report.order": ["tier_id"],
    "loyalty.report.tier.snapshot": ["tier_id"],
    "res.partner": ["loyalty_tier_id", "loyalty_member_tier_id"],
};

function isTierField(resModel, fieldName) {
    return (TIER_FIELDS[resModel] || []).includes(fieldName);
}

patch(GraphModel.prototype, {
    _getDefaultFilterLabel(field) {
        if (isTierField(this.metaData?.resModel, field.fieldName)) {
            return _t("No tier");
        }
        return super._getDefaultFilterLabel(...arguments);
    },
});

patch(PivotModel.prototype, {
    _getEmptyGroupLabel(fieldName) {
        if (isTierField(this.metaData?.resModel, fieldName)) {
            return _t("No tier");
        }
        return super._getEmptyGroupLabel(...arguments);
    },
});
