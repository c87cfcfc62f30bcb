"""The bot process: aiogram long polling, and the outbox sender beside it (`make bot`).

Handlers get the operational store as `store` (aiogram passes dispatcher workflow data to handlers by name).
Everything the bot sends on its own (digests, alerts, broadcasts) goes through `bot.outbox`, which paces it
within Telegram's limits; direct replies to a command are answered at once.

Webhook mode: the same dispatcher can serve updates from `aiogram.webhook.aiohttp_server.SimpleRequestHandler`
behind HTTPS (Telegram's `setWebhook` with a secret token); long polling needs no public address, which is why
`make bot` uses it.
"""

from __future__ import annotations

import asyncio
import logging
import sys

from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import BotCommand, MenuButtonWebApp, WebAppInfo

from analyticbot.appstore.db import AppStore, migrate
from analyticbot.settings import ConfigError, Settings, get_settings
from analyticbot.snapshot import SnapshotReader
from bot import onboarding
from bot import stats
from bot import billing, channels, privacy
from bot.context import AccountMiddleware
from bot.i18n import LANGS, t
from bot.outbox import OutboxSender

log = logging.getLogger("analyticbot.bot")
COMMANDS = ("start", "help", "stats", "top", "post", "besttime", "report", "channels", "plan", "upgrade", "mydata",
            "deleteme")


def feature_routers() -> list:
    """One router per feature, in the order they get an update; the fallback (unknown input) comes last."""
    return [onboarding.router(), stats.router(), channels.router(), billing.router(), privacy.router()]


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


async def run(settings: Settings) -> None:
    migrate(settings)
    store = AppStore(settings)
    bot = Bot(token=settings.require("bot_token"))
    dp = create_dispatcher(store, SnapshotReader(settings), settings)
    stop = asyncio.Event()
    sending: asyncio.Task | None = None
    try:
        await configure(bot, settings)
        sending = asyncio.create_task(OutboxSender(store, bot).run(stop))
        await dp.start_polling(bot, handle_signals=True)
    finally:
        stop.set()
        if sending is not None:
            await sending
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
