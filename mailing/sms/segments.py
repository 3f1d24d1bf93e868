"""How many SMS a text costs: GSM 03.38 7-bit when every character is in its alphabet (160
characters in one SMS, 153 per part when cut; the extension characters ^ { } \\ [ ~ ] | € take
two), UCS-2 otherwise (70 in one, 67 per part; an emoji takes two units). "é" is in the GSM
alphabet; "œ", "ê" or an emoji are not, and switch the whole text to UCS-2 — the counter on the
compose page says which character did it. The same rules in static/js/sms-counter.js."""

from dataclasses import dataclass

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENSION = set("^{}\\[~]|€\f")
SINGLE = {"GSM-7": 160, "UCS-2": 70}
PART = {"GSM-7": 153, "UCS-2": 67}


@dataclass(frozen=True)
class Count:
    encoding: str  # "GSM-7" or "UCS-2"
    characters: int
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    #: The first character outside the GSM alphabet, which made it UCS-2 ("" for GSM-7).
    culprit: str = ""

    @property
    def per_segment(self) -> int:
        return SINGLE[self.encoding] if self.segments <= 1 else PART[self.encoding]


def _unit_sizes(text: str, encoding: str) -> list[int]:
    if encoding == "GSM-7":
        return [2 if char in GSM7_EXTENSION else 1 for char in text]
    return [2 if ord(char) > 0xFFFF else 1 for char in text]  # a surrogate pair


def _segments(sizes: list[int], encoding: str) -> int:
    total = sum(sizes)
    if total <= SINGLE[encoding]:
        return 1 if total else 0
    # Cut into parts: an escaped character or a surrogate pair never straddles two parts.
    parts, used = 1, 0
    for size in sizes:
        if used + size > PART[encoding]:
            parts, used = parts + 1, 0
        used += size
    return parts


def count(text: str) -> Count:
    culprit = next((char for char in text
                    if char not in GSM7_BASIC and char not in GSM7_EXTENSION), "")
    encoding = "UCS-2" if culprit else "GSM-7"
    sizes = _unit_sizes(text, encoding)
    return Count(encoding, len(text), sum(sizes), _segments(sizes, encoding), culprit)
