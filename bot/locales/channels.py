"""Connecting channels and /channels (bot/channels.py)."""

MESSAGES = {
    "command.channels": {
        "en": "Your channels; connect or disconnect one",
        "ru": "Ваши каналы; подключить или отключить",
        "uz": "Kanallaringiz; ulash yoki uzish",
    },
    "channels.connected": {
        "en": "Channel «{title}» is connected. Its numbers appear after the next collection run; /channels lists "
              "your channels.",
        "ru": "Канал «{title}» подключён. Цифры появятся после следующего сбора данных; /channels — список ваших "
              "каналов.",
        "uz": "«{title}» kanali ulandi. Raqamlar keyingi maʼlumot yigʻishdan keyin chiqadi; /channels — "
              "kanallaringiz roʻyxati.",
    },
    "channels.reactivated": {
        "en": "Channel «{title}» is connected again; its history is still here.",
        "ru": "Канал «{title}» снова подключён; его история сохранилась.",
        "uz": "«{title}» kanali qayta ulandi; uning tarixi saqlangan.",
    },
    "channels.not_a_channel": {
        "en": "I work with channels, not groups. Add me as an administrator of your channel instead.",
        "ru": "Я работаю с каналами, а не с группами. Добавьте меня администратором вашего канала.",
        "uz": "Men guruhlar bilan emas, kanallar bilan ishlayman. Meni kanalingizga administrator qilib qoʻshing.",
    },
    "channels.not_admin": {
        "en": "Only the channel's owner or an administrator can connect «{title}». I have left the channel.",
        "ru": "Подключить «{title}» может только владелец или администратор канала. Я покинул канал.",
        "uz": "«{title}» kanalini faqat uning egasi yoki administratori ulay oladi. Men kanaldan chiqdim.",
    },
    "channels.other_owner": {
        "en": "«{title}» is already connected by another account. If it is your channel, ask them to disconnect "
              "it in /channels first.",
        "ru": "«{title}» уже подключён другим аккаунтом. Если это ваш канал, попросите сначала отключить его в "
              "/channels.",
        "uz": "«{title}» boshqa hisob tomonidan allaqachon ulangan. Agar bu sizning kanalingiz boʻlsa, avval uni "
              "/channels orqali uzishlarini soʻrang.",
    },
    "channels.limit": {
        "en": "Your plan allows {limit} active channel(s), so «{title}» is not connected and I have left it. "
              "Upgrade with /upgrade, or disconnect a channel in /channels, then add me again.",
        "ru": "Ваш тариф позволяет активных каналов: {limit}, поэтому «{title}» не подключён, и я покинул его. "
              "Повысьте тариф через /upgrade или отключите канал в /channels, затем добавьте меня снова.",
        "uz": "Tarifingiz {limit} ta faol kanalga ruxsat beradi, shuning uchun «{title}» ulanmadi va men undan "
              "chiqdim. /upgrade orqali tarifni oshiring yoki /channels da kanalni uzing, soʻng meni qayta qoʻshing.",
    },
    "channels.removed": {
        "en": "I am no longer an administrator of «{title}», so it is disconnected. Its history stays; add me as "
              "an administrator again to resume.",
        "ru": "Я больше не администратор «{title}», поэтому канал отключён. История сохранена; чтобы продолжить, "
              "снова сделайте меня администратором.",
        "uz": "Men endi «{title}» administratori emasman, shuning uchun kanal uzildi. Tarix saqlanadi; davom "
              "ettirish uchun meni yana administrator qiling.",
    },
    "channels.title": {
        "en": "Your channels:",
        "ru": "Ваши каналы:",
        "uz": "Kanallaringiz:",
    },
    "channels.line": {
        "en": "• {name} – {status}, connected {date}",
        "ru": "• {name} – {status}, подключён {date}",
        "uz": "• {name} – {status}, ulangan sana {date}",
    },
    "channels.status.active": {"en": "active", "ru": "активен", "uz": "faol"},
    "channels.status.private": {"en": "private (cannot be read)", "ru": "закрыт (недоступен для чтения)",
                                "uz": "yopiq (oʻqib boʻlmaydi)"},
    "channels.status.unreachable": {"en": "unreachable", "ru": "недоступен", "uz": "mavjud emas"},
    "channels.status.disconnected": {"en": "disconnected", "ru": "отключён", "uz": "uzilgan"},
    "channels.empty": {
        "en": "You have no channels connected yet.",
        "ru": "У вас пока нет подключённых каналов.",
        "uz": "Sizda hali ulangan kanal yoʻq.",
    },
    "channels.how_to_add": {
        "en": "To connect a channel:\n1. Open the channel in Telegram and tap its name.\n2. Administrators → Add "
              "administrator.\n3. Find me by my username and save.\nI will confirm here.",
        "ru": "Как подключить канал:\n1. Откройте канал в Telegram и нажмите на его название.\n2. Администраторы → "
              "Добавить администратора.\n3. Найдите меня по имени пользователя и сохраните.\nЯ пришлю "
              "подтверждение сюда.",
        "uz": "Kanalni ulash uchun:\n1. Telegramda kanalni oching va nomiga bosing.\n2. Administratorlar → "
              "Administrator qoʻshish.\n3. Meni foydalanuvchi nomim orqali toping va saqlang.\nTasdiqni shu yerga "
              "yuboraman.",
    },
    "channels.disconnect_button": {
        "en": "Disconnect {title}",
        "ru": "Отключить {title}",
        "uz": "Uzish: {title}",
    },
    "channels.confirm_disconnect": {
        "en": "Disconnect «{title}»? I stop collecting it; its history stays.",
        "ru": "Отключить «{title}»? Я перестану собирать данные; история сохранится.",
        "uz": "«{title}» uzilsinmi? Maʼlumot yigʻishni toʻxtataman; tarix saqlanadi.",
    },
    "channels.confirm_yes": {"en": "Yes, disconnect", "ru": "Да, отключить", "uz": "Ha, uzilsin"},
    "channels.confirm_no": {"en": "Keep it", "ru": "Оставить", "uz": "Qolsin"},
    "channels.kept": {"en": "Nothing changed.", "ru": "Ничего не изменилось.", "uz": "Hech narsa oʻzgarmadi."},
    "channels.disconnected": {
        "en": "«{title}» is disconnected. Remove me from the channel's administrators in Telegram too.",
        "ru": "«{title}» отключён. Удалите меня также из администраторов канала в Telegram.",
        "uz": "«{title}» uzildi. Meni Telegramda kanal administratorlaridan ham olib tashlang.",
    },
    "channels.not_found": {
        "en": "No such channel among yours.",
        "ru": "Такого канала среди ваших нет.",
        "uz": "Sizning kanallaringiz orasida bunday kanal yoʻq.",
    },
}
