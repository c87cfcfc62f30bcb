import string
from datetime import date

from bot.i18n import LANGS, MESSAGES, fmt_date, fmt_int, fmt_percent, fmt_signed, lang_of, t, weekday_name


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_exists_in_every_language_with_the_same_placeholders():
    for key, texts in MESSAGES.items():
        assert set(texts) == set(LANGS), key
        assert len({frozenset(_placeholders(s)) for s in texts.values()}) == 1, key


def test_missing_language_or_key_falls_back():
    assert t("digest.posts", "de", posts=3) == "Posts: 3"
    assert t("digest.posts", "ru-RU", posts=3) == "Публикаций: 3"
    assert t("no.such.key", "ru") == "no.such.key"
    assert lang_of(None) == "en"


def test_numbers_per_language():
    assert fmt_int(1234567, "en") == "1,234,567"
    assert fmt_int(1234567, "ru") == "1\u202f234\u202f567"
    assert fmt_signed(-56, "en") == "−56" and fmt_signed(1200, "uz") == "+1\u202f200"
    assert fmt_percent(0.1764, "en") == "17.6%"
    assert fmt_percent(0.1764, "ru") == "17,6\u00a0%"
    assert fmt_percent(-0.0004, "uz", signed=True) == "0,0%"  # no sign on a rounded zero
    assert fmt_percent(None, "en") == "–"


def test_weekday_and_month_names():
    assert weekday_name(0, "uz") == "dushanba" and weekday_name(6, "ru", short=True) == "вс"
    assert fmt_date(date(2026, 9, 29), "ru") == "29 сен 2026"
