"""Problems found in user input, and the exceptions that carry them to the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Any

import click


@dataclass(frozen=True, order=True)
class Problem:
    """One positioned finding: ``FILE:LINE:COL: field.path: message``."""

    file: str
    line: int
    column: int
    field: str
    message: str
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        field = f" {self.field}:" if self.field else ""
        tag = " warning:" if self.severity == "warning" else ""
        return f"{where}:{tag}{field} {self.message}"


class ProtocolgenError(click.ClickException):
    """Base of every user-facing error: printed as one line, exit code 1."""

    exit_code = 1


class InputError(ProtocolgenError):
    """One or more problems in the user's files; each is printed on its own line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.errors))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def show(self, file: IO[Any] | None = None) -> None:
        """Print each error on its own line (warnings are only counted), then a summary."""
        for problem in self.errors:
            click.echo(str(problem), err=True, file=file)
        warnings = len(self.problems) - len(self.errors)
        also = f" and {warnings} warning(s)" if warnings else ""
        click.echo(f"Error: {len(self.errors)} error(s){also}; nothing was written.",
                   err=True, file=file)


def fail(file: str, message: str, *, line: int = 0, column: int = 0, field: str = "") -> InputError:
    """Build an :class:`InputError` holding a single problem."""
    return InputError([Problem(file, line, column, field, message)])
