"""The languages Whisper knows, by code: a copy of `whisper.tokenizer.LANGUAGES` (openai-whisper
20250625; faster-whisper's `_LANGUAGE_CODES` is the same set), so a language option can be
checked before any work without importing whisper (which imports torch). `tests/test_cli.py`
holds the copy to the installed table.
"""

from __future__ import annotations

import difflib

WHISPER_LANGUAGES: dict[str, str] = {
    "en": "english", "zh": "chinese", "de": "german", "es": "spanish", "ru": "russian", "ko": "korean",
    "fr": "french", "ja": "japanese", "pt": "portuguese", "tr": "turkish", "pl": "polish", "ca": "catalan",
    "nl": "dutch", "ar": "arabic", "sv": "swedish", "it": "italian", "id": "indonesian", "hi": "hindi",
    "fi": "finnish", "vi": "vietnamese", "he": "hebrew", "uk": "ukrainian", "el": "greek", "ms": "malay",
    "cs": "czech", "ro": "romanian", "da": "danish", "hu": "hungarian", "ta": "tamil", "no": "norwegian",
    "th": "thai", "ur": "urdu", "hr": "croatian", "bg": "bulgarian", "lt": "lithuanian", "la": "latin",
    "mi": "maori", "ml": "malayalam", "cy": "welsh", "sk": "slovak", "te": "telugu", "fa": "persian",
    "lv": "latvian", "bn": "bengali", "sr": "serbian", "az": "azerbaijani", "sl": "slovenian", "kn": "kannada",
    "et": "estonian", "mk": "macedonian", "br": "breton", "eu": "basque", "is": "icelandic", "hy": "armenian",
    "ne": "nepali", "mn": "mongolian", "bs": "bosnian", "kk": "kazakh", "sq": "albanian", "sw": "swahili",
    "gl": "galician", "mr": "marathi", "pa": "punjabi", "si": "sinhala", "km": "khmer", "sn": "shona",
    "yo": "yoruba", "so": "somali", "af": "afrikaans", "oc": "occitan", "ka": "georgian", "be": "belarusian",
    "tg": "tajik", "sd": "sindhi", "gu": "gujarati", "am": "amharic", "yi": "yiddish", "lo": "lao", "uz": "uzbek",
    "fo": "faroese", "ht": "haitian creole", "ps": "pashto", "tk": "turkmen", "nn": "nynorsk", "mt": "maltese",
    "sa": "sanskrit", "lb": "luxembourgish", "my": "myanmar", "bo": "tibetan", "tl": "tagalog", "mg": "malagasy",
    "as": "assamese", "tt": "tatar", "haw": "hawaiian", "ln": "lingala", "ha": "hausa", "ba": "bashkir",
    "jw": "javanese", "su": "sundanese", "yue": "cantonese",}

TABLE = "https://github.com/openai/whisper/blob/main/whisper/tokenizer.py"
"""Where Whisper's language table (LANGUAGES, code -> name) is published."""


def whisper_code(code: str) -> str:
    """A language code as Whisper takes it: "pt-BR" -> "pt", "EN" -> "en"."""
    return code.strip().replace("_", "-").split("-", 1)[0].lower()


def language_problem(code: str) -> str | None:
    """None when Whisper knows the language of `code` (its region, as in "pt-BR", is not Whisper's
    business), else what is wrong, with the codes that come close (`LANGUAGE_HINT` says where the
    table is)."""
    base = whisper_code(code)
    if base in WHISPER_LANGUAGES:
        return None
    named = {name: key for key, name in WHISPER_LANGUAGES.items()}
    close = difflib.get_close_matches(base, list(WHISPER_LANGUAGES), n=3, cutoff=0.5)
    close += [named[name] for name in difflib.get_close_matches(base, list(named), n=2, cutoff=0.7)]
    guesses = ", ".join(f'"{key}" ({WHISPER_LANGUAGES[key]})' for key in dict.fromkeys(close))
    return f"{code.strip()[:40]!r} is not a language Whisper knows" + (f"; did you mean {guesses}?" if guesses else "")


LANGUAGE_HINT = (
    f"Whisper's {len(WHISPER_LANGUAGES)} language codes are two or three letters, e.g. en, fr, de, es, pt, zh, ja, "
    f"haw, optionally with a region (pt-BR); the whole table is LANGUAGES in {TABLE}. Leave the language out "
    "to let Whisper detect it."
)
