"""File names made printable for reports, logs and JSON: undecodable bytes and control characters as escapes."""

from __future__ import annotations

import os
import unicodedata

# Bidirectional overrides and isolates reorder the text around them on screen, so a name could show as
# another name; line and paragraph separators break a report's one-line-per-file layout.
_REORDERING = {*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x2028, 0x2029, 0x200E, 0x200F}


def printable_name(name: str | bytes | os.PathLike) -> str:
    """`name` as text that every terminal, log and JSON encoder accepts, and that still reads like the name.

    On Linux a file name is bytes; Python hands the bytes that are not UTF-8 over as lone surrogates
    (surrogateescape), which a strict terminal or a UTF-8 encoder refuses. Those become `\\xNN` with
    the original byte, control characters (a newline, a terminal escape) `\\xNN` or `\\uNNNN`, and
    everything else stays as it is. The result holds no surrogates or controls, so applying this
    twice changes nothing: any layer may call it again to be sure.
    """
    if isinstance(name, os.PathLike):
        name = os.fspath(name)
    if isinstance(name, bytes):
        name = name.decode("utf-8", "surrogateescape")
    out = []
    for char in name:
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")  # one byte that was not UTF-8, as that byte
        elif code in _REORDERING or unicodedata.category(char) in ("Cc", "Cs"):
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)
