"""MSH-18 character sets (HL7 2.5.1 table 0211) and their Python codecs."""

from hl7.errors import TABLE_VALUE_NOT_FOUND, HL7Error, Location

_CODECS = {
    "": "ascii",
    "ASCII": "ascii",
    "8859/1": "latin-1",
    "8859/2": "iso8859-2",
    "8859/3": "iso8859-3",
    "8859/4": "iso8859-4",
    "8859/5": "iso8859-5",
    "8859/6": "iso8859-6",
    "8859/7": "iso8859-7",
    "8859/8": "iso8859-8",
    "8859/9": "iso8859-9",
    "8859/15": "iso8859-15",
    "ISO IR6": "ascii",
    "ISO IR14": "shift_jis",  # JIS X 0201 Katakana/Romaji, a subset of Shift JIS
    "ISO IR87": "iso2022_jp",
    "ISO IR159": "iso2022_jp_2",
    "ISO IR100": "latin-1",
    "ISO IR192": "utf-8",
    "UNICODE": "utf-8",
    "UNICODE UTF-8": "utf-8",
    "UNICODE UTF-16": "utf-16",
    "UNICODE UTF-32": "utf-32",
    "GB 18030-2000": "gb18030",
    "KS X 1001": "euc_kr",
    "CNS 11643-1992": "big5",
    "BIG-5": "big5",
}


# Sets switched to with ISO 2022 escape sequences: named after an ASCII
# default in MSH-18 (e.g. `~ISO IR87`, as HL7 Japan sends), they decide the codec.
_ISO2022 = {"ISO IR87": "iso2022_jp", "ISO IR159": "iso2022_jp_2"}


def codec_for(msh18: str) -> str:
    """The codec of an MSH-18 value (HL7 2.5.1 2.15.9.18): the first
    repetition is the default set, later ones are ISO 2022 alternates."""
    names = [name.strip().upper() for name in msh18.split("~")]
    for name in names:
        if name not in _CODECS:
            raise HL7Error(
                TABLE_VALUE_NOT_FOUND, f"character set {name!r} in MSH-18 is not supported", Location("MSH", 1, 18)
            )
    alternates = [_ISO2022[name] for name in names[1:] if name in _ISO2022]
    if _CODECS[names[0]] == "ascii" and alternates:
        return alternates[-1] if len(alternates) == 1 else "iso2022_jp_2"
    return _CODECS[names[0]]


def decode(raw: bytes, codec: str) -> str:
    """Decode the message text. Undeclared (ASCII) messages that are not ASCII
    are read as UTF-8, then Latin-1: senders often forget MSH-18."""
    try:
        return raw.decode(codec)
    except UnicodeDecodeError:
        if codec != "ascii":
            raise HL7Error(
                102, f"message bytes are not valid {codec} as MSH-18 declares", Location("MSH", 1, 18)
            ) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")
