"""The bot's words in English, Russian and Uzbek (Latin script), and numbers written the way each language writes
them. `t(key, lang, **values)` falls back to English for a language or a key that is missing, so a gap in a
translation shows English instead of failing a digest.

Uzbek Latin uses U+02BB (ʻ) in oʻ and gʻ and U+02BC (ʼ) for the tutuq belgisi, as the 1995 alphabet prescribes.
"""

from __future__ import annotations

import importlib
import pkgutil
from datetime import date

LANGS = ("en", "ru", "uz")
DEFAULT_LANG = "en"

MESSAGES: dict[str, dict[str, str]] = {
    "digest.title.daily": {
        "en": "Daily digest, {date}",
        "ru": "Ежедневная сводка, {date}",
        "uz": "Kunlik hisobot, {date}",
    },
    "digest.title.weekly": {
        "en": "Weekly digest, {date_from} – {date_to}",
        "ru": "Недельная сводка, {date_from} – {date_to}",
        "uz": "Haftalik hisobot, {date_from} – {date_to}",
    },
    "digest.subscribers": {
        "en": "Subscribers: {subscribers} ({change})",
        "ru": "Подписчики: {subscribers} ({change})",
        "uz": "Obunachilar: {subscribers} ({change})",
    },
    "digest.posts": {
        "en": "Posts: {posts}",
        "ru": "Публикаций: {posts}",
        "uz": "Postlar: {posts}",
    },
    "digest.best_post": {
        "en": "Best post: {views} views in 24 h {link}",
        "ru": "Лучший пост: {views} просмотров за 24 ч {link}",
        "uz": "Eng yaxshi post: 24 soatda {views} koʻrish {link}",
    },
    "digest.err": {
        "en": "ERR: {err}",
        "ru": "ERR: {err}",
        "uz": "ERR: {err}",
    },
    "digest.no_data": {
        "en": "No data yet",
        "ru": "Данных пока нет",
        "uz": "Hozircha maʼlumot yoʻq",
    },
    "digest.no_channels": {
        "en": "You have no channels connected yet.",
        "ru": "У вас пока нет подключённых каналов.",
        "uz": "Sizda hali ulangan kanal yoʻq.",
    },
    "chart.subscribers": {
        "en": "Subscribers",
        "ru": "Подписчики",
        "uz": "Obunachilar",
    },
    "chart.forecast": {
        "en": "Forecast (80% range)",
        "ru": "Прогноз (80% интервал)",
        "uz": "Prognoz (80% oraliq)",
    },
    "chart.top_posts": {
        "en": "Views in 24 h of the top posts",
        "ru": "Просмотры за 24 ч у лучших постов",
        "uz": "Eng yaxshi postlarning 24 soatdagi koʻrishlari",
    },
    "chart.heatmap": {
        "en": "Views in 24 h per subscriber by weekday and hour ({time_zone})",
        "ru": "Просмотры за 24 ч на подписчика по дням и часам ({time_zone})",
        "uz": "Hafta kuni va soat boʻyicha obunachiga 24 soatdagi koʻrishlar ({time_zone})",
    },
    "report.title": {
        "en": "Channel report: {title}",
        "ru": "Отчёт по каналу: {title}",
        "uz": "Kanal hisoboti: {title}",
    },
    "report.period": {
        "en": "{date_from} – {date_to} (snapshot {version})",
        "ru": "{date_from} – {date_to} (снимок {version})",
        "uz": "{date_from} – {date_to} (surat {version})",
    },
    "report.growth": {
        "en": "Growth over {days} days: {change}",
        "ru": "Прирост за {days} дн.: {change}",
        "uz": "{days} kunlik oʻsish: {change}",
    },
    "report.avg_post_reach": {
        "en": "Average post reach: {value}",
        "ru": "Средний охват поста: {value}",
        "uz": "Postning oʻrtacha qamrovi: {value}",
    },
    "report.err24": {
        "en": "ERR24: {value}",
        "ru": "ERR24: {value}",
        "uz": "ERR24: {value}",
    },
    "report.er": {
        "en": "ER: {value}",
        "ru": "ER: {value}",
        "uz": "ER: {value}",
    },
    "report.sheet.posts": {"en": "Posts", "ru": "Посты", "uz": "Postlar"},
    "report.sheet.daily": {"en": "Daily", "ru": "По дням", "uz": "Kunlik"},
    "report.col.posted_at": {"en": "Posted at (local)", "ru": "Время (местное)", "uz": "Vaqt (mahalliy)"},
    "report.col.views_24h": {"en": "Views in 24 h", "ru": "Просмотры за 24 ч", "uz": "24 soatda koʻrish"},
    "report.col.er": {"en": "ER", "ru": "ER", "uz": "ER"},
    "report.col.link": {"en": "Link", "ru": "Ссылка", "uz": "Havola"},
    # -- onboarding and help (bot/onboarding.py) --
    "start.welcome": {
        "en": "Hi! I am AnalyticBot: I collect your channels' posts and numbers and tell you what works.\n"
              "Choose your language:",
        "ru": "Привет! Я AnalyticBot: собираю посты и цифры ваших каналов и подсказываю, что работает.\n"
              "Выберите язык:",
        "uz": "Salom! Men AnalyticBot: kanallaringiz postlari va raqamlarini yigʻaman va nima ishlashini aytaman.\n"
              "Tilni tanlang:",
    },
    "start.language_set": {
        "en": "Language: English",
        "ru": "Язык: русский",
        "uz": "Til: oʻzbekcha",
    },
    "start.ask_time_zone": {
        "en": "Which time zone should your numbers and digests use? Pick one or send its name, e.g. Asia/Tashkent.",
        "ru": "В каком часовом поясе показывать цифры и сводки? Выберите или пришлите название, например Asia/Tashkent.",
        "uz": "Raqamlar va hisobotlar qaysi vaqt mintaqasida boʻlsin? Tanlang yoki nomini yuboring, masalan Asia/Tashkent.",
    },
    "start.time_zone_set": {
        "en": "Time zone: {zone}.",
        "ru": "Часовой пояс: {zone}.",
        "uz": "Vaqt mintaqasi: {zone}.",
    },
    "start.unknown_time_zone": {
        "en": "I don't know that time zone. Pick one below or send a name like Europe/Berlin.",
        "ru": "Не знаю такого часового пояса. Выберите ниже или пришлите название вроде Europe/Moscow.",
        "uz": "Bunday vaqt mintaqasini bilmayman. Quyidan tanlang yoki Asia/Tashkent kabi nom yuboring.",
    },
    "help.text": {
        "en": "/stats – channel numbers and subscribers chart\n/top – best posts by views in 24 h\n"
              "/post <link> – one post's views over time\n/besttime – best time to post\n"
              "/report – PDF and Excel report\n/channels – your channels (connect one by adding me as an admin)\n"
              "/watermark – your mark on photos and videos (paid plans)\n"
              "/plan – your plan and usage\n/upgrade – upgrade your plan\n"
              "/digest – when your digest comes\n/alerts – alerts on or off\n"
              "/quiet – quiet hours for alerts\n"
              "/mydata – download everything stored about you\n/deleteme – delete your account and channels\n"
              "/start – language and time zone\n"
              "/help – this message",
        "ru": "/stats – цифры канала и график подписчиков\n/top – лучшие посты по просмотрам за 24 ч\n"
              "/post <ссылка> – просмотры одного поста во времени\n/besttime – лучшее время для публикации\n"
              "/report – отчёт в PDF и Excel\n/channels – ваши каналы (подключите, добавив меня администратором)\n"
              "/watermark – ваш знак на фото и видео (платные тарифы)\n"
              "/plan – ваш тариф и его использование\n/upgrade – повысить тариф\n"
              "/digest – когда приходит сводка\n/alerts – оповещения вкл/выкл\n"
              "/quiet – тихие часы для оповещений\n"
              "/mydata – скачать все данные о вас\n/deleteme – удалить аккаунт и каналы\n"
              "/start – язык и часовой пояс\n"
              "/help – эта подсказка",
        "uz": "/stats – kanal raqamlari va obunachilar grafigi\n/top – 24 soatdagi koʻrishlar boʻyicha eng yaxshi postlar\n"
              "/post <havola> – bitta postning vaqt boʻyicha koʻrishlari\n/besttime – post joylash uchun eng yaxshi vaqt\n"
              "/report – PDF va Excel hisobot\n/channels – kanallaringiz (meni administrator qilib qoʻshing)\n"
              "/watermark – rasm va videolarga belgingiz (pullik tariflar)\n"
              "/plan – tarifingiz va undan foydalanish\n/upgrade – tarifni oshirish\n"
              "/digest – hisobot qachon kelishi\n/alerts – ogohlantirishlarni yoqish/oʻchirish\n"
              "/quiet – ogohlantirishlar uchun sokin soatlar\n"
              "/mydata – siz haqingizdagi barcha maʼlumotlarni yuklab olish\n"
              "/deleteme – akkaunt va kanallarni oʻchirish\n/start – til va vaqt mintaqasi\n"
              "/help – shu yordam",
    },
    "unknown.command": {
        "en": "I didn't understand that. Send /help to see what I can do.",
        "ru": "Не понял. Отправьте /help, чтобы узнать, что я умею.",
        "uz": "Tushunmadim. Nimalar qila olishimni bilish uchun /help yuboring.",
    },
    "command.start": {
        "en": "Language and time zone",
        "ru": "Язык и часовой пояс",
        "uz": "Til va vaqt mintaqasi",
    },
    "command.help": {
        "en": "What the bot can do",
        "ru": "Что умеет бот",
        "uz": "Bot nimalar qila oladi",
    },
    "menu.open_app": {
        "en": "Open",
        "ru": "Открыть",
        "uz": "Ochish",
    },
}



def _merge_feature_catalogues() -> None:
    """Each feature keeps its words in `bot/locales/<feature>.py` (a `MESSAGES` dict like the one above), so a
    feature's texts sit next to its other files in review. A key defined twice is a mistake, not an override."""
    from bot import locales

    for info in sorted(pkgutil.iter_modules(locales.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"bot.locales.{info.name}")
        for key, texts in module.MESSAGES.items():
            if key in MESSAGES:
                raise RuntimeError(f"message key {key!r} in bot/locales/{info.name}.py is already defined")
            MESSAGES[key] = texts


_merge_feature_catalogues()

WEEKDAYS = {  # Monday first, as `date.weekday()` and the heatmap's weekday column count
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "ru": ("понедельник", "вторник", "среда", "четверг", "пятница", "суббота", "воскресенье"),
    "uz": ("dushanba", "seshanba", "chorshanba", "payshanba", "juma", "shanba", "yakshanba"),
}
WEEKDAYS_SHORT = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "ru": ("пн", "вт", "ср", "чт", "пт", "сб", "вс"),
    "uz": ("du", "se", "ch", "pa", "ju", "sh", "ya"),
}
_MONTHS_SHORT = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "ru": ("янв", "фев", "мар", "апр", "мая", "июн", "июл", "авг", "сен", "окт", "ноя", "дек"),
    "uz": ("yan", "fev", "mar", "apr", "may", "iyn", "iyl", "avg", "sen", "okt", "noy", "dek"),
}
# Digit groups and the decimal mark. Russian and Uzbek group with a narrow no-break space (U+202F), so a number
# never wraps across lines in a Telegram message.
_GROUP = {"en": ",", "ru": "\u202f", "uz": "\u202f"}
_DECIMAL = {"en": ".", "ru": ",", "uz": ","}
_PERCENT = {"en": "%", "ru": "\u00a0%", "uz": "%"}


def lang_of(lang: str | None) -> str:
    """The language to answer in: a Telegram `language_code` such as "ru-RU" maps to "ru"; unknown -> English."""
    code = (lang or "").split("-")[0].lower()
    return code if code in LANGS else DEFAULT_LANG


def t(key: str, lang: str | None, **values: object) -> str:
    texts = MESSAGES.get(key)
    if texts is None:
        return key  # a missing key shows itself: visible in review, never a crash in a digest
    return texts.get(lang_of(lang), texts[DEFAULT_LANG]).format(**values)


def fmt_int(value: float | None, lang: str | None) -> str:
    if value is None:
        return "–"
    return f"{round(value):,}".replace(",", _GROUP[lang_of(lang)])


def fmt_signed(value: float | None, lang: str | None) -> str:
    """+1,234 / −56 (a real minus sign) / 0."""
    if value is None:
        return "–"
    sign = "+" if value > 0 else "−" if value < 0 else ""
    return sign + fmt_int(abs(value), lang)


def fmt_percent(ratio: float | None, lang: str | None, digits: int = 1, signed: bool = False) -> str:
    """A ratio (0.176) as a percent in the language's style: 17.6% / 17,6 % / 17,6%."""
    if ratio is None:
        return "–"
    code = lang_of(lang)
    shown = round(abs(ratio) * 100, digits)
    sign = "−" if ratio < 0 and shown else "+" if signed and ratio > 0 and shown else ""
    text = f"{shown:.{digits}f}".replace(".", _DECIMAL[code])
    return sign + text + _PERCENT[code]


def fmt_decimal(value: float | None, lang: str | None, digits: int = 2) -> str:
    """1.35 / 1,35: a plain number with the language's decimal mark."""
    if value is None:
        return "–"
    return f"{value:.{digits}f}".replace(".", _DECIMAL[lang_of(lang)])


def fmt_date(day: date, lang: str | None) -> str:
    """29 Sep 2026 / 29 сен 2026."""
    code = lang_of(lang)
    return f"{day.day} {_MONTHS_SHORT[code][day.month - 1]} {day.year}"


def weekday_name(weekday: int, lang: str | None, short: bool = False) -> str:
    """Monday = 0, as `date.weekday()`."""
    return (WEEKDAYS_SHORT if short else WEEKDAYS)[lang_of(lang)][weekday]
