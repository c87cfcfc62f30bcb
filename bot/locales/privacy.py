"""/mydata and /deleteme (bot/privacy.py)."""

MESSAGES = {
    "command.mydata": {"en": "Download everything stored about you", "ru": "Скачать все данные о вас",
                       "uz": "Siz haqingizdagi barcha maʼlumotlarni yuklab olish"},
    "command.deleteme": {"en": "Delete your account and channels", "ru": "Удалить аккаунт и каналы",
                         "uz": "Akkaunt va kanallarni oʻchirish"},
    "privacy.mydata.caption": {
        "en": "Everything the bot stores about you (JSON, times in UTC).",
        "ru": "Всё, что бот хранит о вас (JSON, время в UTC).",
        "uz": "Bot siz haqingizda saqlaydigan hamma narsa (JSON, vaqt UTC da).",
    },
    "privacy.deleteme.ask": {
        "en": "This deletes your account: language, time zone, every setting, your watermark logo and "
              "{channels}, with all their statistics.\n"
              "Payment records (orders, amounts, dates) are kept for accounting, without anything else about "
              "you. Statistics leave the analytics warehouse at its next run (at most a day).\n"
              "This cannot be undone. Delete?",
        "ru": "Будут удалены ваш аккаунт: язык, часовой пояс, все настройки, логотип для водяного знака и "
              "{channels} со всей статистикой.\n"
              "Платёжные записи (заказы, суммы, даты) сохраняются для бухгалтерии, без других данных о вас. "
              "Статистика уйдёт из аналитического хранилища при его следующем запуске (не больше суток).\n"
              "Отменить это нельзя. Удалить?",
        "uz": "Akkauntingiz oʻchiriladi: til, vaqt mintaqasi, barcha sozlamalar, suv belgisi logotipi va "
              "{channels} butun statistikasi bilan.\n"
              "Toʻlov yozuvlari (buyurtmalar, summalar, sanalar) buxgalteriya uchun saqlanadi, siz haqingizda "
              "boshqa hech narsasiz. Statistika analitika omboridan keyingi ishga tushishda (koʻpi bilan bir "
              "kunda) oʻchadi.\n"
              "Buni qaytarib boʻlmaydi. Oʻchirilsinmi?",
    },
    "privacy.deleteme.channels": {"en": "your channels: {titles}", "ru": "ваши каналы: {titles}",
                                  "uz": "kanallaringiz: {titles}"},
    "privacy.deleteme.no_channels": {"en": "your channel list (empty now)", "ru": "список каналов (сейчас пуст)",
                                     "uz": "kanallar roʻyxati (hozir boʻsh)"},
    "privacy.button.confirm": {"en": "Yes, delete everything", "ru": "Да, удалить всё",
                               "uz": "Ha, hammasini oʻchirish"},
    "privacy.button.cancel": {"en": "Cancel", "ru": "Отмена", "uz": "Bekor qilish"},
    "privacy.deleted": {
        "en": "Done: your account and {count} channel(s) are deleted. Their statistics leave the analytics "
              "warehouse at its next run. Send /start if you ever want to come back.",
        "ru": "Готово: аккаунт и каналы ({count}) удалены. Их статистика уйдёт из аналитического хранилища при "
              "следующем запуске. Если захотите вернуться, отправьте /start.",
        "uz": "Tayyor: akkauntingiz va {count} ta kanal oʻchirildi. Ularning statistikasi analitika omboridan "
              "keyingi ishga tushishda oʻchadi. Qaytmoqchi boʻlsangiz, /start yuboring.",
    },
    "privacy.cancelled": {"en": "Cancelled: nothing was deleted.", "ru": "Отменено: ничего не удалено.",
                          "uz": "Bekor qilindi: hech narsa oʻchirilmadi."},
    "privacy.nothing_stored": {
        "en": "There is no account of yours to delete: nothing is stored about you besides payment records.",
        "ru": "Удалять нечего: аккаунта нет, о вас хранятся разве что платёжные записи.",
        "uz": "Oʻchiradigan akkaunt yoʻq: siz haqingizda faqat toʻlov yozuvlari saqlanishi mumkin.",
    },
    "privacy.not_yours": {"en": "This button is not for you.", "ru": "Эта кнопка не для вас.",
                          "uz": "Bu tugma siz uchun emas."},
}
