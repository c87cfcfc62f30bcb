"""Words of the /digest command (bot/settings_commands.py): when the owner's digest comes."""

MESSAGES = {
    "schedule.current.daily": {
        "en": "Your digest comes every day at {hour}:00 ({zone}).",
        "ru": "Сводка приходит каждый день в {hour}:00 ({zone}).",
        "uz": "Hisobot har kuni soat {hour}:00 da keladi ({zone}).",
    },
    "schedule.current.weekly": {
        "en": "Your digest comes every {weekday} at {hour}:00 ({zone}).",
        "ru": "Сводка приходит раз в неделю, {weekday}, в {hour}:00 ({zone}).",
        "uz": "Hisobot har hafta, {weekday} kuni soat {hour}:00 da keladi ({zone}).",
    },
    "schedule.current.off": {
        "en": "Digests are off.",
        "ru": "Сводки выключены.",
        "uz": "Hisobotlar oʻchirilgan.",
    },
    "schedule.choose_period": {
        "en": "How often should it come?",
        "ru": "Как часто присылать?",
        "uz": "Qanchalik tez-tez yuborilsin?",
    },
    "schedule.choose_weekday": {
        "en": "On which day?",
        "ru": "В какой день?",
        "uz": "Qaysi kuni?",
    },
    "schedule.choose_hour": {
        "en": "At what hour ({zone})?",
        "ru": "В котором часу ({zone})?",
        "uz": "Soat nechada ({zone})?",
    },
    "schedule.button.daily": {"en": "Daily", "ru": "Каждый день", "uz": "Har kuni"},
    "schedule.button.weekly": {"en": "Weekly", "ru": "Раз в неделю", "uz": "Haftada bir"},
    "schedule.button.off": {"en": "Off", "ru": "Выключить", "uz": "Oʻchirish"},
    "schedule.bad": {
        "en": "Use the buttons, or send /digest daily 9, /digest weekly 1 9 (day 1 = Monday … 7 = Sunday, hour 0–23) or /digest off.",
        "ru": "Нажмите кнопку или отправьте /digest daily 9, /digest weekly 1 9 (день 1 = понедельник … 7 = воскресенье, час 0–23) или /digest off.",
        "uz": "Tugmani bosing yoki /digest daily 9, /digest weekly 1 9 (kun 1 = dushanba … 7 = yakshanba, soat 0–23) yoki /digest off yuboring.",
    },
    "command.digest": {
        "en": "When your digest comes",
        "ru": "Когда приходит сводка",
        "uz": "Hisobot qachon kelishi",
    },
}
