"""Words of /stats, /top, /post, /besttime and /report (bot/stats.py) and of the channel picker."""

MESSAGES = {
    "command.stats": {"en": "Channel numbers and subscribers chart", "ru": "Цифры канала и график подписчиков",
                      "uz": "Kanal raqamlari va obunachilar grafigi"},
    "command.top": {"en": "Best posts by views in 24 h", "ru": "Лучшие посты по просмотрам за 24 ч",
                    "uz": "24 soatdagi koʻrishlar boʻyicha eng yaxshi postlar"},
    "command.post": {"en": "One post's views over time", "ru": "Просмотры одного поста во времени",
                     "uz": "Bitta postning vaqt boʻyicha koʻrishlari"},
    "command.besttime": {"en": "Best time to post", "ru": "Лучшее время для публикации",
                         "uz": "Post joylash uchun eng yaxshi vaqt"},
    "command.report": {"en": "PDF and Excel report", "ru": "Отчёт в PDF и Excel", "uz": "PDF va Excel hisobot"},
    "stats.need_start": {
        "en": "Send /start first: then I can show your channels' numbers.",
        "ru": "Сначала отправьте /start, и я покажу цифры ваших каналов.",
        "uz": "Avval /start yuboring: shundan soʻng kanallaringiz raqamlarini koʻrsataman.",
    },
    "stats.preparing": {
        "en": "Your numbers are being prepared. Try again in a few minutes.",
        "ru": "Цифры ещё готовятся. Попробуйте через несколько минут.",
        "uz": "Raqamlaringiz tayyorlanmoqda. Bir necha daqiqadan soʻng qayta urinib koʻring.",
    },
    "stats.no_channels": {
        "en": "You have no channels connected yet. Send /channels to connect one: add this bot to your channel "
              "as an administrator.",
        "ru": "У вас пока нет подключённых каналов. Отправьте /channels, чтобы подключить канал: добавьте этого "
              "бота в канал администратором.",
        "uz": "Sizda hali ulangan kanal yoʻq. Kanal ulash uchun /channels yuboring: bu botni kanalingizga "
              "administrator sifatida qoʻshing.",
    },
    "stats.not_found": {
        "en": "I didn't find that among your channels. Send the command without a channel to pick one.",
        "ru": "Среди ваших каналов такого нет. Отправьте команду без канала, чтобы выбрать из списка.",
        "uz": "Bu kanallaringiz orasida topilmadi. Roʻyxatdan tanlash uchun buyruqni kanalsiz yuboring.",
    },
    "stats.pick_channel": {
        "en": "Which channel?",
        "ru": "Какой канал?",
        "uz": "Qaysi kanal?",
    },
    "stats.headline": {
        "en": "{title}\nSubscribers: {subscribers}\nGrowth in 30 days: {growth} ({growth_pct})\n"
              "Average post reach: {reach}\nERR: {err}\nERR24: {err24}\nER: {er}",
        "ru": "{title}\nПодписчики: {subscribers}\nПрирост за 30 дней: {growth} ({growth_pct})\n"
              "Средний охват поста: {reach}\nERR: {err}\nERR24: {err24}\nER: {er}",
        "uz": "{title}\nObunachilar: {subscribers}\n30 kunlik oʻsish: {growth} ({growth_pct})\n"
              "Postning oʻrtacha qamrovi: {reach}\nERR: {err}\nERR24: {err24}\nER: {er}",
    },
    "stats.as_of": {
        "en": "As of {date}",
        "ru": "На {date}",
        "uz": "{date} holatiga",
    },
    "stats.no_data": {
        "en": "{title}: no numbers yet. They appear after the first collected posts.",
        "ru": "{title}: цифр пока нет. Они появятся после первых собранных постов.",
        "uz": "{title}: hozircha raqamlar yoʻq. Ular birinchi yigʻilgan postlardan soʻng paydo boʻladi.",
    },
    "top.title": {
        "en": "{title}: best posts by views in 24 h",
        "ru": "{title}: лучшие посты по просмотрам за 24 ч",
        "uz": "{title}: 24 soatdagi koʻrishlar boʻyicha eng yaxshi postlar",
    },
    "top.line": {
        "en": "{rank}. {views} views · {date} {link}",
        "ru": "{rank}. {views} просмотров · {date} {link}",
        "uz": "{rank}. {views} koʻrish · {date} {link}",
    },
    "top.no_posts": {
        "en": "{title}: no posts with views in 24 h yet.",
        "ru": "{title}: пока нет постов с просмотрами за 24 ч.",
        "uz": "{title}: hozircha 24 soatlik koʻrishlari bor post yoʻq.",
    },
    "post.usage": {
        "en": "Send a link to one of your posts, e.g. /post https://t.me/yourchannel/123",
        "ru": "Пришлите ссылку на свой пост, например /post https://t.me/yourchannel/123",
        "uz": "Postingiz havolasini yuboring, masalan /post https://t.me/yourchannel/123",
    },
    "post.not_found": {
        "en": "I didn't find that post among your channels.",
        "ru": "Среди ваших каналов такого поста нет.",
        "uz": "Bu post kanallaringiz orasida topilmadi.",
    },
    "post.detail": {
        "en": "{title}, post #{message_id} ({date})\nViews in 1 h: {v1}\nViews in 24 h: {v24}\nViews in 48 h: {v48}\n"
              "Views now: {latest}\nER: {er}",
        "ru": "{title}, пост #{message_id} ({date})\nПросмотры за 1 ч: {v1}\nПросмотры за 24 ч: {v24}\n"
              "Просмотры за 48 ч: {v48}\nПросмотры сейчас: {latest}\nER: {er}",
        "uz": "{title}, post #{message_id} ({date})\n1 soatda koʻrish: {v1}\n24 soatda koʻrish: {v24}\n"
              "48 soatda koʻrish: {v48}\nHozirgi koʻrishlar: {latest}\nER: {er}",
    },
    "chart.decay": {
        "en": "Views by post age (hours)",
        "ru": "Просмотры по возрасту поста (часы)",
        "uz": "Post yoshi boʻyicha koʻrishlar (soat)",
    },
    "besttime.title": {
        "en": "{title}: best time to post ({time_zone})",
        "ru": "{title}: лучшее время для публикации ({time_zone})",
        "uz": "{title}: post joylash uchun eng yaxshi vaqt ({time_zone})",
    },
    "besttime.slot": {
        "en": "{rank}. {weekday} {hour}: ×{expected} of your average post (80% range ×{low}–×{high})",
        "ru": "{rank}. {weekday} {hour}: ×{expected} от вашего среднего поста (80% интервал ×{low}–×{high})",
        "uz": "{rank}. {weekday} {hour}: oʻrtacha postingizdan ×{expected} (80% oraliq ×{low}–×{high})",
    },
    "besttime.not_enough_data": {
        "en": "{title}: the model needs more posts from this channel before it can recommend times. Meanwhile, "
              "here is how your posts did by weekday and hour.",
        "ru": "{title}: модели нужно больше постов этого канала, чтобы советовать время. Пока вот как ваши посты "
              "набирали просмотры по дням и часам.",
        "uz": "{title}: vaqt tavsiya qilish uchun modelga bu kanaldan koʻproq post kerak. Hozircha postlaringiz "
              "hafta kuni va soat boʻyicha qanday koʻrilgani.",
    },
    "besttime.not_available_yet": {
        "en": "{title}: the best-time model has not run on this channel yet. Meanwhile, here is how your posts "
              "did by weekday and hour.",
        "ru": "{title}: модель лучшего времени ещё не обработала этот канал. Пока вот как ваши посты набирали "
              "просмотры по дням и часам.",
        "uz": "{title}: eng yaxshi vaqt modeli bu kanalni hali koʻrib chiqmagan. Hozircha postlaringiz hafta kuni "
              "va soat boʻyicha qanday koʻrilgani.",
    },
    "report.building": {
        "en": "{title}: building your report (PDF and Excel), the files follow in a few seconds…",
        "ru": "{title}: готовлю отчёт (PDF и Excel), файлы пришлю через несколько секунд…",
        "uz": "{title}: hisobot tayyorlanmoqda (PDF va Excel), fayllar bir necha soniyada keladi…",
    },
    "report.caption": {
        "en": "{title}: report (PDF and Excel)",
        "ru": "{title}: отчёт (PDF и Excel)",
        "uz": "{title}: hisobot (PDF va Excel)",
    },
}
