"""The GSM 7-bit default alphabet and its extension table (3GPP TS 23.038, section 6.2.1).

Only the default tables are used: national language shift tables (Turkish, Spanish, Portuguese,
...) are not reliably supported by handsets and providers, so characters that exist only there
(for example the lower-case c with cedilla) force UCS-2.

Septet 0x09 is the upper-case C with cedilla, as drawn in TS 23.038 (the unicode.org mapping file
GSM0338.TXT maps it to the lower-case letter instead; we follow the standard, as does the
`gsm0338` codec used as a test reference).
"""

from __future__ import annotations

# Index = septet value. 0x1B is the escape to the extension table, not a character.
ESCAPE = "\x1b"
BASIC_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
assert len(BASIC_TABLE) == 128

# Character -> septet after the escape; each costs two septets.
EXTENSION_TABLE: dict[str, int] = {
    "\f": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}

GSM7_BASIC: frozenset[str] = frozenset(BASIC_TABLE) - {ESCAPE}
GSM7_EXTENSION: frozenset[str] = frozenset(EXTENSION_TABLE)
GSM7_ALL: frozenset[str] = GSM7_BASIC | GSM7_EXTENSION
