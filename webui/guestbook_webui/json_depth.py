"""How deeply a JSON text nests, found without parsing it (pure).

Python's ``json`` recurses once per level and raises RecursionError deep
down, which a server would answer with 500; 20,000 levels fit in 40 KB. A
guestbook entry is a flat object, so the body is refused before parsing when
it nests deeper than a small bound (decision 0124).
"""

from __future__ import annotations

MAX_DEPTH = 16


def nests_deeper_than(text: bytes, limit: int = MAX_DEPTH) -> bool:
    """True when ``text`` opens more than ``limit`` arrays/objects inside each other.

    Brackets inside strings do not count (escapes are honoured); the text need
    not be valid JSON (the parser reports that afterwards).
    """
    depth = 0
    in_string = False
    escaped = False
    for byte in text:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False
