# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Members' referral codes, set-based: unique codes drawn for many partners
in one UPDATE (``res.partner._loyalty_assign_referral_codes``), and the
backfill of existing members on install and upgrade."""


def write_codes(env, partner_ids):
    """Set-based: draw codes, redraw the few already taken, one UPDATE."""
    generate = env["loyalty.referral"]._loyalty_generate_codes
    codes = generate(len(partner_ids))
    while True:
        env.cr.execute(
            "SELECT loyalty_referral_code FROM res_partner"
            " WHERE loyalty_referral_code = ANY(%s)",
            [codes],
        )
        taken = {row[0] for row in env.cr.fetchall()}
        if len(set(codes)) == len(codes) and not taken:
            break
        seen = set()
        for i, code in enumerate(codes):
            if code in taken or code in seen:
                codes[i] = generate(1)[0]
            seen.add(codes[i])
    env.cr.execute(
        """
        UPDATE res_partner p SET loyalty_referral_code = v.code
          FROM (SELECT unnest(%s::int[]) AS id, unnest(%s::varchar[]) AS code) v
         WHERE p.id = v.id AND p.loyalty_referral_code IS NULL
        """,
        [partner_ids, codes],
    )


def backfill_codes(Partner, batch_size):
    """Codes for existing members (install and upgrade): the partners to
    fill are read once, then written ``batch_size`` at a time (re-reading
    them per batch scanned the members again each time: quadratic)."""
    Partner.env.flush_all()
    Partner.env.cr.execute(
        """
        SELECT DISTINCT p.commercial_partner_id
          FROM loyalty_card c
          JOIN loyalty_program pr ON pr.id = c.program_id
          JOIN res_partner p ON p.id = c.partner_id
          JOIN res_partner cp ON cp.id = p.commercial_partner_id
         WHERE pr.program_type = 'loyalty'
           AND cp.loyalty_referral_code IS NULL
         ORDER BY 1
        """
    )
    ids = [row[0] for row in Partner.env.cr.fetchall()]
    for start in range(0, len(ids), batch_size):
        write_codes(Partner.env, ids[start : start + batch_size])
    Partner.invalidate_model(["loyalty_referral_code"])
    return len(ids)
