/* License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl). */
import { registry } from "@web/core/registry";

// Data made by loyalty_crm_addon/tests/test_portal_tour.py, run on a
// phone-sized browser (390x844).
registry.category("web_tour.tours").add("loyalty_crm_portal_member", {
    steps: () => [
        {
            content: "the loyalty entry is on the portal home, on a phone too",
            trigger: ".o_portal_index_card:not(.d-none) a[href='/my/loyalty']",
            run: "click",
        },
        {
            content: "a reward kept for a higher tier is shown, locked",
            trigger: "#o_loyalty_rewards_next:contains('LCA Gold dinner'):contains('Reach Gold to unlock')",
        },
        {
            content: "the points of the history are on screen",
            trigger: "#o_loyalty_history td[data-cell='points']:contains('+250'):visible",
            run() {
                const box = this.anchor.getBoundingClientRect();
                if (box.right > window.innerWidth || box.left < 0) {
                    throw new Error(`points off-screen: ${box.left}-${box.right}`);
                }
            },
        },
        {
            content: "the member copies their referral link",
            trigger: ".o_loyalty_copy_link",
            run: "click",
        },
        {
            // The test browser gives no clipboard access: the link is then
            // selected for the member to copy.
            content: "the link is copied (or selected)",
            trigger: ".o_loyalty_copy_link:contains('Copied!'), .o_loyalty_copy_link:contains('Selected: copy it')",
        },
        {
            content: "the link can be sent on WhatsApp",
            trigger: "a.o_loyalty_share_whatsapp[href^='https://wa.me/?text=']:contains('WhatsApp')",
        },
        {
            content: "open the reward catalog",
            trigger: "a.o_loyalty_rewards_link",
            run: "click",
        },
        {
            content: "the locked reward says what unlocks it",
            trigger: ".o_loyalty_offer_tier:contains('LCA Gold dinner') .o_loyalty_locked_reason:contains('Reach Gold to unlock')",
        },
        {
            content: "claim a reward the member can afford",
            trigger: ".o_loyalty_offer_available:contains('LCA fifteen off') button.o_loyalty_claim",
            run: "click",
        },
        {
            content: "nothing is spent before the member confirms",
            trigger: ".modal.show .modal-body:contains('This spends'):contains('left')",
        },
        {
            content: "confirm",
            trigger: ".modal.show button.o_loyalty_confirm_claim",
            run: "click",
        },
        {
            content: "the reward is the member's",
            trigger: ".o_loyalty_claimed:contains('LCA fifteen off'):contains('is yours')",
        },
    ],
});

// The page a share link opens, for a visitor (no account).
registry.category("web_tour.tours").add("loyalty_crm_referral_landing", {
    steps: () => [
        {
            content: "the visitor is told who invites them",
            trigger: "#o_loyalty_invitation_title:contains('Martha invites you')",
        },
        {
            content: "and what they both get",
            trigger: "#o_loyalty_invitation_benefits:contains('You get 50 points'):contains('Martha gets 100 points')",
        },
        {
            content: "sign up",
            trigger: "a.o_loyalty_invitation_signup",
            run: "click",
        },
        {
            content: "the sign-up form recalls the invitation",
            trigger: ".o_loyalty_signup_invitation:contains('Martha invited you')",
        },
        {
            content: "the sign-up form",
            trigger: "form.oe_signup_form input[name='login']",
        },
    ],
});
