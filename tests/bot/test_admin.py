"""/user and /broadcast through the real dispatcher: for admins in each language, audited in the action's
transaction; for everyone else exactly an unknown command. Broadcasts are queued once per user however often
Confirm is tapped, skip users who blocked the bot, and are then delivered by the outbox sender."""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime

import pytest
from sqlalchemy import select

from analyticbot.appstore.db import AppStore, migrate
from analyticbot.appstore.models import AdminAuditLog, Channel, Order, OutboxMessage, User, UserActivityDaily
from bot import app
from bot.admin import clean_broadcast, parse_target
from analyticbot.entitlements import add_months
from analyticbot.payments.catalogue import PLANS_BY_CODE
from bot.billing import plan_name
from bot.i18n import LANGS, fmt_date, fmt_int, t
from bot.outbox import OutboxSender
from tests.bot.fake_telegram import FakeClock, FakeTelegramSession, chat_json, make_bot, private_message
from tests.bot.test_onboarding import callback

ADMIN, OWNER, OTHER, BLOCKED_USER = 1001, 2002, 2003, 2004


@pytest.fixture(params=["sqlite", "postgres"])
def any_store(request, data_dir, monkeypatch):
    """The operational store on each engine (row locks and upserts differ between them)."""
    if request.param == "postgres":
        monkeypatch.setenv("ANALYTICBOT_APP_DB_URL", request.getfixturevalue("pg_url"))
    migrate()
    s = AppStore()
    yield s
    s.dispose()


def add_user(store, user_id: int, *, role: str = "owner", language: str = "en", blocked: bool = False,
             time_zone: str = "UTC") -> None:
    with store.transaction() as s:
        s.add(User(user_id=user_id, role=role, language=language, time_zone=time_zone,
                   created_at=datetime(2026, 11, 3, 10, 0), blocked_at=datetime(2026, 12, 1) if blocked else None))


def community(store, admin_lang: str = "en") -> None:
    add_user(store, ADMIN, role="admin", language=admin_lang)
    add_user(store, OWNER, language="ru", time_zone="Asia/Tashkent")
    add_user(store, OTHER, language="uz")
    add_user(store, BLOCKED_USER, blocked=True)


class Bot:
    """One dispatcher and one fake Telegram for a whole conversation."""

    def __init__(self, store):
        self.session = FakeTelegramSession()
        self.bot = make_bot(self.session)
        self.dp = app.create_dispatcher(store)

    def feed(self, update) -> list:
        before = len(self.session.calls)
        asyncio.run(self.dp.feed_update(self.bot, update))
        return self.session.calls[before:]

    def say(self, text: str, user_id: int = ADMIN, language_code: str = "en") -> list[str]:
        return [c.method.text for c in self.feed(private_message(text, user_id=user_id, language_code=language_code))
                if c.name == "sendMessage"]

    def tap(self, data: str, user_id: int = ADMIN) -> tuple[list[str], list[str]]:
        """(callback answers, messages sent) for one button press."""
        calls = self.feed(callback(data, user_id=user_id))
        return ([c.method.text for c in calls if c.name == "answerCallbackQuery"],
                [c.method.text for c in calls if c.name == "sendMessage"])


def audit(store) -> list[AdminAuditLog]:
    with store.transaction() as s:
        return list(s.scalars(select(AdminAuditLog).order_by(AdminAuditLog.id)))


def outbox(store) -> list[OutboxMessage]:
    with store.transaction() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def preview(chat: Bot, text: str) -> tuple[list[str], str, str]:
    """Send /broadcast; returns (texts sent, confirm data, cancel data)."""
    before = len(chat.session.calls)
    texts = chat.say(f"/broadcast {text}")
    [shown] = [c for c in chat.session.calls[before:] if c.name == "sendMessage" and c.method.reply_markup]
    [[confirm, cancel]] = shown.method.reply_markup.inline_keyboard
    return texts, confirm.callback_data, cancel.callback_data


# -- /user ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", LANGS)
def test_user_lookup_shows_the_summary_in_the_admins_language_and_is_audited_once(store, lang):
    community(store, admin_lang=lang)
    with store.transaction() as s:
        s.add_all([Channel(channel_id=77, owner_user_id=OWNER, title="Tashkent News", username="tashnews",
                           source_kind="telethon", active=True, registered_at=datetime(2026, 11, 4)),
                   Channel(channel_id=78, owner_user_id=OWNER, title="Old Channel", source_kind="telethon",
                           active=False, registered_at=datetime(2026, 11, 5)),
                   UserActivityDaily(user_id=OWNER, activity_date=date(2026, 11, 20), bot_commands=3,
                                     miniapp_opens=0, reports_viewed=0),
                   Order(user_id=OWNER, plan_code="pro_month", gateway="payme", amount_tiyin=11_500_000,
                         status="paid", created_at=datetime.utcnow(), paid_at=datetime.utcnow())])
    chat = Bot(store)
    chat.session.chats[OWNER] = chat_json(OWNER, "private") | {"username": "dilnoza"}

    [text] = chat.say(f"/user {OWNER}")

    lines = text.split("\n")
    assert lines[0] == t("admin.user.title", lang, user_id=OWNER)
    for expected in (t("admin.user.username", lang, username="@dilnoza"),
                     t("admin.user.language", lang, language="Русский"),
                     t("admin.user.time_zone", lang, time_zone="Asia/Tashkent"),
                     t("admin.user.role", lang, role=t("admin.role.owner", lang)),
                     t("admin.user.status", lang, status=t("admin.user.not_blocked", lang)),
                     t("admin.user.channels", lang, count="2"),
                     t("admin.user.channel_line", lang, name="Tashkent News (@tashnews)",
                       state=t("admin.channel.active", lang)),
                     t("admin.user.channel_line", lang, name="Old Channel", state=t("admin.channel.inactive", lang))):
        assert expected in lines
    assert t("admin.user.created", lang, date=fmt_date(date(2026, 11, 3), lang)) in lines
    assert t("admin.user.last_active", lang, date=fmt_date(date(2026, 11, 20), lang)) in lines
    paid_until = fmt_date(add_months(datetime.utcnow(), 1).date(), lang)
    assert t("admin.user.plan", lang, plan=t("admin.user.plan_until", lang, date=paid_until,
                                               plan=plan_name(PLANS_BY_CODE["pro_month"], lang))) in lines
    [row] = audit(store)
    assert (row.admin_user_id, row.action, row.target, row.source) == (ADMIN, "user_lookup", str(OWNER), "bot")
    assert json.loads(row.detail) == {"found": True}


def test_user_lookup_by_channel_username_finds_its_owner(any_store):
    community(any_store)
    with any_store.transaction() as s:
        s.add(Channel(channel_id=77, owner_user_id=OTHER, title="Kino", username="KinoUz", source_kind="telethon"))
    chat = Bot(any_store)
    [text] = chat.say("/user @kinouz")
    assert text.split("\n")[:2] == [t("admin.user.title", "en", user_id=OTHER),
                                    t("admin.user.via_channel", "en", username="kinouz")]
    assert t("admin.user.username", "en", username=t("admin.none", "en")) in text  # Telegram knows no username
    assert t("admin.user.status", "en", status=t("admin.user.not_blocked", "en")) in text
    [row] = audit(any_store)
    assert (row.target, json.loads(row.detail)) == (str(OTHER), {"found": True, "channel_username": "kinouz"})


def test_a_blocked_user_with_no_activity_says_so(store):
    community(store)
    [text] = Bot(store).say(f"/user {BLOCKED_USER}")
    assert t("admin.user.status", "en", status=t("admin.user.blocked_since", "en", date="1 Dec 2026")) in text
    assert t("admin.user.last_active", "en", date=t("admin.never", "en")) in text
    assert t("admin.user.plan", "en", plan=t("billing.tier.free", "en")) in text


@pytest.mark.parametrize("lang", LANGS)
def test_an_unknown_user_or_channel_gets_a_clear_reply_and_the_probe_is_audited(store, lang):
    community(store, admin_lang=lang)
    chat = Bot(store)
    assert chat.say("/user 999999") == [t("admin.user.not_found", lang, user_id=999999)]
    assert chat.say("/user @nosuchchannel") == [t("admin.user.no_channel", lang, username="nosuchchannel")]
    assert [(r.action, r.target, json.loads(r.detail)) for r in audit(store)] == [
        ("user_lookup", "999999", {"found": False}),
        ("user_lookup", "@nosuchchannel", {"found": False, "channel_username": "nosuchchannel"})]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("arg", ["", "abc", "-5", "0", "@", "@bad name", "12 34", "\x00", "9" * 25, "@" + "a" * 40])
def test_a_bad_argument_gets_usage_and_no_audit_row(store, lang, arg):
    community(store, admin_lang=lang)
    assert Bot(store).say(f"/user {arg}".rstrip()) == [t("admin.user.usage", lang)]
    assert audit(store) == []


def test_parse_target():
    assert parse_target(" 2002 ") == 2002 and parse_target("@Kino_Uz") == "Kino_Uz"
    assert parse_target(str(2 ** 63)) is None and parse_target(None) is None


# -- not an admin -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("who", ["owner", "unregistered"])
def test_for_anyone_but_an_admin_the_commands_are_unknown(store, lang, who):
    community(store)
    user_id = OWNER if who == "owner" else 5555
    if who == "owner":
        with store.transaction() as s:
            s.get(User, OWNER).language = lang
    chat = Bot(store)
    unknown = chat.say("/nosuchcommand", user_id=user_id, language_code=lang)
    assert unknown == [t("unknown.command", lang)]
    for text in (f"/user {ADMIN}", "/user", "/broadcast hello everyone", "/broadcast"):
        assert chat.say(text, user_id=user_id, language_code=lang) == unknown
    assert audit(store) == [] and outbox(store) == []


def test_admin_commands_are_not_listed_or_in_help():
    assert "user" not in app.COMMANDS and "broadcast" not in app.COMMANDS
    for lang in LANGS:
        assert "/user" not in t("help.text", lang) and "/broadcast" not in t("help.text", lang)


def test_a_forged_confirm_from_a_non_admin_does_nothing(any_store):
    community(any_store)
    add_user(any_store, 1002, role="admin")
    chat = Bot(any_store)
    _, confirm, cancel = preview(chat, "Maintenance tonight")
    # an owner (in their language), a stranger, and an admin who did not write this preview
    for user_id, lang in ((OWNER, "ru"), (5555, "en"), (1002, "en")):
        for data in (confirm, cancel):
            assert chat.tap(data, user_id=user_id) == ([t("admin.unknown_choice", lang)], [])
    for data in ("adm:bc:ok:abc", "adm:bc:ok:999999", "adm:zz", f"adm:bc:ok:{confirm.rsplit(':', 1)[1]}:1"):
        assert chat.tap(data) == ([t("admin.unknown_choice", "en")], [])
    assert outbox(any_store) == [] and [r.action for r in audit(any_store)] == ["broadcast_preview"]


def test_a_confirm_pointing_at_another_audit_row_is_refused(store):
    community(store)
    chat = Bot(store)
    chat.say(f"/user {OWNER}")
    [lookup] = audit(store)
    assert chat.tap(f"adm:bc:ok:{lookup.id}") == ([t("admin.unknown_choice", "en")], [])
    assert outbox(store) == []


# -- /broadcast -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", LANGS)
def test_broadcast_preview_confirm_twice_queues_each_user_once_and_the_sender_delivers(any_store, lang):
    community(any_store, admin_lang=lang)
    chat = Bot(any_store)
    text = "New: weekly digests now show the best hour.\nTry /besttime 🚀"

    texts, confirm, cancel = preview(chat, text)

    assert texts == [t("admin.broadcast.preview", lang, recipients="3"), text]  # the blocked user is not counted
    [row] = audit(any_store)
    assert (row.action, row.admin_user_id, row.source) == ("broadcast_preview", ADMIN, "bot")
    assert json.loads(row.detail)["text"] == text and json.loads(row.detail)["recipients"] == 3
    assert (confirm, cancel) == (f"adm:bc:ok:{row.id}", f"adm:bc:no:{row.id}")
    assert outbox(any_store) == []  # nothing goes before Confirm

    assert chat.tap(confirm) == ([None], [t("admin.broadcast.queued", lang, count="3")])
    assert chat.tap(confirm) == ([None], [t("admin.broadcast.sent_already", lang)])
    assert chat.tap(cancel) == ([None], [t("admin.broadcast.sent_already", lang)])

    rows = outbox(any_store)
    assert sorted(r.chat_id for r in rows) == [ADMIN, OWNER, OTHER]
    assert {r.dedupe_key for r in rows} == {f"broadcast:{row.id}:{u}" for u in (ADMIN, OWNER, OTHER)}
    assert {(r.kind, r.chat_kind, r.status) for r in rows} == {("broadcast", "private", "queued")}
    assert [(r.action, r.target) for r in audit(any_store)] == [("broadcast_preview", None),
                                                                ("broadcast_sent", str(row.id))]
    assert json.loads(audit(any_store)[1].detail) == {"queued": 3}

    clock = FakeClock()
    telegram = FakeTelegramSession(clock=clock)
    report = asyncio.run(OutboxSender(any_store, make_bot(telegram), clock=clock, sleep=clock.sleep).drain())
    assert report.sent == 3
    for user_id in (ADMIN, OWNER, OTHER):
        assert telegram.sent_texts(user_id) == [text]
    assert telegram.called("sendMessage", BLOCKED_USER) == []
    assert {r.status for r in outbox(any_store)} == {"sent"}


def test_two_confirms_at_once_queue_once_and_record_one_send(any_store):
    community(any_store)
    chat = Bot(any_store)
    _, confirm, _ = preview(chat, "Both taps at once")

    async def double_tap():
        await asyncio.gather(*(chat.dp.feed_update(chat.bot, callback(confirm, user_id=ADMIN)) for _ in range(2)))

    before = len(chat.session.calls)
    asyncio.run(double_tap())
    replies = sorted(c.method.text for c in chat.session.calls[before:] if c.name == "sendMessage")
    assert replies == sorted([t("admin.broadcast.queued", "en", count="3"), t("admin.broadcast.sent_already", "en")])
    assert len(outbox(any_store)) == 3
    assert [r.action for r in audit(any_store)] == ["broadcast_preview", "broadcast_sent"]


def test_a_second_preview_is_its_own_broadcast(store):
    community(store)
    chat = Bot(store)
    _, first, _ = preview(chat, "one")
    _, second, _ = preview(chat, "two")
    chat.tap(first)
    chat.tap(second)
    assert sorted((r.chat_id, json.loads(r.payload)["params"]["text"]) for r in outbox(store)) == sorted(
        (u, text) for u in (ADMIN, OWNER, OTHER) for text in ("one", "two"))


@pytest.mark.parametrize("lang", LANGS)
def test_cancel_queues_nothing_and_a_later_confirm_neither(any_store, lang):
    community(any_store, admin_lang=lang)
    chat = Bot(any_store)
    _, confirm, cancel = preview(chat, "Never mind")
    assert chat.tap(cancel) == ([None], [t("admin.broadcast.cancelled", lang)])
    assert chat.tap(confirm) == ([None], [t("admin.broadcast.cancelled_already", lang)])
    assert chat.tap(cancel) == ([None], [t("admin.broadcast.cancelled_already", lang)])
    assert outbox(any_store) == []
    [_, cancelled] = audit(any_store)
    assert (cancelled.action, cancelled.target) == ("broadcast_cancelled", confirm.rsplit(":", 1)[1])


@pytest.mark.parametrize("lang", LANGS)
def test_broadcast_usage_and_length_limit_in_utf16_units(store, lang):
    community(store, admin_lang=lang)
    chat = Bot(store)
    for empty in ("/broadcast", "/broadcast    ", "/broadcast \x00\x1b\u202e"):
        assert chat.say(empty) == [t("admin.broadcast.usage", lang)]
    # 2,049 emoji are 2,049 code points but 4,098 UTF-16 units: over Telegram's 4,096
    def too_long(length):
        return [t("admin.broadcast.too_long", lang, length=fmt_int(length, lang), limit=fmt_int(4096, lang))]

    assert chat.say("/broadcast " + "😀" * 2049) == too_long(4098)
    assert chat.say("/broadcast " + "x" * 4097) == too_long(4097)
    assert audit(store) == []
    texts, _, _ = preview(chat, "😀" * 2048)
    assert texts[1] == "😀" * 2048


def test_control_characters_are_removed_from_a_broadcast(store):
    community(store)
    chat = Bot(store)
    texts, confirm, _ = preview(chat, "Hello\x07 \u202eworld\x1b[31m\r\nline two\tend\x00")
    assert texts[1] == "Hello world[31m\nline two\tend"
    chat.tap(confirm)
    assert {json.loads(r.payload)["params"]["text"] for r in outbox(store)} == {"Hello world[31m\nline two\tend"}


def test_clean_broadcast_keeps_emoji_sequences_and_line_breaks():
    family = "👨\u200d👩\u200d👧"  # joined by ZERO WIDTH JOINER (format, not control): must survive
    assert clean_broadcast(f"  {family}\r\nok\u2066x\u2069 ") == f"{family}\nok" + "x"
    assert clean_broadcast(None) == "" and clean_broadcast("\x00\x01") == ""
