"""The bot process: aiogram long polling, and the outbox sender beside it (`make bot`).

Handlers get the operational store as `store` (aiogram passes dispatcher workflow data to handlers by name).
Everything the bot sends on its own (digests, alerts, broadcasts) goes through `bot.outbox`, which paces it
within Telegram's limits; direct replies to a command are answered at once. `bot.scheduler` runs beside the
sender and queues each owner's digest at their local hour and alerts as new snapshots show them.

Webhook mode: the same dispatcher can serve updates from `aiogram.webhook.aiohttp_server.SimpleRequestHandler`
behind HTTPS (Telegram's `setWebhook` with a secret token); long polling needs no public address, which is why
`make bot` uses it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import BotCommand, MenuButtonWebApp, WebAppInfo

from analyticbot.appstore.db import AppStore, migrate
from analyticbot.settings import ConfigError, Settings, get_settings
from analyticbot.snapshot import SnapshotReader
from bot import admin, billing, channels, onboarding, privacy, protection, settings_commands, stats
from bot.context import AccountMiddleware
from bot.i18n import LANGS, t
from bot.outbox import OutboxSender
from bot.scheduler import Scheduler

log = logging.getLogger("analyticbot.bot")
COMMANDS = ("start", "help", "stats", "top", "post", "besttime", "report", "channels", "watermark", "plan",
            "upgrade", "digest", "alerts", "quiet", "mydata", "deleteme")


def feature_routers() -> list:
    """One router per feature, in the order they get an update; the fallback (unknown input) comes last."""
    return [onboarding.router(), stats.router(), channels.router(), billing.router(), protection.router(),
            settings_commands.router(), privacy.router(), admin.router()]


def create_dispatcher(store: AppStore, snapshots: SnapshotReader | None = None,
                      settings: Settings | None = None) -> Dispatcher:
    """The dispatcher with every feature. Handlers get `store`, `snapshots` and `settings` from here, and
    `account` and `lang` from `AccountMiddleware`, by parameter name."""
    settings = settings or store.settings
    dp = Dispatcher(storage=MemoryStorage(), store=store, settings=settings,
                    snapshots=snapshots or SnapshotReader(settings))
    accounts = AccountMiddleware(store)
    dp.message.outer_middleware(accounts)
    dp.callback_query.outer_middleware(accounts)
    for r in feature_routers():
        dp.include_router(r)
    dp.include_router(onboarding.fallback_router())
    return dp


async def configure(bot: Bot, settings: Settings) -> None:
    """The command list in each language, and the menu button that opens the Mini App (when its public HTTPS
    address is configured: Telegram opens only https:// Mini Apps)."""
    for lang in LANGS:
        await bot.set_my_commands([BotCommand(command=c, description=t(f"command.{c}", lang)) for c in COMMANDS],
                                  language_code=None if lang == "en" else lang)
    if settings.miniapp_url:
        await bot.set_chat_menu_button(menu_button=MenuButtonWebApp(
            text=t("menu.open_app", "en"), web_app=WebAppInfo(url=settings.miniapp_url)))
    else:
        log.warning("ANALYTICBOT_MINIAPP_URL is not set: no menu button opens the Mini App")


def _session(settings: Settings) -> AiohttpSession:
    if settings.telegram_bot_api_url:
        return AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_bot_api_url.rstrip("/")))
    return AiohttpSession()


async def run(settings: Settings) -> None:
    migrate(settings)
    store = AppStore(settings)
    bot = Bot(token=settings.require("bot_token"), session=_session(settings))
    dp = create_dispatcher(store, SnapshotReader(settings), settings)
    stop = asyncio.Event()
    background: list[asyncio.Task] = []
    try:
        await configure(bot, settings)
        # The scheduler queues digests and alerts; the sender delivers the queue within Telegram's limits.
        background = [asyncio.create_task(OutboxSender(store, bot).run(stop)),
                      asyncio.create_task(Scheduler(store, SnapshotReader(settings),
                                                          workers=os.cpu_count() or 1).run(stop))]
        await dp.start_polling(bot, handle_signals=True)
    finally:
        stop.set()
        await asyncio.gather(*background)
        await bot.session.close()
        store.dispose()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = get_settings()
        settings.require("bot_token")
    except ConfigError as exc:
        print(f"{exc}. Create a bot with @BotFather in Telegram, then run: BOT_TOKEN=<its token> make bot\n"
              "Optional: ANALYTICBOT_MINIAPP_URL=https://<your host>/app/ for the menu button that opens the "
              "Mini App (served by `make api`).", file=sys.stderr)
        return 2
    asyncio.run(run(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
