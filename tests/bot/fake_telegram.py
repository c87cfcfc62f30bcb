"""A Bot API session with no network: records every call and answers in Telegram's documented shapes.

Every answer, success or error, is a Bot API JSON body that goes through aiogram's own
`BaseSession.check_response`, so handlers see real aiogram types and real exceptions (`TelegramRetryAfter`,
`TelegramForbiddenError`, ...). Shared by all bot tests.

    clock = FakeClock()
    session = FakeTelegramSession(clock=clock)
    bot = make_bot(session)
    session.fail("sendMessage", retry_after(3), chat_id=42)   # the next sendMessage to 42 gets a 429
    session.script("getChatMember", member_status("administrator"))
    await dp.feed_update(bot, private_message("/start", user_id=42))
    assert session.sent_texts(42) == ["Hello"]
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, AsyncGenerator, Callable

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import TelegramMethod
from aiogram.types import AcceptedGiftTypes, ChatMemberAdministrator, Update

BOT_TOKEN = "42:TEST"
BOT_ID = 42
T0 = 1_800_000_000.0  # 2027-01-15 08:00 UTC: a fixed start for fake clocks


class FakeClock:
    """Seconds since the epoch that only move when something sleeps. `sleep` yields to the event loop first, so
    tasks that are ready run at the current time before it moves on."""

    def __init__(self, start: float = T0):
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)
        if seconds > 0:
            self.slept.append(seconds)
            self.now += seconds
        await asyncio.sleep(0)


@dataclass
class Call:
    """One Bot API request as aiogram built it."""
    method: TelegramMethod
    at: float
    ok: bool = True  # False when the scripted answer was an error

    @property
    def name(self) -> str:
        return self.method.__api_method__

    @property
    def chat_id(self) -> int | str | None:
        return getattr(self.method, "chat_id", None)


# A reply is a Bot API response body: a dict, or a function of the method returning one.
Reply = dict | Callable[[TelegramMethod], dict]


def ok(result: Any) -> dict:
    return {"ok": True, "result": result}


def error(code: int, description: str, **parameters: Any) -> dict:
    body = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return body


def retry_after(seconds: int) -> dict:
    return error(429, f"Too Many Requests: retry after {seconds}", retry_after=seconds)


BLOCKED = error(403, "Forbidden: bot was blocked by the user")
KICKED = error(403, "Forbidden: bot was kicked from the channel chat")
CHAT_NOT_FOUND = error(400, "Bad Request: chat not found")
SERVER_ERROR = error(502, "Bad Gateway")


def user_json(user_id: int, *, is_bot: bool = False, first_name: str = "Test", username: str | None = None,
              language_code: str | None = "en") -> dict:
    user = {"id": user_id, "is_bot": is_bot, "first_name": first_name}
    if username:
        user["username"] = username
    if language_code:
        user["language_code"] = language_code
    return user


BOT_USER = user_json(BOT_ID, is_bot=True, first_name="AnalyticBot", username="analytic_test_bot",
                     language_code=None)


def chat_json(chat_id: int | str, kind: str | None = None, title: str | None = None) -> dict:
    """A Chat as Telegram shows it. Ids follow Telegram's convention: users > 0, basic groups < 0, channels and
    supergroups -100xxxxxxxxxx."""
    if kind is None:
        cid = int(chat_id)
        kind = "private" if cid > 0 else "channel" if str(cid).startswith("-100") else "group"
    chat = {"id": int(chat_id), "type": kind}
    if kind == "private":
        chat["first_name"] = "Test"
    else:
        chat["title"] = title or f"Chat {chat_id}"
    return chat


def member_status(status: str, user_id: int = 1, **extra: Any) -> dict:
    """A getChatMember answer: creator | administrator | member | left | kicked (Telegram's status names)."""
    member = {"status": status, "user": user_json(user_id)}
    if status == "creator":
        member.setdefault("is_anonymous", False)
    if status == "administrator":
        # no rights but what a bot that reads a channel's statistics needs
        member.update(_all_false(ChatMemberAdministrator))
        member.update(can_manage_chat=True, can_post_messages=True, can_invite_users=True)
    if status == "kicked":
        member.setdefault("until_date", 0)
    member.update(extra)
    return ok(member)


def _all_false(model: type) -> dict:
    """Every required flag of an aiogram type, off: the set grows with Bot API versions."""
    return {name: False for name, f in model.model_fields.items() if f.is_required() and f.annotation is bool}


@dataclass
class _Scripted:
    reply: Reply
    chat_id: int | None
    times: int | None  # None: every matching call


class FakeTelegramSession(BaseSession):
    def __init__(self, clock: Callable[[], float] | None = None):
        super().__init__()
        self.clock = clock or FakeClock()
        self.calls: list[Call] = []
        self.chats: dict[int, dict] = {}  # chat_id -> Chat json, for chats whose id alone does not say enough
        self._scripts: dict[str, list[_Scripted]] = {}
        self._message_ids = 0
        self.files: dict[str, bytes] = {}  # file_id -> content, served by getFile + stream_content

    # -- scripting --------------------------------------------------------------------------------------
    def script(self, api_method: str, reply: Reply, *, chat_id: int | None = None,
               times: int | None = None) -> None:
        """Answer `api_method` (Bot API name, e.g. "getChatMember") with `reply`, for one chat or all, for the
        next `times` calls or for good. The newest script wins."""
        self._scripts.setdefault(api_method, []).insert(0, _Scripted(reply, chat_id, times))

    def fail(self, api_method: str, reply: dict, *, chat_id: int | None = None, times: int | None = 1) -> None:
        """Answer with an error body (`retry_after(3)`, `BLOCKED`, ...), once by default."""
        self.script(api_method, reply, chat_id=chat_id, times=times)

    def add_file(self, file_id: str, data: bytes) -> None:
        """Serve `data` for `file_id`: getFile answers with its size and a path, the download streams it."""
        self.files[file_id] = data

    # -- reading what happened --------------------------------------------------------------------------
    def called(self, api_method: str | None = None, chat_id: int | None = None, *,
               accepted: bool | None = None) -> list[Call]:
        """Calls in order, optionally of one method, to one chat, and only those Telegram accepted (or not)."""
        return [c for c in self.calls
                if (api_method is None or c.name == api_method) and (chat_id is None or c.chat_id == chat_id)
                and (accepted is None or c.ok == accepted)]

    def sent_texts(self, chat_id: int | None = None) -> list[str]:
        """Texts of the messages Telegram accepted, in order."""
        return [c.method.text for c in self.called("sendMessage", chat_id, accepted=True)]

    # -- BaseSession ------------------------------------------------------------------------------------
    async def make_request(self, bot: Bot, method: TelegramMethod, timeout: int | None = None) -> Any:
        call = Call(method, self.clock())
        self.calls.append(call)
        body = self._scripted(method)
        if body is None:
            body = ok(self._default_result(method))
        elif callable(body):
            body = body(method)
        call.ok = bool(body.get("ok"))
        status = 200 if body.get("ok") else int(body["error_code"])
        response = self.check_response(bot, method, status, self.json_dumps(body))
        return response.result

    async def stream_content(self, url: str, headers: dict | None = None, timeout: int = 30,
                             chunk_size: int = 65536, raise_for_status: bool = True) -> AsyncGenerator[bytes, None]:
        # file_url is .../file/bot<token>/<file_path>; add_file's paths are files/<file_id>
        data = self.files.get(url.rsplit("/files/", 1)[-1], b"") if "/files/" in url else b""
        for start in range(0, len(data), chunk_size):
            yield data[start:start + chunk_size]
        if not data:
            yield b""

    async def close(self) -> None:
        pass

    def _scripted(self, method: TelegramMethod) -> Reply | None:
        chat_id = getattr(method, "chat_id", None)
        for s in self._scripts.get(method.__api_method__, []):
            if s.chat_id is not None and s.chat_id != chat_id:
                continue
            if s.times is not None:
                s.times -= 1
                if s.times == 0:
                    self._scripts[method.__api_method__].remove(s)
            return s.reply
        return None

    def _default_result(self, method: TelegramMethod) -> Any:
        name = method.__api_method__
        if name == "getMe":
            return BOT_USER
        if name == "getChat":
            return {**self._chat(method.chat_id), "accent_color_id": 0, "max_reaction_count": 11,
                    "accepted_gift_types": _all_false(AcceptedGiftTypes)}
        if name == "getChatMember":
            return member_status("member", method.user_id)["result"]
        if name == "sendChatAction":  # the Bot API answers True, not a Message
            return True
        if name.startswith("send") or name in ("copyMessage", "forwardMessage"):
            return self._message(method)
        if name == "editMessageText":
            return self._message(method) if getattr(method, "chat_id", None) is not None else True
        if name == "getFile":
            result = {"file_id": method.file_id, "file_unique_id": f"u{method.file_id}"}
            if method.file_id in self.files:
                result.update(file_size=len(self.files[method.file_id]), file_path=f"files/{method.file_id}")
            return result
        if name in ("getUpdates", "getMyCommands"):
            return []
        # setMyCommands, setChatMenuButton, answerCallbackQuery, deleteMessage, setWebhook, ...
        return True

    def _chat(self, chat_id: int | str) -> dict:
        return self.chats.get(chat_id) or chat_json(chat_id)

    def _message(self, method: TelegramMethod) -> dict:
        self._message_ids += 1
        message = {"message_id": self._message_ids, "date": int(self.clock()), "chat": self._chat(method.chat_id)}
        if message["chat"]["type"] != "channel":
            message["from"] = BOT_USER
        text = getattr(method, "text", None)
        if isinstance(text, str):
            message["text"] = text
        if method.__api_method__ == "sendPhoto":
            message["photo"] = [{"file_id": f"photo{self._message_ids}", "file_unique_id": f"p{self._message_ids}",
                                 "width": 1280, "height": 720}]
        if method.__api_method__ == "sendDocument":
            message["document"] = {"file_id": f"doc{self._message_ids}", "file_unique_id": f"d{self._message_ids}"}
        caption = getattr(method, "caption", None)
        if isinstance(caption, str):
            message["caption"] = caption
        return message


def make_bot(session: FakeTelegramSession | None = None) -> Bot:
    return Bot(token=BOT_TOKEN, session=session or FakeTelegramSession())


# -- incoming updates, built with aiogram's own types -------------------------------------------------------
_update_ids = iter(range(1, 1_000_000_000))


def private_message(text: str, *, user_id: int = 1001, date: float = T0, message_id: int = 1,
                    language_code: str | None = "en") -> Update:
    """A private message from a user, as Telegram delivers it (a command gets its bot_command entity)."""
    message = {"message_id": message_id, "date": int(date), "chat": chat_json(user_id, "private"),
               "from": user_json(user_id, language_code=language_code), "text": text}
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return Update.model_validate({"update_id": next(_update_ids), "message": message})


def my_chat_member(chat_id: int, *, by_user_id: int = 1001, old: str = "left", new: str = "administrator",
                   kind: str | None = None, title: str | None = None, date: float = T0) -> Update:
    """The bot's own membership changed in a chat (added as admin to a channel, removed, blocked in private)."""
    return Update.model_validate({"update_id": next(_update_ids), "my_chat_member": {
        "chat": chat_json(chat_id, kind, title),
        "from": user_json(by_user_id),
        "date": int(date),
        "old_chat_member": member_status(old, BOT_ID)["result"] | {"user": BOT_USER},
        "new_chat_member": member_status(new, BOT_ID)["result"] | {"user": BOT_USER},
    }})


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc).replace(tzinfo=None)
