# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Demo data of the Loyalty CRM addon, made through the real flows.

Members are created and enrolled, then 18 months of sales orders, till
purchases, rewards, redemptions and a cancellation are replayed in date
order through the same code paths users hit (``action_confirm``,
``pos.order.sync_from_ui`` + ``confirm_coupon_programs``...), so the ledger
is written by the engine. Only the dates are moved back afterwards, by SQL:
the ledger is immutable through the ORM.
"""

import logging
import random
import uuid
from datetime import date, datetime, time, timedelta

from odoo import fields
from odoo.exceptions import UserError
from odoo.tools import float_round

_logger = logging.getLogger(__name__)

HISTORY_DAYS = 548  # ~18 months
LONG_INACTIVE_MIN_DAYS = 200

FIRST_NAMES = [
    "Emma",
    "Liam",
    "Olivia",
    "Noah",
    "Ava",
    "Lucas",
    "Mia",
    "Hugo",
    "Chloe",
    "Leo",
    "Sofia",
    "Arthur",
    "Alice",
    "Louis",
    "Lea",
    "Jules",
    "Ines",
    "Adam",
    "Zoe",
    "Nathan",
    "Camille",
    "Ethan",
    "Sarah",
    "Gabriel",
    "Julia",
    "Tom",
    "Clara",
    "Paul",
    "Anna",
    "Victor",
    "Laura",
    "Max",
    "Eva",
    "Oscar",
    "Nina",
    "Felix",
    "Lina",
    "Samuel",
    "Rose",
    "Elias",
    "Marta",
    "Diego",
    "Hanna",
    "Marco",
    "Ingrid",
]
LAST_NAMES = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefebvre",
    "Michel",
    "Garcia",
    "Muller",
    "Schmidt",
    "Fischer",
    "Weber",
    "Rossi",
    "Russo",
    "Ferrari",
    "Janssens",
    "Peeters",
    "Maes",
    "Jacobs",
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Wilson",
    "Evans",
    "Novak",
    "Horvat",
    "Kowalski",
    "Nowak",
    "Silva",
    "Santos",
    "Costa",
    "Lopez",
    "Nielsen",
    "Hansen",
    "Larsen",
    "Berg",
    "Lindqvist",
]
# (city, zip, street, country code)
CITIES = [
    ("Brussels", "1000", "Rue Neuve", "BE"),
    ("Antwerp", "2000", "Meir", "BE"),
    ("Ghent", "9000", "Veldstraat", "BE"),
    ("Liege", "4000", "Rue Saint-Gilles", "BE"),
    ("Namur", "5000", "Rue de Fer", "BE"),
    ("Paris", "75011", "Rue Oberkampf", "FR"),
    ("Lyon", "69002", "Rue de la Republique", "FR"),
    ("Lille", "59000", "Rue Faidherbe", "FR"),
    ("Amsterdam", "1012", "Kalverstraat", "NL"),
    ("Rotterdam", "3011", "Lijnbaan", "NL"),
    ("Luxembourg", "1611", "Avenue de la Gare", "LU"),
    ("Cologne", "50667", "Hohe Strasse", "DE"),
]
COMPANIES = [
    ("Bright Office SRL", ["Facility", "Purchasing"]),
    ("Greenleaf Studio", ["Studio Manager", "Office Assistant"]),
    ("Northwind Consulting", ["Office Manager", "CEO"]),
    ("Atelier Lumiere", ["Owner", "Designer"]),
    ("Harbor & Co Architects", ["Office Manager", "Partner"]),
    ("Blue Fern Coworking", ["Community Manager", "Operations"]),
]
N_PERSONS = 44
N_LONG_INACTIVE = 10

# Saleable demo products (xml ids), cheap to expensive.
SALE_PRODUCTS = [
    "product.desk_pad",
    "product.monitor_stand",
    "product.desk_organizer",
    "product.product_product_7",
    "product.product_product_16",
    "product.product_product_11",
    "product.product_delivery_02",
    "product.product_product_9",
    "product.product_delivery_01",
    "product.product_product_13",
    "product.product_product_27",
    "product.product_product_12",
    "product.product_product_10",
    "product.product_product_5",
    "product.product_product_25",
    "product.product_product_3",
    "product.product_product_24",
]
POS_PRODUCTS = [
    "point_of_sale.led_lamp",
    "point_of_sale.whiteboard_pen",
    "point_of_sale.newspaper_rack",
    "point_of_sale.whiteboard",
    "point_of_sale.magnetic_board",
    "point_of_sale.wall_shelf",
    "point_of_sale.small_shelf",
    "point_of_sale.letter_tray",
    "product.desk_pad",
    "product.monitor_stand",
    "product.desk_organizer",
    "product.product_product_7",
    "product.product_delivery_02",
    "product.product_product_9",
]
REDEMPTIONS = [
    (300, "Cinema tickets (partner offer)"),
    (250, "Free delivery voucher"),
    (500, "Office plant gift box"),
    (400, "Coffee machine rental, one month"),
]


def populate_today(env):
    """Today's picture, once the history and the referrals are built."""
    return LoyaltyCrmDemo(env(su=True))._demo_today()


def populate(env):
    """Build the demo once (the ledger of the demo program is empty)."""
    return LoyaltyCrmDemo(env(su=True))._populate()


class LoyaltyCrmDemo:
    """Plain Python, run once from the demo data; not a model."""

    def __init__(self, env):
        self.env = env

    def _populate(self):
        program = self.env.ref(
            "loyalty_crm_addon.loyalty_program_rewards_club", raise_if_not_found=False
        )
        if not program:
            return False
        if (
            self.env["loyalty.ledger.line"]
            .sudo()
            .search_count([("program_id", "=", program.id)], limit=1)
        ):
            return False  # already populated
        return self._populate_run(program)

    # ------------------------------------------------------------------
    # Members
    # ------------------------------------------------------------------
    def _demo_salesperson(self):
        """The demo salesperson (Odoo's demo user), else the administrator."""
        return self.env.ref("base.user_demo", raise_if_not_found=False) or (
            self.env.ref("base.user_admin")
        )

    def _demo_members(self, rng):
        Partner = self.env["res.partner"]
        countries = {
            c.code: c
            for c in self.env["res.country"].search(
                [("code", "in", list({c[3] for c in CITIES}))]
            )
        }
        # The shop's salesperson (demo/demo, own documents only) follows the
        # customers who have a salesperson; the owner (admin) follows none:
        # a salesperson quotes every demo member and sees their orders.
        salesperson = self._demo_salesperson()
        tag = self.env["res.partner.category"].search(
            [("name", "=", "Loyalty Member")], limit=1
        ) or self.env["res.partner.category"].create({"name": "Loyalty Member"})

        def address(street_no=None):
            city, zip_code, street, code = rng.choice(CITIES)
            return {
                "street": "%s %d" % (street, street_no or rng.randint(1, 180)),
                "city": city,
                "zip": zip_code,
                "country_id": countries[code].id if code in countries else False,
            }

        names = [(f, ln) for f in FIRST_NAMES for ln in LAST_NAMES]
        rng.shuffle(names)
        used = iter(names)
        person_vals = []
        for _i in range(N_PERSONS):
            first, last = next(used)
            vals = {
                "name": "%s %s" % (first, last),
                "email": "%s.%s@example.com" % (first.lower(), last.lower()),
                "phone": "+32 4%02d %02d %02d %02d"
                % tuple(rng.randint(10, 99) for _j in range(4)),
                "is_company": False,
                "customer_rank": 1,
                "category_id": [fields.Command.link(tag.id)],
                **address(),
            }
            if rng.random() < 0.4:
                vals["user_id"] = salesperson.id
            person_vals.append(vals)
        persons = Partner.create(person_vals)

        companies = Partner
        for company_name, roles in COMPANIES:
            domain = company_name.split()[0].lower().replace("&", "")
            company_vals = {
                "name": company_name,
                "is_company": True,
                "email": "info@%s.example.com" % domain,
                "customer_rank": 1,
                "category_id": [fields.Command.link(tag.id)],
                "user_id": salesperson.id,
                **address(),
            }
            company = Partner.create(company_vals)
            contact_vals = []
            for role in roles:
                first, last = next(used)
                contact_vals.append(
                    {
                        "name": "%s %s" % (first, last),
                        "parent_id": company.id,
                        "type": "contact",
                        "function": role,
                        "email": "%s.%s@%s.example.com"
                        % (first[0].lower(), last.lower(), domain),
                    }
                )
            Partner.create(contact_vals)
            companies |= company
        return persons | companies

    # ------------------------------------------------------------------
    # Scenario
    # ------------------------------------------------------------------
    def _demo_plan(self, rng, members):
        """Events [(days_ago, seq, kind, member, data)], oldest first."""
        members = list(members)
        inactive = set(rng.sample(members, N_LONG_INACTIVE))
        events = []
        seq = 0
        for member in members:
            if member in inactive:
                start = rng.randint(300, HISTORY_DAYS - 5)
                end = rng.randint(LONG_INACTIVE_MIN_DAYS, start - 1)
                n_orders = rng.randint(0, 1)
            else:
                start = rng.randint(30, HISTORY_DAYS - 5)
                end = rng.randint(0, min(start - 1, 75))
                n_orders = rng.randint(0, 3)
            days = sorted(
                {rng.randint(end, start) for _i in range(n_orders)} | {start, end},
                reverse=True,
            )
            for day in days:
                seq += 1
                kind = (
                    "pos" if (not member.is_company and rng.random() < 0.35) else "sale"
                )
                events.append([day, seq, kind, member, {}])
        # Redemptions through the API, for active members with history.
        active = [m for m in members if m not in inactive]
        for points, description in REDEMPTIONS:
            member = rng.choice(active)
            seq += 1
            events.append(
                [
                    rng.randint(5, 40),
                    seq,
                    "redeem",
                    member,
                    {
                        "points": points,
                        "description": description,
                    },
                ]
            )
        # One goodwill adjustment.
        seq += 1
        events.append(
            [
                rng.randint(60, 120),
                seq,
                "adjust",
                rng.choice(active),
                {
                    "points": 50,
                    "reason": "Goodwill gesture: delivery arrived late",
                },
            ]
        )
        events.sort(key=lambda e: (-e[0], e[1]))
        return events, inactive

    def _populate_run(self, program):
        started = datetime.now()
        rng = random.Random(42)
        env = self.env
        Ledger = env["loyalty.ledger.line"]
        admin = env.ref("base.user_admin")
        # Cards of other demo data holding points without a ledger yet: the
        # post_init_hook opens their balance after the demo is loaded.
        not_opened = Ledger._get_inconsistent_cards()
        members = self._demo_members(rng)
        for member in members:
            member.with_user(admin).action_loyalty_enroll()

        products = self._demo_products(SALE_PRODUCTS, "sale_ok")
        pos_products = self._demo_products(POS_PRODUCTS, "available_in_pos")
        if not products:
            raise UserError(self.env._("No demo product to sell."))

        events, inactive = self._demo_plan(rng, members)
        pos = self._demo_pos_open(admin) if pos_products else None
        now = fields.Datetime.now()
        stamps = []  # (first ledger id, last ledger id, datetime, record)
        orders_to_cancel = []
        counts = {
            "sale": 0,
            "pos": 0,
            "redeem": 0,
            "adjust": 0,
            "reward": 0,
            "cancel": 0,
        }
        for days_ago, _seq, kind, member, data in events:
            when = datetime.combine(
                (now - timedelta(days=days_ago)).date(),
                time(rng.randint(8, 18), rng.randint(0, 59)),
            )
            if when > now:
                when = now - timedelta(minutes=5)
            first_id = self._demo_last_ledger_id() + 1
            record = None
            if kind == "pos" and pos:
                record = self._demo_pos_order(
                    rng, pos, member, pos_products, program, when
                )
                counts["pos"] += 1
                counts["reward"] += bool(record.lines.filtered("is_reward_line"))
            elif kind in ("sale", "pos"):
                record = self._demo_sale_order(rng, member, products, program)
                counts["sale"] += 1
                counts["reward"] += bool(record.order_line.filtered("reward_id"))
                if not orders_to_cancel and days_ago > 150 and member not in inactive:
                    orders_to_cancel.append((record, when + timedelta(days=2)))
            elif kind == "redeem":
                # Someone active who has the points by then.
                rich = [
                    m
                    for m in members
                    if m not in inactive and m.loyalty_card_id.points >= data["points"]
                ]
                if not rich:
                    continue
                member = rng.choice(rich)
                member.with_user(admin).loyalty_redeem_points(
                    data["points"],
                    data["description"],
                    "DEMO-%s" % uuid.UUID(int=rng.getrandbits(128)).hex[:10].upper(),
                )
                counts["redeem"] += 1
            elif kind == "adjust":
                member.with_user(admin).loyalty_adjust_points(
                    data["points"], data["reason"]
                )
                counts["adjust"] += 1
            stamps.append((first_id, self._demo_last_ledger_id(), when, record))
            # Cancel the chosen order two days later, in date order.
            for order, cancel_when in list(orders_to_cancel):
                if cancel_when <= when and order.state == "sale":
                    first_id = self._demo_last_ledger_id() + 1
                    order.with_context(disable_cancel_warning=True).action_cancel()
                    stamps.append(
                        (first_id, self._demo_last_ledger_id(), cancel_when, None)
                    )
                    counts["cancel"] += 1
        if pos:
            self._demo_pos_close(pos)

        self._demo_backdate(program, stamps)
        # Points older than the validity expire and tiers follow the points
        # earned over the last year, as the nightly jobs would do.
        Ledger._cron_expire_points()
        self.env["loyalty.tier"]._cron_review_tiers()
        # The automation of the events the demo gave rise to, as the
        # processing cron would run it.
        self.env["loyalty.member.event"]._cron_process_events()

        bad = Ledger._get_inconsistent_cards() - not_opened
        if bad:
            raise UserError(
                self.env._(
                    "Demo data broke the ledger: cards %s do not match their lines.",
                    bad.ids,
                )
            )
        _logger.info(
            "Loyalty CRM demo: %d members (%d long inactive), %s, "
            "%d ledger lines in %.1fs",
            len(members),
            len(inactive),
            counts,
            Ledger.search_count([("program_id", "=", program.id)]),
            (datetime.now() - started).total_seconds(),
        )
        return True

    def _demo_today(self):
        """What a shop sees today, after the history and the referrals: a
        return period with points waiting, birthdays (one today, a few this
        month), the program's bonuses and the follow-ups of today's events."""
        program = self.env.ref(
            "loyalty_crm_addon.loyalty_program_rewards_club", raise_if_not_found=False
        )
        if not program or program.loyalty_pending_days:
            return False  # no demo program, or already done
        rng = random.Random(11)
        products = self._demo_products(SALE_PRODUCTS, "sale_ok")
        today = fields.Date.context_today(program)
        members = (
            self.env["loyalty.card"]
            .search([("program_id", "=", program.id)], order="id")
            .partner_id.filtered(lambda p: not p.is_company)
        )
        members = list(members)
        active = [
            m
            for m in members
            if m.loyalty_last_activity_date
            and (today - m.loyalty_last_activity_date).days < 90
        ] or members
        for member in members:
            month = rng.randint(1, 12)
            member.loyalty_birthday = date(
                rng.randint(1960, 2004), month, rng.randint(1, 28)
            )
        for member in rng.sample(active, min(4, len(active))):
            member.loyalty_birthday = date(
                rng.randint(1960, 2004), today.month, min(rng.randint(1, 28), 28)
            )
        birthday_today = rng.choice(active)
        birthday_today.loyalty_birthday = date(
            1985, today.month, 28 if (today.month, today.day) == (2, 29) else today.day
        )
        program.write(
            {
                "loyalty_pending_days": 14,
                "loyalty_signup_bonus": 50,
                "loyalty_birthday_bonus": 100,
            }
        )
        if products:
            for member in rng.sample(active, min(3, len(active))):
                self._demo_sale_order(rng, member, products, program)
        Event = self.env["loyalty.member.event"]
        Event._cron_detect_birthdays()
        Event._cron_process_events()
        # Automation rules made in this installation take effect when the
        # registry reloads (base_automation): the follow-ups of the history
        # are planned here by the shipped rules' own activity actions.
        Action = self.env["ir.actions.server"].sudo()
        for event_type in (
            "tier_upgrade",
            "tier_downgrade",
            "first_redemption",
            "inactive",
        ):
            followed = Event.search(
                [("event_type", "=", event_type), ("state", "=", "done")]
            )
            action = Action.browse(
                self.env["ir.model.data"]._xmlid_to_res_id(
                    f"loyalty_crm_addon.ir_actions_server_loyalty_{event_type}_activity"
                )
            )
            if followed and action:
                action.with_context(
                    active_model=Event._name,
                    active_ids=followed.ids,
                    active_id=followed[0].id,
                ).run()
        self.env.cr.flush()
        return True

    def _demo_products(self, xmlids, flag):
        products = self.env["product.product"]
        for xmlid in xmlids:
            product = self.env.ref(xmlid, raise_if_not_found=False)
            if product and product.active and product[flag]:
                products |= product
        return products

    def _demo_last_ledger_id(self):
        self.env.flush_all()
        self.env.cr.execute("SELECT COALESCE(MAX(id), 0) FROM loyalty_ledger_line")
        return self.env.cr.fetchone()[0]

    # ------------------------------------------------------------------
    # Sales orders
    # ------------------------------------------------------------------
    def _demo_pick_lines(self, rng, products):
        n_lines = rng.randint(1, 5)
        # Mostly small items, now and then furniture.
        weights = [len(products) - i for i in range(len(products))]
        chosen = []
        for _i in range(n_lines):
            product = rng.choices(products, weights=weights)[0]
            if product not in chosen:
                chosen.append(product)
        return [(p, rng.choice([1, 1, 1, 2, 2, 3])) for p in chosen]

    def _demo_sale_order(self, rng, member, products, program):
        partner = member
        order = self.env["sale.order"].create(
            {
                "partner_id": partner.id,
                "user_id": (member.user_id or self._demo_salesperson()).id,
                "order_line": [
                    fields.Command.create({"product_id": p.id, "product_uom_qty": qty})
                    for p, qty in self._demo_pick_lines(rng, list(products))
                ],
            }
        )
        card = member.loyalty_card_id
        balance = card.points
        order._update_programs_and_rewards()
        if card and rng.random() < 0.3:
            # Rewards the points already on the card pay for: the engine takes
            # a redemption from the card's earlier lots (see the report about
            # rewards paid with the same order's points).
            claimable = order._get_claimable_rewards().get(
                card, card.program_id.reward_ids.browse()
            )
            claimable = claimable.filtered(lambda r: r.required_points <= balance)
            if claimable:
                reward = rng.choice(claimable.sorted("id"))
                kwargs = {}
                if reward.reward_type == "product":
                    kwargs["product"] = reward.reward_product_ids[:1]
                order._apply_program_reward(reward, card, **kwargs)
                order._update_programs_and_rewards()
        order.action_confirm()
        return order

    # ------------------------------------------------------------------
    # Point of Sale
    # ------------------------------------------------------------------
    def _demo_pos_open(self, admin):
        config = self.env.ref("point_of_sale.pos_config_main", raise_if_not_found=False)
        if not config or not config.active:
            return None
        if config.current_session_id:
            session = config.current_session_id
        else:
            config._check_before_creating_new_session()
            session = (
                self.env["pos.session"]
                .with_user(admin)
                .create({"user_id": admin.id, "config_id": config.id})
            )
        session.set_opening_control(0, None)
        cash = config.payment_method_ids.filtered(
            lambda pm: pm.is_cash_count and not pm.split_transactions
        )[:1]
        bank = config.payment_method_ids.filtered(
            lambda pm: not pm.is_cash_count and not pm.split_transactions
        )[:1]
        return {
            "config": config,
            "session": session,
            "admin": admin,
            "methods": [m for m in (cash, bank) if m],
            "sequence": 0,
        }

    def _demo_pos_line(self, pos, product, qty, price_unit, fiscal_position, **extra):
        taxes = fiscal_position.map_tax(
            product.taxes_id.filtered_domain(
                self.env["account.tax"]._check_company_domain(pos["config"].company_id)
            )
        )
        currency = pos["session"].currency_id
        if taxes:
            res = taxes.compute_all(price_unit, currency, qty, product=product)
            excluded, included = res["total_excluded"], res["total_included"]
        else:
            excluded = included = currency.round(price_unit * qty)
        return {
            "product_id": product.id,
            "qty": qty,
            "price_unit": price_unit,
            "discount": 0.0,
            "price_subtotal": excluded,
            "price_subtotal_incl": included,
            "tax_ids": [fields.Command.set(taxes.ids)],
            "full_product_name": product.display_name,
            **extra,
        }

    def _demo_pos_order(self, rng, pos, member, products, program, when):
        config, session = pos["config"], pos["session"]
        pricelist = config.pricelist_id
        fiscal_position = (
            member.property_account_position_id or config.default_fiscal_position_id
        )
        lines = []
        for product, qty in self._demo_pick_lines(rng, list(products)):
            price = (
                pricelist._get_product_price(product, qty)
                if pricelist
                else product.lst_price
            )
            lines.append(self._demo_pos_line(pos, product, qty, price, fiscal_position))
        total = sum(line["price_subtotal_incl"] for line in lines)
        # Points the till computes: 1 point per unit spent, taxes included.
        rule = program.rule_ids[:1]
        earned = float_round(rule.reward_point_amount * total, precision_rounding=0.01)

        card = member.loyalty_card_id
        reward = program.reward_ids.filtered(
            lambda r: r.reward_type == "discount" and r.discount_mode == "per_order"
        )[:1]
        spent = 0.0
        code = False
        if (
            card
            and reward
            and reward.discount_line_product_id
            and card.points >= reward.required_points
            and total > 10
            and rng.random() < 0.5
        ):
            code = uuid.UUID(int=rng.getrandbits(128)).hex[:8]
            discount = min(reward.discount, total)
            lines.append(
                self._demo_pos_line(
                    pos,
                    reward.discount_line_product_id,
                    1,
                    -discount,
                    fiscal_position,
                    is_reward_line=True,
                    reward_id=reward.id,
                    coupon_id=card.id,
                    points_cost=reward.required_points,
                    reward_identifier_code=code,
                )
            )
            total = sum(line["price_subtotal_incl"] for line in lines)
            spent = reward.required_points
        total_excl = sum(line["price_subtotal"] for line in lines)
        method = pos["methods"][rng.randrange(len(pos["methods"]))]
        pos["sequence"] += 1
        order_uuid = str(uuid.UUID(int=rng.getrandbits(128)))
        payload = {
            "uuid": order_uuid,
            "name": "Order %s" % order_uuid,
            "session_id": session.id,
            "sequence_number": pos["sequence"],
            "user_id": pos["admin"].id,
            "partner_id": member.id,
            "pricelist_id": pricelist.id,
            "fiscal_position_id": fiscal_position.id,
            "date_order": fields.Datetime.to_string(when),
            "amount_paid": total,
            "amount_return": 0,
            "amount_tax": total - total_excl,
            "amount_total": total,
            "to_invoice": False,
            "last_order_preparation_change": "{}",
            "lines": [fields.Command.create(line) for line in lines],
            "payment_ids": [
                fields.Command.create(
                    {
                        "amount": total,
                        "name": fields.Datetime.to_string(when),
                        "payment_method_id": method.id,
                    }
                )
            ],
        }
        PosOrder = self.env["pos.order"].with_user(pos["admin"])
        result = PosOrder.sync_from_ui([payload])
        order = PosOrder.browse(result["pos.order"][0]["id"])
        # What the browser sends after payment (payment_screen.js,
        # _postProcessLoyalty): the card's net points and the reward codes.
        key = card.id if card else -1
        coupon_data = {
            key: {
                "points": earned - spent,
                "program_id": program.id,
                "coupon_id": key,
                "barcode": False,
                "partner_id": member.id,
            }
        }
        if code:
            coupon_data[key]["line_codes"] = [code]
        order.confirm_coupon_programs(coupon_data)
        return order.sudo()

    def _demo_pos_close(self, pos):
        session = pos["session"]
        if not session.order_ids:
            return
        try:
            with self.env.cr.savepoint():
                session.with_user(pos["admin"]).action_pos_session_closing_control()
        except Exception as error:  # noqa: BLE001 - the demo keeps an open session
            _logger.warning("Loyalty CRM demo: POS session left open (%s)", error)

    # ------------------------------------------------------------------
    # Dates
    # ------------------------------------------------------------------
    def _demo_backdate(self, program, stamps):
        cr = self.env.cr
        self.env.flush_all()
        rows = [
            (first, last, when) for first, last, when, _rec in stamps if last >= first
        ]
        if rows:
            first_ids, last_ids, dates = zip(*rows, strict=True)
            cr.execute(
                """
                UPDATE loyalty_ledger_line l
                   SET date = v.d,
                       create_date = v.d,
                       expiry_date = CASE WHEN l.expiry_date IS NULL THEN NULL
                                          ELSE v.d::date + %s END,
                       release_date = CASE WHEN l.release_date IS NULL THEN NULL
                                           ELSE v.d::date + %s END
                  FROM unnest(%s::int[], %s::int[], %s::timestamp[])
                       AS v(first_id, last_id, d)
                 WHERE l.id BETWEEN v.first_id AND v.last_id
                """,
                [
                    program.loyalty_points_validity_days,
                    program.loyalty_pending_days,
                    list(first_ids),
                    list(last_ids),
                    list(dates),
                ],
            )
        by_model = {"sale.order": ([], []), "pos.order": ([], [])}
        for _first, _last, when, record in stamps:
            if record and record._name in by_model:
                by_model[record._name][0].append(record.id)
                by_model[record._name][1].append(when)
        sale_ids, sale_dates = by_model["sale.order"]
        if sale_ids:
            cr.execute(
                """
                UPDATE sale_order o SET date_order = v.d, create_date = v.d
                  FROM unnest(%s::int[], %s::timestamp[]) AS v(id, d)
                 WHERE o.id = v.id
                """,
                [sale_ids, sale_dates],
            )
        pos_ids, pos_dates = by_model["pos.order"]
        if pos_ids:
            cr.execute(
                """
                UPDATE pos_order o SET date_order = v.d, create_date = v.d
                  FROM unnest(%s::int[], %s::timestamp[]) AS v(id, d)
                 WHERE o.id = v.id
                """,
                [pos_ids, pos_dates],
            )
            cr.execute(
                """
                UPDATE pos_payment p SET payment_date = v.d
                  FROM unnest(%s::int[], %s::timestamp[]) AS v(id, d)
                 WHERE p.pos_order_id = v.id
                """,
                [pos_ids, pos_dates],
            )
        # Dates written in SQL: the KPI order facts of these orders again.
        self.env["loyalty.kpi.order"]._touch_orders("sale", sale_ids)
        self.env["loyalty.kpi.order"]._touch_orders("pos", pos_ids)
        # Last activity: the last day a member earned or redeemed.
        cr.execute(
            """
            UPDATE res_partner p SET loyalty_last_activity_date = a.d
              FROM (SELECT partner_id, MAX(date)::date AS d
                      FROM loyalty_ledger_line
                     WHERE entry_type IN ('earn', 'redeem') AND partner_id IS NOT NULL
                     GROUP BY partner_id) a
             WHERE p.id = a.partner_id
            """
        )
        self.env.invalidate_all()
