"""The one reply a suspended user gets (bot/context.py)."""

MESSAGES = {
    "suspension.refused": {
        "en": "Your account is suspended, so the bot cannot help you for now. If you think this is a mistake, "
              "contact the bot's team. /mydata and /deleteme still work.",
        "ru": "Ваш аккаунт приостановлен, поэтому бот пока не может вам помочь. Если это ошибка, напишите команде "
              "бота. /mydata и /deleteme по-прежнему работают.",
        "uz": "Akkauntingiz toʻxtatilgan, shuning uchun bot hozircha sizga yordam bera olmaydi. Agar bu xato "
              "deb hisoblasangiz, bot jamoasiga yozing. /mydata va /deleteme ishlashda davom "
              "etadi.",
    },
}
