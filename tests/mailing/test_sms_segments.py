"""How many SMS a text costs (GSM-7 160/153, UCS-2 70/67), and which character made it UCS-2."""

import pytest

from mailing.sms.segments import count


@pytest.mark.parametrize("text,encoding,units,segments", [
    ("", "GSM-7", 0, 0),
    ("a" * 160, "GSM-7", 160, 1),
    ("a" * 161, "GSM-7", 161, 2),
    ("a" * 306, "GSM-7", 306, 2),
    ("a" * 307, "GSM-7", 307, 3),
    ("é" * 160, "GSM-7", 160, 1),  # é is in the GSM alphabet
    ("€" * 80, "GSM-7", 160, 1),  # the extension characters take two
    ("€" * 81, "GSM-7", 162, 2),
    ("œ", "UCS-2", 1, 1),
    ("a" * 69 + "œ", "UCS-2", 70, 1),
    ("a" * 70 + "œ", "UCS-2", 71, 2),
    ("a" * 133 + "œ", "UCS-2", 134, 2),
    ("a" * 134 + "œ", "UCS-2", 135, 3),
    ("🙂" * 35, "UCS-2", 70, 1),  # an emoji takes two units
])
def test_segments(text, encoding, units, segments):
    result = count(text)
    assert (result.encoding, result.units, result.segments) == (encoding, units, segments)


def test_an_escaped_character_never_straddles_two_parts():
    # 152 septets, then a € (2): it cannot fit in the first part's last septet.
    result = count("a" * 152 + "€" + "a" * 10)
    assert (result.units, result.segments) == (164, 2)
    assert count("a" * 152 + "€" + "a" * 151).segments == 2  # the second part is full
    assert count("a" * 152 + "€" + "a" * 152).segments == 3


def test_the_counter_says_which_character_switched_to_ucs2():
    assert count("Réunion à 18 h, l'école ferme").culprit == ""
    assert count("Sœur de Léa : réunion ✅").culprit == "œ"
    assert count("Réunion 🙂").per_segment == 70
    assert count("a" * 200).per_segment == 153
