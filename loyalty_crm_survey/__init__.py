# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from . import models


def post_init_hook(env):
    """Membership programs that exist already send the shipped survey."""
    survey = env.ref("loyalty_crm_survey.survey_loyalty_nps", raise_if_not_found=False)
    if survey:
        env["loyalty.program"].with_context(active_test=False).search(
            [("program_type", "=", "loyalty"), ("loyalty_survey_id", "=", False)]
        ).write({"loyalty_survey_id": survey.id})
