"""What the assistant says itself about voice messages, pictures and documents: refusals with
the reason and what would work, in the turn's language (English for languages it lacks)."""

from __future__ import annotations

from common.catalogue import Catalogue

ATTACHMENT_PHRASES = Catalogue(
    {
        "en": {
            "voice_quote": "🎤 «{text}»",
            "document_cut": "📄 {name} is long: I read its first {chars} characters.",
            "voice_too_long": "Sorry, that voice message is too long for me: I listen to up "
            "to {seconds} seconds. Could you split it or type it?",
            "no_transcription": "Sorry, I can't listen to voice messages here: no speech "
            "recognition model is set up. Please type your message.",
            "transcription_failed": "Sorry, I couldn't make out your voice message just now. "
            "Please try again in a moment, or type it.",
            "nothing_heard": "Sorry, I couldn't hear any words in that voice message.",
            "no_vision": "Sorry, I can't look at pictures here: no model that sees images is "
            "set up.",
            "vision_other_model": "Your model {model} can't see pictures, but {vision} can: "
            "switch with /model {vision} and send the picture again.",
            "picture_unreadable": "Sorry, I couldn't open that picture. Please send it as a "
            "JPEG or PNG photo.",
            "document_unsupported": "Sorry, I can't read this kind of file. I read {supported}.",
            "document_unreadable": "Sorry, I couldn't read this file: it seems damaged. I read "
            "{supported}.",
            "document_encrypted": "Sorry, this file is protected with a password, so I can't "
            "read it. Please send it without the password.",
            "document_empty": "Sorry, I found no text in this file (is it a scan?). I read the "
            "text of {supported}.",
            "document_too_big": "Sorry, this file is too big for me: I read documents up to "
            "{megabytes} MB.",
            "file_expired": "Sorry, I no longer have the file you sent: it waited too long. "
            "Please send it again.",
            "document_too_heavy": "Sorry, this file is too heavy for me to open: it unpacks "
            "to far more than its size. Could you send its text, or a plain PDF or DOCX?",
            "picture_too_many_pixels": "Sorry, that picture has too many pixels for me. "
            "Please send a smaller one (a normal photo works).",
            "pictures_too_big": "Sorry, these pictures are too much for one message: I take "
            "up to {megabytes} MB of pictures at a time. Please send fewer.",
        },
        "ru": {
            "voice_quote": "🎤 «{text}»",
            "document_cut": "📄 {name} длинный: я прочитал первые {chars} символов.",
            "voice_too_long": "Извините, это голосовое слишком длинное: я слушаю до {seconds} "
            "секунд. Разделите его на части или напишите текстом, пожалуйста.",
            "no_transcription": "Извините, здесь я не умею слушать голосовые: не настроена "
            "модель распознавания речи. Напишите, пожалуйста, текстом.",
            "transcription_failed": "Извините, сейчас не получилось разобрать голосовое. "
            "Попробуйте ещё раз чуть позже или напишите текстом.",
            "nothing_heard": "Извините, я не расслышал слов в этом голосовом.",
            "no_vision": "Извините, здесь я не умею смотреть картинки: не настроена модель, "
            "которая видит изображения.",
            "vision_other_model": "Ваша модель {model} не видит картинки, а {vision} видит: "
            "переключитесь командой /model {vision} и пришлите картинку ещё раз.",
            "picture_unreadable": "Извините, не получилось открыть эту картинку. Пришлите её, "
            "пожалуйста, как фото в JPEG или PNG.",
            "document_unsupported": "Извините, такие файлы я не читаю. Я читаю {supported}.",
            "document_unreadable": "Извините, не получилось прочитать файл: похоже, он "
            "повреждён. Я читаю {supported}.",
            "document_encrypted": "Извините, файл защищён паролем, и я не могу его прочитать. "
            "Пришлите его, пожалуйста, без пароля.",
            "document_empty": "Извините, в этом файле нет текста (это скан?). Я читаю текст "
            "из {supported}.",
            "document_too_big": "Извините, файл слишком большой: я читаю документы до "
            "{megabytes} МБ.",
            "file_expired": "Извините, присланного файла у меня уже нет: он слишком долго "
            "ждал. Пришлите его, пожалуйста, ещё раз.",
            "document_too_heavy": "Извините, этот файл слишком тяжёлый, чтобы я его открыл: "
            "распакованный, он намного больше своего размера. Пришлите его текст или обычный "
            "PDF или DOCX.",
            "picture_too_many_pixels": "Извините, в этой картинке слишком много пикселей. "
            "Пришлите, пожалуйста, картинку поменьше (обычное фото подойдёт).",
            "pictures_too_big": "Извините, картинок слишком много для одного сообщения: я "
            "беру до {megabytes} МБ картинок за раз. Пришлите, пожалуйста, меньше.",
        },
    }
)
