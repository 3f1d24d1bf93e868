"""Fill a .po catalogue from a dict of translations (a developer tool, used with makemessages).

Usage: python scripts/translate_po.py CATALOGUE.po TRANSLATIONS.py
TRANSLATIONS.py defines T = {msgid: msgstr, (singular, plural): (one, many)}; every entry given
replaces the catalogue's, and its fuzzy flag is dropped. Prints what is still untranslated.
"""

import runpy
import sys

from babel.messages.pofile import read_po, write_po


def main(path: str, translations: str) -> int:
    table = runpy.run_path(translations)["T"]
    with open(path, "rb") as handle:
        catalogue = read_po(handle)
    for message in catalogue:
        if message.id and message.id in table:
            message.string = table[message.id]
            message.flags.discard("fuzzy")
            message.previous_id = []
    with open(path, "wb") as handle:
        write_po(handle, catalogue, width=79, include_previous=False)
    missing = [m.id for m in catalogue if m.id and (m.fuzzy or not m.string or (
        isinstance(m.string, tuple) and not all(m.string)))]
    for msgid in missing:
        print("untranslated:", msgid)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
