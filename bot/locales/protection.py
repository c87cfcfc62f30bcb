"""/watermark: the owner's mark and marking their photos and videos (bot/protection.py)."""

MESSAGES = {
    "command.watermark": {"en": "Watermark your photos and videos", "ru": "Водяной знак на фото и видео",
                          "uz": "Rasm va videolarga suv belgisi"},
    "watermark.need_start": {"en": "Send /start first, then /watermark again.",
                             "ru": "Сначала отправьте /start, затем снова /watermark.",
                             "uz": "Avval /start yuboring, keyin yana /watermark."},
    "watermark.paid_only": {
        "en": "Watermarks come with the Pro and Business plans. Your plan: /plan. Upgrade: /upgrade.",
        "ru": "Водяные знаки входят в тарифы Pro и Business. Ваш тариф: /plan. Повысить: /upgrade.",
        "uz": "Suv belgilari Pro va Business tariflarida bor. Tarifingiz: /plan. Oshirish: /upgrade.",
    },
    "watermark.settings": {
        "en": "Your watermark\nMark: {mark}\nPosition: {position}\nOpacity: {opacity}%\n"
              "Repeated over the picture: {tile}",
        "ru": "Ваш водяной знак\nЗнак: {mark}\nПоложение: {position}\nНепрозрачность: {opacity}\u00a0%\n"
              "По всему кадру: {tile}",
        "uz": "Suv belgingiz\nBelgi: {mark}\nJoylashuv: {position}\nKoʻrinish darajasi: {opacity}%\n"
              "Butun kadr boʻylab: {tile}",
    },
    "watermark.usage": {
        "en": "Send a photo, a video or an image file with the caption /watermark (or reply /watermark to one) "
              "and I send it back marked. Files up to {mb} MB, videos up to {seconds} s.\n"
              "/watermark text <text> – the mark's text\n"
              "/watermark logo – as the caption of an image: that image becomes the mark\n"
              "/watermark position top-left | top-right | bottom-left | bottom-right | center\n"
              "/watermark opacity <5–100> – how visible the mark is, in percent\n"
              "/watermark tile on | off – repeat the mark over the whole picture",
        "ru": "Пришлите фото, видео или картинку файлом с подписью /watermark (или ответьте /watermark на такое "
              "сообщение), и я верну их со знаком. Файлы до {mb} МБ, видео до {seconds} с.\n"
              "/watermark text <текст> – текст знака\n"
              "/watermark logo – в подписи к картинке: она станет знаком\n"
              "/watermark position top-left | top-right | bottom-left | bottom-right | center\n"
              "/watermark opacity <5–100> – насколько заметен знак, в процентах\n"
              "/watermark tile on | off – повторять знак по всему кадру",
        "uz": "Rasm, video yoki rasm faylini /watermark izohi bilan yuboring (yoki unga /watermark deb javob "
              "bering), men uni belgi bilan qaytaraman. Fayllar {mb} MB gacha, videolar {seconds} s gacha.\n"
              "/watermark text <matn> – belgi matni\n"
              "/watermark logo – rasm izohida: shu rasm belgi boʻladi\n"
              "/watermark position top-left | top-right | bottom-left | bottom-right | center\n"
              "/watermark opacity <5–100> – belgi qanchalik koʻrinishi, foizda\n"
              "/watermark tile on | off – belgini butun kadr boʻylab takrorlash",
    },
    "watermark.mark.logo": {"en": "your logo", "ru": "ваш логотип", "uz": "logotipingiz"},
    "watermark.mark.none": {"en": "not set yet", "ru": "ещё не задан", "uz": "hali belgilanmagan"},
    "watermark.pos.top-left": {"en": "top left", "ru": "слева вверху", "uz": "yuqori chapda"},
    "watermark.pos.top-right": {"en": "top right", "ru": "справа вверху", "uz": "yuqori oʻngda"},
    "watermark.pos.bottom-left": {"en": "bottom left", "ru": "слева внизу", "uz": "pastki chapda"},
    "watermark.pos.bottom-right": {"en": "bottom right", "ru": "справа внизу", "uz": "pastki oʻngda"},
    "watermark.pos.center": {"en": "center", "ru": "по центру", "uz": "markazda"},
    "watermark.on": {"en": "yes", "ru": "да", "uz": "ha"},
    "watermark.off": {"en": "no", "ru": "нет", "uz": "yoʻq"},
    "watermark.button.tile_on": {"en": "Repeat over the picture", "ru": "Повторять по кадру",
                                 "uz": "Kadr boʻylab takrorlash"},
    "watermark.button.tile_off": {"en": "Mark once", "ru": "Один знак", "uz": "Bitta belgi"},
    "watermark.saved": {
        "en": "Saved. Send a photo or a video with the caption /watermark to try it.",
        "ru": "Сохранено. Пришлите фото или видео с подписью /watermark, чтобы попробовать.",
        "uz": "Saqlandi. Sinab koʻrish uchun rasm yoki videoni /watermark izohi bilan yuboring.",
    },
    "watermark.no_mark": {
        "en": "You have no mark yet. Set a text with /watermark text @yourchannel, or send an image with the "
              "caption /watermark logo.",
        "ru": "Знак ещё не задан. Задайте текст: /watermark text @вашканал, или пришлите картинку с подписью "
              "/watermark logo.",
        "uz": "Hali belgi yoʻq. Matnni /watermark text @kanalingiz bilan bering yoki rasmni /watermark logo "
              "izohi bilan yuboring.",
    },
    "watermark.logo_how": {
        "en": "Send an image with the caption /watermark logo (a PNG with a transparent background looks best).",
        "ru": "Пришлите картинку с подписью /watermark logo (лучше всего PNG с прозрачным фоном).",
        "uz": "Rasmni /watermark logo izohi bilan yuboring (shaffof fonli PNG eng yaxshi koʻrinadi).",
    },
    "watermark.logo_saved": {
        "en": "Logo saved: it is your mark now. Send a photo or a video with the caption /watermark.",
        "ru": "Логотип сохранён и теперь служит знаком. Пришлите фото или видео с подписью /watermark.",
        "uz": "Logotip saqlandi, endi u belgingiz. Rasm yoki videoni /watermark izohi bilan yuboring.",
    },
    "watermark.working": {"en": "Marking your video, this takes a moment…",
                          "ru": "Ставлю знак на видео, это займёт немного времени…",
                          "uz": "Videoga belgi qoʻyilmoqda, biroz kuting…"},
    "watermark.error.usage": {"en": "I didn't understand that setting.", "ru": "Не понял эту настройку.",
                              "uz": "Bu sozlamani tushunmadim."},
    "watermark.error.text": {
        "en": "The mark's text must be one line of 1 to {limit} visible characters, without line breaks or "
              "control characters. Example: /watermark text @yourchannel",
        "ru": "Текст знака: одна строка от 1 до {limit} видимых символов, без переносов строк и управляющих "
              "символов. Пример: /watermark text @вашканал",
        "uz": "Belgi matni 1 dan {limit} tagacha koʻrinadigan belgidan iborat bitta qator boʻlsin, qator "
              "koʻchirish va boshqaruv belgilarisiz. Misol: /watermark text @kanalingiz",
    },
    "watermark.error.not_media": {
        "en": "I can mark photos, videos and image files (JPEG, PNG, WebP). Send one with the caption /watermark.",
        "ru": "Я ставлю знак на фото, видео и картинки (JPEG, PNG, WebP). Пришлите файл с подписью /watermark.",
        "uz": "Men rasm, video va rasm fayllariga (JPEG, PNG, WebP) belgi qoʻyaman. Faylni /watermark izohi "
              "bilan yuboring.",
    },
    "watermark.error.not_image": {
        "en": "This is not an image I can read. Send a JPEG, PNG or WebP picture.",
        "ru": "Не могу прочитать это изображение. Пришлите картинку JPEG, PNG или WebP.",
        "uz": "Bu rasmni oʻqiy olmadim. JPEG, PNG yoki WebP rasm yuboring.",
    },
    "watermark.error.image_too_large": {
        "en": "This image is too large: at most {mb} MB and {megapixels} megapixels.",
        "ru": "Изображение слишком большое: не больше {mb} МБ и {megapixels} мегапикселей.",
        "uz": "Rasm juda katta: koʻpi bilan {mb} MB va {megapixels} megapiksel.",
    },
    "watermark.error.not_video": {
        "en": "I can't read this video. Send an MP4, MOV, MKV or WebM file.",
        "ru": "Не могу прочитать это видео. Пришлите MP4, MOV, MKV или WebM.",
        "uz": "Bu videoni oʻqiy olmadim. MP4, MOV, MKV yoki WebM fayl yuboring.",
    },
    "watermark.error.video_too_large": {
        "en": "This video is too large: at most {mb} MB and {side} px on the longer side.",
        "ru": "Видео слишком большое: не больше {mb} МБ и {side} пикселей по длинной стороне.",
        "uz": "Video juda katta: koʻpi bilan {mb} MB va uzun tomoni {side} piksel.",
    },
    "watermark.error.video_too_long": {
        "en": "This video is too long: at most {seconds} seconds.",
        "ru": "Видео слишком длинное: не больше {seconds} секунд.",
        "uz": "Video juda uzun: koʻpi bilan {seconds} soniya.",
    },
    "watermark.error.video_failed": {
        "en": "Marking this video failed. Please try again, or send it in another format.",
        "ru": "Не удалось поставить знак на это видео. Попробуйте ещё раз или пришлите в другом формате.",
        "uz": "Bu videoga belgi qoʻyib boʻlmadi. Qayta urinib koʻring yoki boshqa formatda yuboring.",
    },
    "watermark.error.spec": {
        "en": "Your mark can't be used. Set it again: /watermark text <text>, or an image with the caption "
              "/watermark logo.",
        "ru": "Ваш знак нельзя использовать. Задайте его заново: /watermark text <текст> или картинка с "
              "подписью /watermark logo.",
        "uz": "Belgingizni ishlatib boʻlmaydi. Uni qayta bering: /watermark text <matn> yoki /watermark logo "
              "izohli rasm.",
    },
    "watermark.error.file_too_big": {
        "en": "This file is {size} MB, and Telegram lets me download at most {mb} MB. Send a smaller one.",
        "ru": "Файл весит {size} МБ, а Telegram даёт мне скачать не больше {mb} МБ. Пришлите файл поменьше.",
        "uz": "Fayl hajmi {size} MB, Telegram esa menga koʻpi bilan {mb} MB yuklab olishga ruxsat beradi. "
              "Kichikroq fayl yuboring.",
    },
    "watermark.error.download": {
        "en": "I couldn't get this file from Telegram. Please send it again.",
        "ru": "Не удалось получить файл от Telegram. Пришлите его ещё раз.",
        "uz": "Bu faylni Telegramdan olib boʻlmadi. Uni qayta yuboring.",
    },
    "watermark.error.result_too_big": {
        "en": "The marked file came out larger than the {limit} MB Telegram lets me send. Send a shorter or "
              "smaller video.",
        "ru": "Файл со знаком получился больше {limit} МБ, которые Telegram позволяет мне отправить. Пришлите "
              "видео покороче или поменьше.",
        "uz": "Belgili fayl Telegram menga yuborishga ruxsat beradigan {limit} MB dan katta chiqdi. Qisqaroq "
              "yoki kichikroq video yuboring.",
    },
}
