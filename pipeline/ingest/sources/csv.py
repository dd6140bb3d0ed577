"""CSV exports of posts, one file after another, streamed in constant memory.

**Formats.** A *profile* says which column holds which post field (the column layouts and the
row-to-post rules live in csv_profiles.py; this module reads the files):

- ``ira`` — the IRA tweets (FiveThirtyEight): ``author_id`` (the handle), ``content``, ``region``,
  ``language``, ``publish_date`` (``YYYY-MM-DD HH:MM:SS``, UTC), ``following``, ``followers``,
  ``updates`` (→ ``author_post_count``), ``post_type`` and ``retweet``. A post is a retweet when
  ``post_type`` is ``R``/``RETWEET``; a quote (``Q``/``QUOTE_TWEET``) is the author's own post;
  with no ``post_type`` the ``retweet`` flag (0/1) decides.
- ``fth`` — followthehashtag exports: ``Tweet Id``, ``Date`` + ``Hour``, ``Nickname`` (the
  handle), ``User Name``, ``Tweet content``, ``Favs``, ``RTs``, ``Followers``, ``Following``,
  ``Country`` (else ``Place (as appears on Bio)``) and ``Tweet language (ISO 639-1)``. ``Date`` is
  ``YYYY-MM-DD`` or day-first ``DD/MM/YYYY`` (the export's European spreadsheet form; never read
  month-first, which would silently swap days and months); ``Hour`` is ``HH:MM`` or ``HH:MM:SS``;
  both UTC. A post is a retweet when its text starts with ``RT @``.
- ``custom`` — any other export, from a ``field=column`` mapping (the CLI's ``--map``).
  ``created_at`` is then ISO 8601 (no zone means UTC); ``is_retweet`` is 1/0, true/false, yes/no.
- ``auto`` — the profile whose columns the header has; an unknown header is an error naming the
  columns found and the profiles known.

The delimiter is the one of ``,`` ``;`` and tab the header line uses most (spreadsheets in many
locales write ``;``). A UTF-8 byte-order mark before the header is ignored.

**Post ids.** A row without a post id (every ``ira`` row) gets ``csv-`` and 20 hex digits of a
BLAKE2b hash of the row's field values and its ordinal (its number among the file's data rows,
counting rejected ones). So replaying a file gives the same ids, from any path or copy; two
identical rows stay two posts; and a row at the same place in two different files (whose contents
differ) gets a different id. The price: inserting or deleting rows changes the ids of the rows
after them. Counting occurrences of each distinct row instead would survive reordering, but needs
memory for every row seen; the ordinal keeps reading in constant memory.

**Bad input** never stops a file: a row is rejected (with its raw bytes and the line it starts on)
for invalid UTF-8 (U+FFFD characters are valid and kept), a wrong number of columns, or a failed
field check. A gzip file that ends early or is corrupt ends with one ``bad_row`` rejection holding
the partial record, and an error in the log: the rows before it are kept.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from pipeline.ingest.model import (
    InvalidRecord,
    Post,
    Rejected,
    RejectReason,
)
from pipeline.ingest.sources.csv_lines import MAX_ROW_BYTES, LineTooLong, RecordLines, RowRunsOn
from pipeline.ingest.sources.csv_profiles import (
    FORMATS,
    CsvHeaderError,
    RowPlan,
    check_mapping_fields,
    plan_for_header,
)
from pipeline.ingest.sources.files import (
    GZIP_DAMAGE_ERRORS,
    MAX_LINE_BYTES,
    display_name,
    open_binary,
)

logger = logging.getLogger(__name__)

# The csv module refuses fields over 128 KiB. Texts up to the 64 KiB UTF-8 limit and beyond must
# parse, so that an over-long text is rejected as text_too_long and its row stays one row. The
# limit is process-wide; it is only ever raised, never lowered.
FIELD_SIZE_LIMIT = 16 * 1024 * 1024
_DELIMITERS = (",", ";", "\t")


def _pick_delimiter(header_line: str) -> str:
    return max(_DELIMITERS, key=header_line.count)


class CsvSource:
    """Posts from CSV files (plain or gzip), read one after another."""

    name = "csv"

    def __init__(
        self,
        paths: Sequence[str | Path],
        *,
        fmt: str = "auto",
        mapping: Mapping[str, str] | None = None,
    ) -> None:
        if mapping and fmt == "auto":
            fmt = "custom"
        if fmt not in FORMATS:
            raise ValueError(f"unknown CSV format {fmt!r}; formats are {', '.join(FORMATS)}")
        if mapping and fmt != "custom":
            raise ValueError(f"a field=column mapping replaces the {fmt} format; use one of them")
        if fmt == "custom":
            if not mapping:
                raise ValueError("the custom format needs a field=column mapping")
            check_mapping_fields(mapping)
        self.paths = [Path(path) for path in paths]
        self.fmt = fmt
        self.mapping = dict(mapping or {})
        if csv.field_size_limit() < FIELD_SIZE_LIMIT:
            csv.field_size_limit(FIELD_SIZE_LIMIT)

    def records(self) -> Iterator[Post | Rejected]:
        for path in self.paths:
            yield from self._file_records(path)

    def _file_records(self, path: Path) -> Iterator[Post | Rejected]:
        where = display_name(path)
        with open_binary(path) as stream:
            lines = RecordLines(stream)
            try:
                first = stream.readline(MAX_LINE_BYTES + 1)
            except GZIP_DAMAGE_ERRORS as exc:
                yield self._damaged(lines, where, exc, rows=0)
                return
            if not first.strip():
                logger.warning("%s: empty file (no header), nothing to read", where)
                return
            if len(first) > MAX_LINE_BYTES:
                raise CsvHeaderError(f"{where}: the header line is over {MAX_LINE_BYTES:,} bytes")
            try:
                header_line = first.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise CsvHeaderError(f"{where}: the header line is not UTF-8 ({exc})") from None
            delimiter = _pick_delimiter(header_line)
            header = [name.strip() for name in next(csv.reader([header_line], delimiter=delimiter))]
            plan = plan_for_header(header, self.fmt, self.mapping or None, where)
            logger.info("%s: reading as %s (delimiter %r)", where, plan.profile, delimiter)
            lines.lines_done = 1
            yield from self._rows(lines, delimiter, plan, where)

    def _rows(
        self, lines: RecordLines, delimiter: str, plan: RowPlan, where: str
    ) -> Iterator[Post | Rejected]:
        reader = csv.reader(lines, delimiter=delimiter)
        ordinal = 0
        width = plan.width
        build = plan.build

        def first_line_alone(reason: RejectReason, why: str) -> Rejected:
            """A record broken across lines (an unclosed quote, most often): only its first line
            is rejected, and the lines after it are read again as rows of their own."""
            spanned = len(lines.raw_lines)
            lines.keep_first_line_only()
            first_line, _ = lines.finish_record()
            more = (
                f"; lines {first_line + 1}–{first_line + spanned - 1} are read again"
                if spanned > 1
                else ""
            )
            rejected = Rejected(lines.take_raw(), f"{where}:{first_line}", reason, why + more)
            lines.reset()
            return rejected

        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except LineTooLong:
                ordinal += 1
                reader = csv.reader(lines, delimiter=delimiter)  # the old one lost its lines
                if len(lines.raw_lines) > 1:  # the long line is read again on its own
                    yield first_line_alone(
                        RejectReason.BAD_ROW, "the row runs on into an over-long line"
                    )
                    continue
                size = lines.line_size
                first_line, _ = lines.finish_record()
                yield Rejected(
                    lines.take_raw(),
                    f"{where}:{first_line}",
                    RejectReason.ROW_TOO_LONG,
                    f"the line is {size:,} bytes; at most {MAX_LINE_BYTES:,} are read "
                    "(this excerpt is its start)",
                )
                lines.reset()
                continue
            except RowRunsOn:
                ordinal += 1
                reader = csv.reader(lines, delimiter=delimiter)
                yield first_line_alone(
                    RejectReason.ROW_TOO_LONG,
                    f"the row runs on over {MAX_ROW_BYTES:,} bytes across "
                    f"{len(lines.raw_lines):,} lines (an unclosed quote?)",
                )
                continue
            except csv.Error as exc:
                ordinal += 1
                yield first_line_alone(RejectReason.BAD_ROW, f"not a CSV row: {exc}")
                continue
            except GZIP_DAMAGE_ERRORS as exc:
                yield self._damaged(lines, where, exc, rows=ordinal)
                return
            if fields and len(fields) != width and len(lines.raw_lines) > 1:
                ordinal += 1
                yield first_line_alone(
                    RejectReason.BAD_ROW,
                    f"expected {width} columns, found {len(fields)} over "
                    f"{len(lines.raw_lines)} lines (an unclosed quote?)",
                )
                continue
            first_line, spanned = lines.finish_record()
            if not fields:  # a blank line is no row
                lines.reset()
                continue
            ordinal += 1
            if lines.invalid_utf8:
                yield Rejected(
                    lines.take_raw(),
                    f"{where}:{first_line}",
                    RejectReason.INVALID_UTF8,
                    "the row is not valid UTF-8",
                )
            elif len(fields) != width:
                yield Rejected(
                    lines.take_raw(),
                    f"{where}:{first_line}",
                    RejectReason.BAD_ROW,
                    f"expected {width} columns, found {len(fields)} "
                    f"(over {spanned} line{'s' if spanned > 1 else ''})",
                )
            else:
                try:
                    yield build(fields, ordinal)
                except InvalidRecord as invalid:
                    yield Rejected(
                        lines.take_raw(), f"{where}:{first_line}", invalid.reason, invalid.message
                    )
            lines.reset()

    @staticmethod
    def _damaged(lines: RecordLines, where: str, exc: Exception, rows: int) -> Rejected:
        first_line = lines.lines_done + 1
        message = (
            f"the gzip stream is truncated or corrupt ({type(exc).__name__}: {exc}); "
            f"{rows:,} rows were read before line {first_line}, the rest of the file is lost"
        )
        logger.error("%s: %s", where, message)
        return Rejected(lines.take_raw(), f"{where}:{first_line}", RejectReason.BAD_ROW, message)
