"""Lines of a CSV file for ``csv.reader``, bounded in size, with the raw bytes of each record.

A CSV record may span several physical lines (quoted newlines), and a stray quote can make the
csv module read on to the end of the file. So lines are read at most ``MAX_LINE_BYTES`` at a time,
a record may grow to at most ``MAX_ROW_BYTES``, and lines already taken can be given back to be
read again (:meth:`RecordLines.keep_first_line_only`), which lets the CSV source reject only the
first line of a broken record and still read the rows after it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import BinaryIO

from pipeline.ingest.sources.files import read_line

# No valid row comes near this (a text is at most 64 KiB, the other fields a few KiB): a record
# running on longer across lines (an unclosed quote) has its first line rejected. A single line
# over MAX_LINE_BYTES (see files.py) is rejected as row_too_long without being held in memory.
MAX_ROW_BYTES = 1024 * 1024


class LineTooLong(Exception):
    """A physical line over ``MAX_LINE_BYTES``; only its first bytes were kept."""


class RowRunsOn(Exception):
    """A record that has grown over ``MAX_ROW_BYTES`` across several lines."""


class RecordLines:
    """Feeds a ``csv.reader`` decoded lines while keeping the raw bytes of the record being read,
    so a rejected row carries its exact input and the line it starts on.

    Each physical line is decoded on its own: a line with invalid UTF-8 is decoded with
    ``surrogateescape`` (so the csv module still splits the record correctly) and marks its record
    invalid. ``csv.reader`` asks for lines only until a record is complete, so the lines taken
    since the previous record are exactly this record's.

    Lines are read at most ``MAX_LINE_BYTES`` at a time (the rest of a longer line is skipped and
    :class:`LineTooLong` raised), and a record over ``MAX_ROW_BYTES`` raises :class:`RowRunsOn`:
    memory stays bounded whatever the input. :meth:`replay` gives lines back to be read again.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._replay: deque[tuple[bytes, bool]] = deque()  # (raw line, cut short)
        self.raw_lines: list[bytes] = []
        self.last_line_cut = False
        self.line_size = 0  # of the last line cut short
        self.record_bytes = 0
        self.invalid_utf8 = False
        self.lines_done = 0

    def _next_line(self) -> tuple[bytes, bool]:
        if self._replay:
            return self._replay.popleft()
        raw, whole_size = read_line(self._stream)
        if whole_size:
            self.line_size = whole_size
        return raw, bool(whole_size)

    def __iter__(self) -> Iterator[str]:
        raw_lines = self.raw_lines
        while True:
            raw, cut = self._next_line()
            if not raw:
                return
            raw_lines.append(raw)
            self.record_bytes += len(raw)
            if cut:
                self.last_line_cut = True
                raise LineTooLong
            if self.record_bytes > MAX_ROW_BYTES:
                raise RowRunsOn
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                self.invalid_utf8 = True
                line = raw.decode("utf-8", "surrogateescape")
            yield line

    def finish_record(self) -> tuple[int, int]:
        """Close the current record: its first line number and how many lines it spans."""
        first_line = self.lines_done + 1
        spanned = len(self.raw_lines)
        self.lines_done += spanned
        return first_line, spanned

    def keep_first_line_only(self) -> None:
        """Make the current record its first line alone; the lines after it are read again."""
        rest = self.raw_lines[1:]
        cut = [False] * len(rest)
        if rest and self.last_line_cut:
            cut[-1] = True
        self._replay.extendleft(reversed(list(zip(rest, cut, strict=True))))
        del self.raw_lines[1:]
        self.last_line_cut = False

    def take_raw(self) -> bytes:
        return b"".join(self.raw_lines)

    def reset(self) -> None:
        self.raw_lines.clear()
        self.invalid_utf8 = False
        self.last_line_cut = False
        self.record_bytes = 0
