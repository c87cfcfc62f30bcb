"""Words of alerts (bot/scheduler.py) and of the /alerts and /quiet commands (bot/settings_commands.py)."""

MESSAGES = {
    "alert.views_spike": {
        "en": "🚀 {title}: a post is taking off: {views} views in its first hour, {ratio}× the usual {usual}. {link}",
        "ru": "🚀 {title}: пост набирает обороты: {views} просмотров за первый час, в {ratio} раза больше обычных {usual}. {link}",
        "uz": "🚀 {title}: post tez tarqalmoqda: birinchi soatda {views} koʻrish, odatdagi {usual} dan {ratio} barobar koʻp. {link}",
    },
    "alert.views_drop": {
        "en": "⚠️ {title}: a post is well below your usual reach: {views} views in its first hour against the usual {usual}. {link}",
        "ru": "⚠️ {title}: пост заметно ниже обычного охвата: {views} просмотров за первый час при обычных {usual}. {link}",
        "uz": "⚠️ {title}: post odatdagi qamrovdan ancha past: birinchi soatda {views} koʻrish, odatda {usual}. {link}",
    },
    "alert.subscribers_drop": {
        "en": "📉 {title}: {lost} subscribers left on {date} ({share} of the channel), far more than on a usual day.",
        "ru": "📉 {title}: {date} отписались {lost} человек ({share} канала), намного больше, чем в обычный день.",
        "uz": "📉 {title}: {date} kuni {lost} obunachi chiqib ketdi (kanalning {share}), odatdagi kundan ancha koʻp.",
    },
    "alerts.status.on": {
        "en": "Alerts are on: I tell you when a post takes off or falls flat in its first hour, and when subscribers drop sharply.",
        "ru": "Оповещения включены: я сообщу, если пост взлетит или провалится в первый час, и если резко уйдут подписчики.",
        "uz": "Ogohlantirishlar yoqilgan: post birinchi soatda tez tarqalsa yoki sust boʻlsa, obunachilar keskin kamaysa xabar beraman.",
    },
    "alerts.status.off": {
        "en": "Alerts are off.",
        "ru": "Оповещения выключены.",
        "uz": "Ogohlantirishlar oʻchirilgan.",
    },
    "alerts.paid_only": {
        "en": "Alerts are part of the Pro and Business plans; on the free plan none are sent. Your setting is kept for when you upgrade.",
        "ru": "Оповещения входят в тарифы Pro и Business; на бесплатном тарифе они не приходят. Настройка сохранится до перехода на платный тариф.",
        "uz": "Ogohlantirishlar Pro va Business tariflarida bor; bepul tarifda yuborilmaydi. Sozlama pullik tarifga oʻtganingizgacha saqlanadi.",
    },
    "alerts.usage": {
        "en": "Send /alerts on or /alerts off, or use the buttons.",
        "ru": "Отправьте /alerts on или /alerts off либо нажмите кнопку.",
        "uz": "/alerts on yoki /alerts off yuboring yoki tugmani bosing.",
    },
    "alerts.button.on": {"en": "Turn on", "ru": "Включить", "uz": "Yoqish"},
    "alerts.button.off": {"en": "Turn off", "ru": "Выключить", "uz": "Oʻchirish"},
    "quiet.status.off": {
        "en": "No quiet hours: alerts come at any time. Set them with /quiet 23-8 (local hours, {zone}).",
        "ru": "Тихих часов нет: оповещения приходят в любое время. Задайте их так: /quiet 23-8 (местное время, {zone}).",
        "uz": "Sokin soatlar yoʻq: ogohlantirishlar istalgan vaqtda keladi. Ularni /quiet 23-8 bilan belgilang (mahalliy vaqt, {zone}).",
    },
    "quiet.status.on": {
        "en": "Quiet hours: {start}:00 – {end}:00 ({zone}). Alerts in that time wait until {end}:00. /quiet off removes them.",
        "ru": "Тихие часы: {start}:00 – {end}:00 ({zone}). Оповещения в это время ждут до {end}:00. /quiet off — отключить.",
        "uz": "Sokin soatlar: {start}:00 – {end}:00 ({zone}). Bu vaqtdagi ogohlantirishlar {end}:00 gacha kutadi. /quiet off — oʻchirish.",
    },
    "quiet.bad": {
        "en": "I need two different hours from 0 to 23, start-end, e.g. /quiet 23-8 (from 23:00 to 08:00), or /quiet off.",
        "ru": "Нужны два разных часа от 0 до 23 через дефис, например /quiet 23-8 (с 23:00 до 08:00), или /quiet off.",
        "uz": "0 dan 23 gacha ikki xil soat kerak, boshlanish-tugash, masalan /quiet 23-8 (23:00 dan 08:00 gacha) yoki /quiet off.",
    },
    "settings.need_start": {
        "en": "Send /start first to choose your language and time zone.",
        "ru": "Сначала отправьте /start, чтобы выбрать язык и часовой пояс.",
        "uz": "Avval til va vaqt mintaqasini tanlash uchun /start yuboring.",
    },
    "command.alerts": {
        "en": "Alerts on or off",
        "ru": "Оповещения вкл/выкл",
        "uz": "Ogohlantirishlarni yoqish/oʻchirish",
    },
    "command.quiet": {
        "en": "Quiet hours for alerts",
        "ru": "Тихие часы для оповещений",
        "uz": "Ogohlantirishlar uchun sokin soatlar",
    },
}
