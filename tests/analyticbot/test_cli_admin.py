"""`analyticbot grant-admin`: sets the role with a "cli" audit row in the same transaction, refuses users who
never started the bot, and the bot's admin commands follow the role at once."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import select

from analyticbot import cli
from analyticbot.appstore.audit import CLI_ADMIN_ID
from analyticbot.appstore.db import AppStore
from analyticbot.appstore.models import AdminAuditLog, User
from bot.app import create_dispatcher
from bot.i18n import t
from tests.bot.fake_telegram import FakeTelegramSession, make_bot, private_message


@pytest.fixture
def store(settings):
    s = AppStore(settings)
    with s.transaction() as session:
        session.add(User(user_id=1001, language="en", time_zone="UTC"))
    yield s
    s.dispose()


def rows(store) -> list[tuple]:
    with store.transaction() as s:
        return [(r.admin_user_id, r.action, r.target, r.source, json.loads(r.detail).get("role_after"))
                for r in s.scalars(select(AdminAuditLog).order_by(AdminAuditLog.id))]


def role(store, user_id: int = 1001) -> str:
    with store.transaction() as s:
        return s.get(User, user_id).role


def bot_reply(store, text: str) -> str:
    session = FakeTelegramSession()
    asyncio.run(create_dispatcher(store).feed_update(make_bot(session), private_message(text)))
    [reply] = session.sent_texts(1001)
    return reply


def test_grant_then_revoke_sets_the_role_audits_it_and_the_bot_follows(store, capsys):
    assert bot_reply(store, "/user 1001") == t("unknown.command", "en")

    assert cli.main(["grant-admin", "1001"]) == 0
    assert "now an admin" in capsys.readouterr().out
    assert role(store) == "admin"
    assert rows(store) == [(CLI_ADMIN_ID, "grant_admin", "1001", "cli", "admin")]
    assert bot_reply(store, "/user 1001").startswith(t("admin.user.title", "en", user_id=1001))

    assert cli.main(["grant-admin", "1001"]) == 0  # already: nothing changes, nothing to audit
    assert "already" in capsys.readouterr().out
    assert [r[1] for r in rows(store)] == ["grant_admin", "user_lookup"]  # the lookup by the new admin only

    assert cli.main(["grant-admin", "1001", "--revoke"]) == 0
    assert role(store) == "owner"
    assert rows(store)[-1] == (CLI_ADMIN_ID, "revoke_admin", "1001", "cli", "owner")
    assert bot_reply(store, "/user 1001") == t("unknown.command", "en")


def test_a_user_who_never_started_the_bot_is_refused_with_the_reason(store, capsys):
    assert cli.main(["grant-admin", "424242"]) == 1
    assert "must send /start to the bot first" in capsys.readouterr().err
    assert rows(store) == []


@pytest.mark.parametrize("arg", ["abc", "-5", "0", str(2 ** 63)])
def test_a_bad_user_id_is_a_usage_error(store, arg, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["grant-admin", arg])
    assert exited.value.code == 2 and "not a Telegram user id" in capsys.readouterr().err
    assert role(store) == "owner" and rows(store) == []
