"""The column layouts a CSV export can have (the ``ira`` and ``fth`` profiles, or a custom
``field=column`` mapping) and how a data row of each becomes a post's fields; the formats are
described in csv.py, which reads the files."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from pipeline.errors import TrendoffError
from pipeline.ingest.model import InvalidRecord, Post, RejectReason, build_post

SOURCE_LABEL = "file"

PROFILES: Final = ("ira", "fth")
FORMATS: Final = ("auto", *PROFILES, "custom")
# Fields a custom mapping can fill, in the order of the post record.
MAPPABLE_FIELDS: Final = (
    "post_id",
    "author_id",
    "author_handle",
    "author_name",
    "text",
    "created_at",
    "lang",
    "region",
    "followers",
    "following",
    "author_post_count",
    "is_retweet",
    "retweet_count",
    "like_count",
)
REQUIRED_MAPPED_FIELDS: Final = ("author_handle", "text", "created_at")

# An absent optional column reads as the empty string, which every field takes as "not given".
ABSENT = -1
_ID_DIGEST_BYTES = 10
_RECORD_SEPARATOR, _UNIT_SEPARATOR = "\x1e", "\x1f"

IRA_COLUMNS: Final = (
    "author_id",
    "content",
    "region",
    "language",
    "publish_date",
    "following",
    "followers",
    "updates",
    "post_type",
    "retweet",
)
FTH_COLUMNS: Final = (
    "Tweet Id",
    "Date",
    "Hour",
    "User Name",
    "Nickname",
    "Tweet content",
    "Favs",
    "RTs",
    "Country",
    "Place (as appears on Bio)",
    "Followers",
    "Following",
    "Tweet language (ISO 639-1)",
)
_PROFILE_COLUMNS: Final = {"ira": IRA_COLUMNS, "fth": FTH_COLUMNS}


class CsvHeaderError(TrendoffError, ValueError):
    """A CSV file's header does not fit the requested format."""


def parse_mapping(items: Sequence[str]) -> dict[str, str]:
    """``["text=body", "created_at=posted at"]`` (the CLI's ``--map``) as a field → column dict."""
    mapping: dict[str, str] = {}
    for item in items:
        field, sep, column = item.partition("=")
        field, column = field.strip(), column.strip()
        if not sep or not field or not column:
            raise ValueError(f"expected field=column, got {item!r}")
        mapping[field] = column
    check_mapping_fields(mapping)
    return mapping


def check_mapping_fields(mapping: Mapping[str, str]) -> None:
    unknown = sorted(set(mapping) - set(MAPPABLE_FIELDS))
    if unknown:
        raise ValueError(
            f"unknown post field(s) {', '.join(unknown)}; fields are {', '.join(MAPPABLE_FIELDS)}"
        )
    missing = [field for field in REQUIRED_MAPPED_FIELDS if field not in mapping]
    if missing:
        raise ValueError(f"a custom mapping needs a column for {', '.join(missing)}")


def derived_post_id(fields: Sequence[str], ordinal: int) -> str:
    """The id of a row that has none: its content plus its ordinal, so equal rows stay apart."""
    digest = hashlib.blake2b(digest_size=_ID_DIGEST_BYTES)
    # Separators no export puts in a value (ASCII record/unit separators) keep fields apart.
    content = _UNIT_SEPARATOR.join(fields)
    digest.update(f"{ordinal}{_RECORD_SEPARATOR}{content}".encode("utf-8", "surrogatepass"))
    return "csv-" + digest.hexdigest()


@dataclass(frozen=True, slots=True)
class RowPlan:
    """Where each post field is in the rows of one file (``ABSENT`` if nowhere) and how the
    fields that are not a single column (time, retweet flag) are read."""

    profile: str
    width: int
    post_id: int
    author_id: int
    author_handle: int
    author_name: int
    text: int
    lang: int
    region: int
    followers: int
    following: int
    author_post_count: int
    retweet_count: int
    like_count: int
    created_at: Callable[[list[str]], str]
    is_retweet: Callable[[list[str], str], bool]
    region_fallback: int = ABSENT

    def build(self, fields: list[str], ordinal: int) -> Post:
        given_id = fields[self.post_id].strip() if self.post_id != ABSENT else ""
        post_id = given_id or derived_post_id(fields, ordinal)
        fields.append("")  # index ABSENT (-1) now reads as ""
        text = fields[self.text]
        return build_post(
            post_id=post_id,
            source=SOURCE_LABEL,
            author_id=fields[self.author_id],
            author_handle=fields[self.author_handle],
            text=text,
            created_at=self.created_at(fields),
            author_name=fields[self.author_name],
            lang=fields[self.lang],
            region=fields[self.region].strip() or fields[self.region_fallback],
            followers=fields[self.followers],
            following=fields[self.following],
            author_post_count=fields[self.author_post_count],
            is_retweet=self.is_retweet(fields, text),
            retweet_count=fields[self.retweet_count],
            like_count=fields[self.like_count],
        )


def _column(index: Mapping[str, int], name: str | None) -> int:
    return ABSENT if name is None else index.get(name, ABSENT)


def _single_column_time(position: int) -> Callable[[list[str]], str]:
    def created_at(fields: list[str]) -> str:
        return fields[position]

    return created_at


_TRUE_WORDS = frozenset({"1", "true", "yes", "y", "t"})
_FALSE_WORDS = frozenset({"0", "false", "no", "n", "f", ""})


def _flag(value: str, column: str) -> bool:
    word = value.strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise InvalidRecord(RejectReason.BAD_TYPE, f"{column} {value!r} is not a yes/no flag")


def _ira_plan(index: Mapping[str, int], width: int) -> RowPlan:
    post_type, retweet = index["post_type"], index["retweet"]

    def is_retweet(fields: list[str], text: str) -> bool:
        kind = fields[post_type].strip().upper()
        if kind in ("R", "RETWEET"):
            return True
        if kind in ("Q", "QUOTE_TWEET"):
            return False
        return _flag(fields[retweet], "retweet")

    handle = index["author_id"]
    return RowPlan(
        profile="ira",
        width=width,
        post_id=ABSENT,
        author_id=handle,  # the export's author_id is the handle; it has no numeric id
        author_handle=handle,
        author_name=ABSENT,
        text=index["content"],
        lang=index["language"],
        region=index["region"],
        followers=index["followers"],
        following=index["following"],
        author_post_count=index["updates"],
        retweet_count=ABSENT,
        like_count=ABSENT,
        created_at=_single_column_time(index["publish_date"]),
        is_retweet=is_retweet,
    )


_FTH_DAY_FIRST = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_FTH_HOUR = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?")


def fth_time(date: str, hour: str) -> str:
    """The ISO 8601 form of a followthehashtag ``Date`` and ``Hour`` (see the module doc)."""
    date, hour = date.strip(), hour.strip()
    if not date and not hour:
        return ""
    day_first = _FTH_DAY_FIRST.fullmatch(date)
    if day_first:
        day, month, year = day_first.groups()
        date = f"{year}-{int(month):02d}-{int(day):02d}"
    if not _FTH_HOUR.fullmatch(hour) or len(date) != 10:
        raise InvalidRecord(
            RejectReason.BAD_TIME,
            f"Date {date!r} and Hour {hour!r} are not YYYY-MM-DD (or DD/MM/YYYY) and HH:MM[:SS]",
        )
    hours, _, rest = hour.partition(":")
    return f"{date} {int(hours):02d}:{rest}"


def _fth_plan(index: Mapping[str, int], width: int) -> RowPlan:
    date, hour = index["Date"], index["Hour"]

    def created_at(fields: list[str]) -> str:
        return fth_time(fields[date], fields[hour])

    def is_retweet(fields: list[str], text: str) -> bool:
        return text.startswith("RT @")

    handle = index["Nickname"]
    return RowPlan(
        profile="fth",
        width=width,
        post_id=index["Tweet Id"],
        author_id=handle,  # the export has no numeric user id
        author_handle=handle,
        author_name=index["User Name"],
        text=index["Tweet content"],
        lang=index["Tweet language (ISO 639-1)"],
        region=index["Country"],  # the tweet's geotag; else the place the bio gives
        region_fallback=index["Place (as appears on Bio)"],
        followers=index["Followers"],
        following=index["Following"],
        author_post_count=ABSENT,
        retweet_count=index["RTs"],
        like_count=index["Favs"],
        created_at=created_at,
        is_retweet=is_retweet,
    )


def _custom_plan(index: Mapping[str, int], width: int, mapping: Mapping[str, str]) -> RowPlan:
    time_column = index[mapping["created_at"]]
    retweet_name = mapping.get("is_retweet")
    retweet_column = _column(index, retweet_name)

    def is_retweet(fields: list[str], text: str) -> bool:
        if retweet_column == ABSENT:
            return False
        return _flag(fields[retweet_column], retweet_name or "is_retweet")

    def at(field: str) -> int:
        return _column(index, mapping.get(field))

    return RowPlan(
        profile="custom",
        width=width,
        post_id=at("post_id"),
        author_id=at("author_id"),
        author_handle=at("author_handle"),
        author_name=at("author_name"),
        text=at("text"),
        lang=at("lang"),
        region=at("region"),
        followers=at("followers"),
        following=at("following"),
        author_post_count=at("author_post_count"),
        retweet_count=at("retweet_count"),
        like_count=at("like_count"),
        created_at=_single_column_time(time_column),
        is_retweet=is_retweet,
    )


def plan_for_header(
    header: Sequence[str], fmt: str, mapping: Mapping[str, str] | None, where: str
) -> RowPlan:
    """How to read rows under ``header``; :class:`CsvHeaderError` if the format does not fit."""
    index: dict[str, int] = {}
    for position, name in enumerate(header):
        index.setdefault(name, position)  # the first of duplicate column names wins
    width = len(header)
    if fmt == "custom":
        if not mapping:
            raise ValueError("the custom format needs a field=column mapping")
        check_mapping_fields(mapping)
        missing = [column for column in mapping.values() if column not in index]
        _raise_if_missing(missing, header, "the mapping", where)
        return _custom_plan(index, width, mapping)
    if fmt == "auto":
        matching = [name for name in PROFILES if set(_PROFILE_COLUMNS[name]) <= index.keys()]
        if not matching:
            known = "; ".join(
                f"{name}: {', '.join(columns)}" for name, columns in _PROFILE_COLUMNS.items()
            )
            raise CsvHeaderError(
                f"{where}: the header matches no known CSV format; columns found: "
                f"{', '.join(header)}",
                hint=f"known formats and their columns — {known}; for another export give a "
                "field=column mapping (--map)",
            )
        fmt = matching[0]
    if fmt not in PROFILES:
        raise ValueError(f"unknown CSV format {fmt!r}; formats are {', '.join(FORMATS)}")
    missing = [column for column in _PROFILE_COLUMNS[fmt] if column not in index]
    _raise_if_missing(missing, header, f"the {fmt} format", where)
    if fmt == "ira":
        return _ira_plan(index, width)
    return _fth_plan(index, width)


def _raise_if_missing(missing: list[str], header: Sequence[str], needs: str, where: str) -> None:
    if missing:
        raise CsvHeaderError(
            f"{where}: {needs} needs column(s) {', '.join(missing)}, which the header lacks; "
            f"columns found: {', '.join(header)}"
        )
