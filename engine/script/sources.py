"""Reading a script or a data file as text: UTF-8 only, a leading BOM dropped, bad bytes named by offset.

The CLI's ``-i FILE``, ``-i -`` and ``--iqldata``, and the shell's ``\\i``,
read through here, so a file that is not UTF-8 is one line naming it and the
first bad byte, whoever reads it.
"""

from __future__ import annotations

import codecs
import typing as t

from cfql.errors import Error, ProgrammingError


def read_text(source: str | t.IO[t.Any], name: str, error: type[Error] = ProgrammingError) -> str:
    """The text of the file at path ``source``, or of an open stream (binary, or text already decoded).

    Raises ``error`` (a cfql error class) for a file that cannot be read or
    is not UTF-8: ``NAME: not valid UTF-8 at byte N (line L)``, N counting
    from 0 in the file as stored.
    """
    try:
        if isinstance(source, str):
            with open(source, "rb") as fh:
                data: bytes | str = fh.read()
        else:
            stream = getattr(source, "buffer", source)  # sys.stdin: its bytes, before any decoding
            data = stream.read()
    except OSError as failure:
        raise error(f"cannot read {name}: {failure.strerror or failure}") from None
    except ValueError:  # a path the OS cannot take, e.g. one holding a NUL byte
        raise error(f"cannot read {name!r}: not a usable file name") from None
    if isinstance(data, str):  # a text stream with no bytes underneath (already decoded)
        return data.removeprefix("\ufeff")
    return decode_utf8(data, name, error)


def decode_utf8(data: bytes, name: str, error: type[Error] = ProgrammingError) -> str:
    """``data`` as UTF-8 without its BOM, or ``error`` naming the first byte that is not UTF-8."""
    skipped = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[skipped:].decode("utf-8")
    except UnicodeDecodeError as failure:
        offset = skipped + failure.start
        line = data.count(b"\n", 0, offset) + 1
        raise error(f"{name}: not valid UTF-8 at byte {offset} (line {line})") from None
