"""Opening input files: gzip is recognised by its magic bytes, not by the file name, so a
compressed file named ``.csv`` (or a plain one named ``.gz``) still reads correctly."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import BinaryIO, cast

GZIP_MAGIC = b"\x1f\x8b"
# Large reads keep line splitting in C with few system calls; 1 MiB is plenty and still small.
READ_BUFFER_BYTES = 1024 * 1024

# What reading a damaged gzip stream raises: EOFError when it ends early (a truncated download),
# BadGzipFile for a broken member header or checksum, zlib.error for corrupt deflate data.
GZIP_DAMAGE_ERRORS: tuple[type[Exception], ...] = (EOFError, gzip.BadGzipFile, zlib.error)
# No valid record comes near this (a post's text is at most 64 KiB): a longer line is rejected as
# row_too_long, and only its first MAX_LINE_BYTES are ever held in memory.
MAX_LINE_BYTES = 1024 * 1024


def read_line(stream: BinaryIO) -> tuple[bytes, int]:
    """The next line of ``stream`` (``b""`` at the end), cut to ``MAX_LINE_BYTES``, and the size
    of the whole line when it was longer (0 otherwise). The rest of a longer line is skipped."""
    raw = stream.readline(MAX_LINE_BYTES + 1)
    if len(raw) <= MAX_LINE_BYTES:
        return raw, 0
    size = len(raw)
    while True:  # skip the rest, a bounded piece at a time
        piece = stream.readline(READ_BUFFER_BYTES)
        size += len(piece)
        if not piece or piece.endswith(b"\n"):
            return raw[:MAX_LINE_BYTES], size


def open_binary(path: str | Path) -> BinaryIO:
    """``path`` opened for reading bytes, decompressed on the fly if it is gzip."""
    with Path(path).open("rb") as probe:
        magic = probe.read(len(GZIP_MAGIC))
    if magic == GZIP_MAGIC:
        # Opened by name, GzipFile closes its file with itself. No BufferedReader on top: filling
        # a big buffer would throw away everything decompressed in that fill when a truncated
        # stream raises EOFError; GzipFile's own line reading loses only the unfinished line.
        return cast(BinaryIO, gzip.GzipFile(path, "rb"))
    return Path(path).open("rb", buffering=READ_BUFFER_BYTES)


def display_name(path: str | Path) -> str:
    """How positions name a file: as the caller gave it, so two inputs never look alike."""
    return str(path)
