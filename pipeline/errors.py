"""Errors a user can act on: the CLI prints them as one line, with no traceback."""

from __future__ import annotations


class TrendoffError(Exception):
    """Something is wrong that the user can fix; ``hint`` says how, ``log`` where to look."""

    def __init__(self, message: str, *, hint: str | None = None, log: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.log = log

    def one_line(self) -> str:
        parts = [self.message]
        if self.hint:
            parts.append(self.hint)
        if self.log:
            parts.append(f"log: {self.log}")
        return " — ".join(parts)
