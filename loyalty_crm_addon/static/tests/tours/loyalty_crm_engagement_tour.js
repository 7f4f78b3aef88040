/* License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl). */
import { registry } from "@web/core/registry";

/** The element is within the phone's width. */
function onScreen(el) {
    const box = el.getBoundingClientRect();
    if (box.right > window.innerWidth + 1 || box.left < 0) {
        throw new Error(`off-screen: ${box.left}-${box.right} of ${window.innerWidth}`);
    }
}

// Data made by loyalty_crm_addon/tests/test_engagement_display.py, run on a
// phone-sized browser (390x844).
registry.category("web_tour.tours").add("loyalty_crm_portal_engagement", {
    steps: () => [
        {
            content: "the campaign running for the member is announced",
            trigger: "#o_loyalty_campaigns .o_loyalty_campaign_title:contains('Double points on LCA Garden until')",
        },
        {
            content: "the member's badge is shown",
            trigger: "#o_loyalty_badges .o_loyalty_badge:contains('Early Bird'):visible",
            run() {
                onScreen(this.anchor);
            },
        },
        {
            content: "and what is next",
            trigger: "#o_loyalty_progress .o_loyalty_progress_next:contains('2 more orders'):contains('for Streak Master: +100 points'):visible",
            run() {
                onScreen(this.anchor);
            },
        },
        {
            content: "the whole feedback scale fits the screen",
            trigger: "label[for='o_loyalty_nps_10']:visible",
            run() {
                onScreen(this.anchor);
            },
        },
        {
            content: "the member scores 9",
            trigger: "label[for='o_loyalty_nps_9']",
            run: "click",
        },
        {
            content: "and says why",
            trigger: "#o_loyalty_feedback_comment",
            run: "edit Great shop",
        },
        {
            content: "send",
            trigger: ".o_loyalty_feedback_send",
            run: "click",
        },
        {
            content: "thanked, with the points earned",
            trigger: ".o_loyalty_feedback_thanks:contains('You earned 20 points')",
        },
        {
            content: "the member chooses to appear on the leaderboard",
            trigger: ".o_loyalty_leaderboard_join",
            run: "click",
        },
        {
            content: "they are on it, by first name and initial",
            trigger: ".o_loyalty_leaderboard_me:contains('Martha M. (you)'):visible",
            run() {
                onScreen(this.anchor);
            },
        },
    ],
});
