"""Reads UTF-8 text files line by line, refusing other encodings with the byte position."""

from __future__ import annotations

__all__ = ["NotUtf8Error", "ReadUtf8Lines"]


class NotUtf8Error(ValueError):
    """A text file holds bytes that are not UTF-8 (e.g. a Latin-1 or UTF-16 file)."""


def ReadUtf8Lines(path: str) -> list[str]:
    """Returns the lines of `path` without their line ends, checked to be UTF-8.

    Decoding every line strictly (instead of replacing bad bytes) keeps a file in another
    encoding from being scored as mojibake.

    Raises:
      NotUtf8Error: Names the file, the line, the byte offset in the file and the byte.
    """
    lines = []
    offset = 0
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                byte = raw[e.start]
                raise NotUtf8Error(
                    f"{path}: line {number}, byte {offset + e.start} (0x{byte:02x}): not "
                    f"UTF-8 ({e.reason}); convert the file to UTF-8, e.g. "
                    f"`iconv -f latin1 -t utf-8`"
                ) from None
            if number == 1 and text.startswith("\ufeff"):
                text = text[1:]  # a byte-order mark is not part of the first sentence
            lines.append(text.rstrip("\r\n"))
            offset += len(raw)
    return lines
