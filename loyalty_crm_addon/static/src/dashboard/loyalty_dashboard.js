/** @odoo-module **/
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import {Component, onWillStart, useState} from "@odoo/owl";
import {_t} from "@web/core/l10n/translation";
import {formatCurrency} from "@web/core/currency";
import {registry} from "@web/core/registry";
import {useDebounced} from "@web/core/utils/timing";
import {useService} from "@web/core/utils/hooks";

const {DateTime} = luxon;

const PERCENT = new Set([
    "inactive_rate",
    "repeat_purchase_rate_members",
    "repeat_purchase_rate_non_members",
    "redemption_rate",
    "member_revenue_share",
    "referral_conversion_rate",
]);
const MONEY = new Set(["aov_members", "aov_non_members", "points_liability"]);
// Figures where a fall is the good news.
const LOWER_IS_BETTER = new Set(["inactive_rate", "avg_days_to_second_purchase_members"]);
// Net Promoter Scores: -100..100, false without any answer.
const SCORES = new Set(["nps"]);
// A date being typed (year 0002, 0020...) is not a period to compute.
const MIN_YEAR = 1900;

/** The date of an <input type="date"> value, or null while incomplete. */
function parseDay(value) {
    if (!value) {
        return null;
    }
    const day = DateTime.fromISO(value);
    return day.isValid && day.year >= MIN_YEAR ? day : null;
}

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
        this.state = useState({data: null, periodError: false});
        this.debouncedLoad = useDebounced(() => this.load(), 400);
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
        if (name === "date_from" || name === "date_to") {
            // No error popup while a date is being typed: the period is
            // checked here and loaded once it is one.
            const from = parseDay(this.filters.date_from);
            const to = parseDay(this.filters.date_to);
            if (!from || !to) {
                this.state.periodError = _t("Enter both dates of the period.");
                return;
            }
            if (from > to) {
                this.state.periodError = _t("The period ends before it starts.");
                return;
            }
            this.state.periodError = false;
            this.debouncedLoad();
            return;
        }
        this.load();
    }

    /** "January 2026", in the user's language. */
    monthLabel(isoDate) {
        return DateTime.fromISO(isoDate).toFormat("LLLL yyyy");
    }

    money(value) {
        const currencyId = this.state.data.currency_id;
        if (currencyId) {
            return formatCurrency(value, currencyId, {digits: [16, 0]});
        }
        return `${this.format(value)} ${this.state.data.currency}`;
    }

    /** Change against the period before: text and tone of one figure. */
    change(key) {
        const previous = this.state.data.previous;
        if (!previous) {
            return null;
        }
        const now = this.state.data.kpis[key];
        const before = previous.kpis[key];
        let text = "";
        if (SCORES.has(key)) {
            if (now === false || before === false) {
                return {text: now === false ? "" : _t("new"), tone: "text-muted"};
            }
            const points = now - before;
            text = `${points >= 0 ? "+" : ""}${points.toFixed(1)} pts`;
        } else if (PERCENT.has(key)) {
            const points = (now - before) * 100;
            text = `${points >= 0 ? "+" : ""}${points.toFixed(1)} pts`;
        } else if (before) {
            const ratio = ((now - before) / Math.abs(before)) * 100;
            text = `${ratio >= 0 ? "+" : ""}${ratio.toFixed(1)} %`;
        } else {
            text = now ? _t("new") : "=";
        }
        let tone = "text-muted";
        if (now !== before && key !== "points_liability") {
            const better = LOWER_IS_BETTER.has(key) ? now < before : now > before;
            tone = better ? "text-success" : "text-danger";
        }
        return {text, tone};
    }

    get previousLabel() {
        const previous = this.state.data.previous;
        if (!previous) {
            return "";
        }
        const fmt = (d) => DateTime.fromISO(d).toLocaleString(DateTime.DATE_MED);
        return _t("vs %(from)s – %(to)s", {
            from: fmt(previous.date_from),
            to: fmt(previous.date_to),
        });
    }

    get cohorts() {
        const rows = this.state.data.cohorts || [];
        const span = Math.max(0, ...rows.map((r) => r.retained.length));
        return {
            columns: [...Array(span).keys()],
            rows: rows.map((r) => ({
                ...r,
                label: this.monthLabel(r.month),
                cells: [...Array(span).keys()].map((k) => {
                    const share = r.retained[k];
                    return share === undefined
                        ? {k, text: "", style: ""}
                        : {
                              k,
                              text: `${Math.round(share * 100)} %`,
                              style: `background-color: rgba(42, 157, 143, ${0.1 + share * 0.9}); color: ${share > 0.5 ? "#fff" : "inherit"}`,
                          };
                }),
            })),
        };
    }

    get cards() {
        const k = this.state.data.kpis;
        const cur = this.state.data.currency;
        const fmt = (key) => {
            const v = k[key];
            if (SCORES.has(key)) {
                return this.score(v);
            }
            if (PERCENT.has(key)) {
                return `${(v * 100).toFixed(1)} %`;
            }
            if (MONEY.has(key)) {
                return this.state.data.currency_id
                    ? formatCurrency(v, this.state.data.currency_id)
                    : `${v.toLocaleString(undefined, {maximumFractionDigits: 2})} ${cur}`;
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
            ["nps", _t("NPS")],
        ].map(([key, label]) => ({key, label, value: fmt(key), change: this.change(key)}));
    }

    get trend() {
        const rows = this.state.data.trend;
        const max = Math.max(
            1,
            ...rows.map((r) => r.revenue_members + r.revenue_non_members)
        );
        return rows.map((r) => ({
            ...r,
            label: this.monthLabel(r.month),
            revenue: this.money(r.revenue_members + r.revenue_non_members),
            memberRevenue: this.money(r.revenue_members),
            nonMemberRevenue: this.money(r.revenue_non_members),
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
                label: this.monthLabel(m.month),
                parts: names.map((n, i) => ({
                    name: n,
                    count: m.cells[n] || 0,
                    width: m.total ? (100 * (m.cells[n] || 0)) / m.total : 0,
                    color: i % 8,
                })),
            })),
        };
    }

    /** An NPS as owners read it: "+32", "-5", "–" without any answer. */
    score(value) {
        if (value === false || value === undefined || value === null) {
            return "–";
        }
        return `${value > 0 ? "+" : ""}${value.toLocaleString(undefined, {maximumFractionDigits: 1})}`;
    }

    scoreTone(value) {
        if (value === false) {
            return "text-muted";
        }
        return value >= 30 ? "text-success" : value < 0 ? "text-danger" : "text-warning";
    }

    /** The feedback part: NPS by month (a bar either side of zero), by
     *  tier, members against non-members. */
    get nps() {
        const nps = this.state.data.nps || {trend: [], by_tier: [], responses: 0};
        const bar = (value) => ({
            neg: value !== false && value < 0 ? Math.min(100, -value) : 0,
            pos: value !== false && value > 0 ? Math.min(100, value) : 0,
        });
        const row = (r, label) => ({
            ...r,
            label,
            text: this.score(r.nps),
            tone: this.scoreTone(r.nps),
            bar: bar(r.nps),
        });
        return {
            responses: nps.responses,
            // From the first month with an answer.
            trend: nps.trend
                .slice(Math.max(0, nps.trend.findIndex((r) => r.responses)))
                .map((r) => row(r, this.monthLabel(r.month))),
            byTier: nps.by_tier.map((r) => row(r, r.tier || _t("No tier"))),
            members: row(nps.members || {nps: false, responses: 0}, _t("Members")),
            nonMembers: row(
                nps.non_members || {nps: false, responses: 0},
                _t("Non-members")
            ),
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
