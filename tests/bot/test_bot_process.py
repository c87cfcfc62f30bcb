"""`make bot` as a process: without a token it says what is missing; with one it starts against a Bot API server
(a local stand-in speaking Telegram's HTTP protocol, the way a self-hosted telegram-bot-api would), sets its
commands in each language, answers /start through long polling, and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from aiohttp import web

from analyticbot.appstore.db import AppStore
from analyticbot.appstore.models import User
from analyticbot.settings import Settings
from bot.app import COMMANDS
from bot.i18n import t
from tests.bot.fake_telegram import BOT_TOKEN, BOT_USER

ROOT = Path(__file__).resolve().parents[2]


class BotAPIServer:
    """Telegram's Bot API over HTTP: `/bot<token>/<method>` with form or multipart parameters, answers in the
    `{"ok": true, "result": ...}` envelope. getUpdates hands out the queued updates once, then long-polls briefly."""

    def __init__(self, updates: list[dict]):
        self.updates, self.calls = list(updates), []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.url = ""

    async def _handle(self, request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        if token != BOT_TOKEN:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        params = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        self.calls.append((method, params))
        if method == "getMe":
            return web.json_response({"ok": True, "result": BOT_USER})
        if method == "getUpdates":
            if self.updates:
                batch, self.updates = self.updates, []
                return web.json_response({"ok": True, "result": batch})
            await asyncio.sleep(0.2)
            return web.json_response({"ok": True, "result": []})
        if method == "sendMessage":
            chat_id = int(params["chat_id"])
            return web.json_response({"ok": True, "result": {
                "message_id": len(self.calls), "date": int(time.time()), "text": params["text"],
                "chat": {"id": chat_id, "type": "private", "first_name": "T"}, "from": BOT_USER}})
        return web.json_response({"ok": True, "result": True})  # setMyCommands, setChatMenuButton, ...

    def start(self) -> str:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        runner = web.AppRunner(app)
        self._thread.start()

        async def up():
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            return runner, runner.addresses[0][1]

        self._runner, port = asyncio.run_coroutine_threadsafe(up(), self._loop).result(10)
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def called(self, method: str) -> list[dict]:
        return [p for m, p in list(self.calls) if m == method]


def bot_env(data_dir: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "ANALYTICBOT_APP_DB_URL",
                                                             "ANALYTICBOT_WAREHOUSE_URL", "TELEGRAM_BOT_API_URL")}
    env.update(ANALYTICBOT_DATA_DIR=str(data_dir), PYTHONPATH=str(ROOT), **extra)
    return env


def test_without_a_token_it_says_what_is_missing(tmp_path):
    done = subprocess.run([sys.executable, "-m", "bot.app"], cwd=ROOT, env=bot_env(tmp_path / "data"),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "BOT_TOKEN" in done.stderr and "@BotFather" in done.stderr and "BOT_TOKEN=<its token> make bot" in done.stderr


START = {"update_id": 1, "message": {
    "message_id": 1, "date": int(time.time()), "text": "/start",
    "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
    "chat": {"id": 1001, "type": "private", "first_name": "T"},
    "from": {"id": 1001, "is_bot": False, "first_name": "T", "language_code": "ru"}}}


def test_with_a_token_it_polls_answers_start_and_stops_on_sigterm(data_dir):
    api = BotAPIServer([START])
    url = api.start()
    data = data_dir
    proc = subprocess.Popen([sys.executable, "-m", "bot.app"], cwd=ROOT,
                            env=bot_env(data, BOT_TOKEN=BOT_TOKEN, TELEGRAM_BOT_API_URL=url),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        while not api.called("sendMessage") and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        [welcome] = api.called("sendMessage")
        assert (welcome["chat_id"], welcome["text"]) == ("1001", t("start.welcome", "ru"))
        commands = {p.get("language_code"): [c["command"] for c in json.loads(p["commands"])]
                    for p in api.called("setMyCommands")}
        assert commands == {None: list(COMMANDS), "ru": list(COMMANDS), "uz": list(COMMANDS)}
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        api.stop()
    assert proc.returncode == 0, out
    store = AppStore(Settings.from_env())  # data_dir points the settings at the process's data dir
    try:
        with store.transaction() as s:
            assert s.get(User, 1001).language == "ru"  # /start registered the user in the operational store
    finally:
        store.dispose()

