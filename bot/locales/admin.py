"""/user and /broadcast, for admins only (bot/admin.py). No `command.*` keys: admin commands are not listed."""

MESSAGES = {
    "admin.none": {"en": "none", "ru": "нет", "uz": "yoʻq"},
    "admin.never": {"en": "never", "ru": "никогда", "uz": "hech qachon"},
    "admin.unknown_choice": {"en": "This button is no longer available.", "ru": "Эта кнопка больше не действует.",
                             "uz": "Bu tugma endi ishlamaydi."},
    "admin.role.owner": {"en": "channel owner", "ru": "владелец каналов", "uz": "kanal egasi"},
    "admin.role.admin": {"en": "admin", "ru": "администратор", "uz": "administrator"},
    "admin.channel.active": {"en": "active", "ru": "подключён", "uz": "faol"},
    "admin.channel.inactive": {"en": "disconnected", "ru": "отключён", "uz": "uzilgan"},
    # -- /user --
    "admin.user.usage": {
        "en": "Usage: /user <user id> or /user @channel_username (shows the channel's owner).",
        "ru": "Использование: /user <id пользователя> или /user @имя_канала (покажет владельца канала).",
        "uz": "Foydalanish: /user <foydalanuvchi id> yoki /user @kanal_nomi (kanal egasini koʻrsatadi).",
    },
    "admin.user.not_found": {
        "en": "No user with id {user_id}: they have not started the bot.",
        "ru": "Пользователя с id {user_id} нет: он не запускал бота.",
        "uz": "{user_id} id li foydalanuvchi yoʻq: u botni ishga tushirmagan.",
    },
    "admin.user.no_channel": {
        "en": "No registered channel is @{username}. The bot keeps no usernames of people: use the user id.",
        "ru": "Канала @{username} среди подключённых нет. Имена пользователей бот не хранит: укажите id.",
        "uz": "@{username} ulangan kanallar orasida yoʻq. Bot odamlarning username larini saqlamaydi: id ni "
              "yuboring.",
    },
    "admin.user.title": {"en": "User {user_id}", "ru": "Пользователь {user_id}", "uz": "Foydalanuvchi {user_id}"},
    "admin.user.via_channel": {"en": "(owner of @{username})", "ru": "(владелец @{username})",
                               "uz": "(@{username} egasi)"},
    "admin.user.username": {"en": "Username: {username}", "ru": "Имя пользователя: {username}",
                            "uz": "Username: {username}"},
    "admin.user.language": {"en": "Language: {language}", "ru": "Язык: {language}", "uz": "Til: {language}"},
    "admin.user.time_zone": {"en": "Time zone: {time_zone}", "ru": "Часовой пояс: {time_zone}",
                             "uz": "Vaqt mintaqasi: {time_zone}"},
    "admin.user.role": {"en": "Role: {role}", "ru": "Роль: {role}", "uz": "Rol: {role}"},
    "admin.user.status": {"en": "Messages: {status}", "ru": "Сообщения: {status}", "uz": "Xabarlar: {status}"},
    "admin.user.not_blocked": {"en": "delivered", "ru": "доставляются", "uz": "yetkaziladi"},
    "admin.user.blocked_since": {"en": "blocked the bot on {date}", "ru": "заблокировал бота {date}",
                                 "uz": "{date} da botni bloklagan"},
    "admin.user.created": {"en": "Registered: {date}", "ru": "Зарегистрирован: {date}",
                           "uz": "Roʻyxatdan oʻtgan: {date}"},
    "admin.user.plan": {"en": "Plan: {plan}", "ru": "Тариф: {plan}", "uz": "Tarif: {plan}"},
    "admin.user.plan_until": {"en": "{plan} until {date}", "ru": "{plan} до {date}", "uz": "{plan}, {date} gacha"},
    "admin.user.last_active": {"en": "Last active: {date}", "ru": "Последняя активность: {date}",
                               "uz": "Oxirgi faollik: {date}"},
    "admin.user.channels": {"en": "Channels: {count}", "ru": "Каналы: {count}", "uz": "Kanallar: {count}"},
    "admin.user.channel_line": {"en": "• {name}: {state}", "ru": "• {name}: {state}", "uz": "• {name}: {state}"},
    "admin.user.more_channels": {"en": "… and {count} more", "ru": "… и ещё {count}", "uz": "… va yana {count} ta"},
    # -- /broadcast --
    "admin.broadcast.usage": {
        "en": "Usage: /broadcast <text>. The text goes to every user who has not blocked the bot, after you "
              "confirm the preview.",
        "ru": "Использование: /broadcast <текст>. Текст получат все, кто не заблокировал бота, после того как вы "
              "подтвердите предпросмотр.",
        "uz": "Foydalanish: /broadcast <matn>. Oldindan koʻrishni tasdiqlaganingizdan soʻng matn botni bloklamagan "
              "barcha foydalanuvchilarga yuboriladi.",
    },
    "admin.broadcast.too_long": {
        "en": "The text is {length} characters long; a Telegram message holds at most {limit}. Shorten it.",
        "ru": "В тексте {length} символов, а в сообщение Telegram помещается не больше {limit}. Сократите его.",
        "uz": "Matn {length} belgidan iborat; Telegram xabariga koʻpi bilan {limit} belgi sigʻadi. Qisqartiring.",
    },
    "admin.broadcast.preview": {
        "en": "Preview: the message below goes to {recipients} users. Confirm or cancel under it.",
        "ru": "Предпросмотр: сообщение ниже получат {recipients} польз. Подтвердите или отмените под ним.",
        "uz": "Oldindan koʻrish: quyidagi xabar {recipients} foydalanuvchiga yuboriladi. Uning ostida "
              "tasdiqlang yoki bekor qiling.",
    },
    "admin.broadcast.confirm_button": {"en": "Send to everyone", "ru": "Отправить всем", "uz": "Hammaga yuborish"},
    "admin.broadcast.cancel_button": {"en": "Cancel", "ru": "Отмена", "uz": "Bekor qilish"},
    "admin.broadcast.queued": {
        "en": "Queued for {count} users; the messages go out at Telegram's pace.",
        "ru": "В очереди для {count} польз.; сообщения уходят с той скоростью, что позволяет Telegram.",
        "uz": "{count} foydalanuvchi uchun navbatga qoʻyildi; xabarlar Telegram ruxsat bergan tezlikda yuboriladi.",
    },
    "admin.broadcast.cancelled": {"en": "Broadcast cancelled; nothing was sent.",
                                  "ru": "Рассылка отменена, ничего не отправлено.",
                                  "uz": "Tarqatma bekor qilindi, hech narsa yuborilmadi."},
    "admin.broadcast.sent_already": {"en": "This broadcast has already been queued.",
                                     "ru": "Эта рассылка уже поставлена в очередь.",
                                     "uz": "Bu tarqatma allaqachon navbatga qoʻyilgan."},
    "admin.broadcast.cancelled_already": {"en": "This broadcast was cancelled.", "ru": "Эта рассылка была отменена.",
                                          "uz": "Bu tarqatma bekor qilingan."},
}
