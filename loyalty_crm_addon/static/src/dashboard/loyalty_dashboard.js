/** @odoo-module **/
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import {Component, onWillStart, useState} from "@odoo/owl";
import {_t} from "@web/core/l10n/translation";
import {registry} from "@web/core/registry";
import {useService} from "@web/core/utils/hooks";

const PERCENT = new Set([
    "inactive_rate",
    "repeat_purchase_rate_members",
    "repeat_purchase_rate_non_members",
    "redemption_rate",
    "member_revenue_share",
    "referral_conversion_rate",
]);
const MONEY = new Set(["aov_members", "aov_non_members", "points_liability"]);

export class LoyaltyDashboard extends Component {
    static template = "loyalty_crm_addon.Dashboard";
    static props = ["*"];

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.filters = useState({
            program_id: false,
            date_from: false,
            date_to: false,
            company_id: "",
            channel: "",
        });
        this.state = useState({data: null});
        onWillStart(() => this.load());
    }

    async load() {
        const f = this.filters;
        const data = await this.orm.call(
            "loyalty.program",
            "get_loyalty_dashboard_data",
            [],
            {
                program_id: f.program_id ? parseInt(f.program_id, 10) : false,
                date_from: f.date_from || false,
                date_to: f.date_to || false,
                company_ids: f.company_id ? [parseInt(f.company_id, 10)] : null,
                channel: f.channel || false,
            }
        );
        if (data.program) {
            Object.assign(this.filters, {
                program_id: data.program.id,
                date_from: data.date_from,
                date_to: data.date_to,
                channel: data.channel || "",
            });
        }
        this.state.data = data;
    }

    onFilter(name, ev) {
        this.filters[name] = ev.target.value;
        this.load();
    }

    get cards() {
        const k = this.state.data.kpis;
        const cur = this.state.data.currency;
        const fmt = (key) => {
            const v = k[key];
            if (PERCENT.has(key)) {
                return `${(v * 100).toFixed(1)} %`;
            }
            if (MONEY.has(key)) {
                return `${v.toLocaleString(undefined, {maximumFractionDigits: 2})} ${cur}`;
            }
            return v.toLocaleString(undefined, {maximumFractionDigits: 1});
        };
        return [
            ["members", _t("Members")],
            ["inactive_rate", _t("Inactive Members")],
            ["repeat_purchase_rate_members", _t("Repeat Purchase, Members")],
            ["repeat_purchase_rate_non_members", _t("Repeat Purchase, Non-members")],
            ["avg_days_to_second_purchase_members", _t("Days to 2nd Purchase")],
            ["redemption_rate", _t("Redemption Rate")],
            ["member_revenue_share", _t("Member Revenue Share")],
            ["aov_members", _t("Avg Order, Members")],
            ["aov_non_members", _t("Avg Order, Non-members")],
            ["points_liability", _t("Points Liability")],
            ["referral_conversion_rate", _t("Referral Conversion")],
        ].map(([key, label]) => ({key, label, value: fmt(key)}));
    }

    get trend() {
        const rows = this.state.data.trend;
        const max = Math.max(
            1,
            ...rows.map((r) => r.revenue_members + r.revenue_non_members)
        );
        return rows.map((r) => ({
            ...r,
            wm: (100 * r.revenue_members) / max,
            wn: (100 * r.revenue_non_members) / max,
        }));
    }

    get tiers() {
        const byMonth = {};
        const names = [];
        for (const row of this.state.data.tiers) {
            const name = row.tier || _t("No tier");
            if (!names.includes(name)) {
                names.push(name);
            }
            byMonth[row.month] = byMonth[row.month] || {month: row.month, total: 0, cells: {}};
            byMonth[row.month].cells[name] = row.members;
            byMonth[row.month].total += row.members;
        }
        return {
            names,
            months: Object.values(byMonth).map((m) => ({
                ...m,
                parts: names.map((n, i) => ({
                    name: n,
                    count: m.cells[n] || 0,
                    width: m.total ? (100 * (m.cells[n] || 0)) / m.total : 0,
                    color: i % 8,
                })),
            })),
        };
    }

    format(value) {
        return value.toLocaleString(undefined, {maximumFractionDigits: 0});
    }

    openReport(xmlid) {
        this.action.doAction(xmlid);
    }
}

registry.category("actions").add("loyalty_crm_addon.dashboard", LoyaltyDashboard);
