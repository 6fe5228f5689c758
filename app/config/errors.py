"""The one error type of the configuration package: a problem in a config file, with its location."""

from __future__ import annotations


class ConfigError(Exception):
    """A configuration problem. ``str()`` reads ``file:line: message`` when the location is known."""

    def __init__(self, message: str, file: str = "", line: int = 0) -> None:
        self.message = message
        self.file = file
        self.line = line
        super().__init__(self.__str__())

    def __str__(self) -> str:
        if self.file and self.line:
            return f"{self.file}:{self.line}: {self.message}"
        if self.file:
            return f"{self.file}: {self.message}"
        return self.message


class ConfigErrors(ConfigError):
    """Several problems found by the consistency checks; ``str()`` has one per line."""

    def __init__(self, errors: list[ConfigError]) -> None:
        self.errors = list(errors)
        first = self.errors[0]
        super().__init__(first.message, first.file, first.line)

    def __str__(self) -> str:
        return "\n".join(ConfigError.__str__(e) for e in self.errors)


class Problems:
    """Collects problems of one file during checks; ``raise_if_any()`` at the end.

    Paths are the dotted key paths of ``schema.parse_as``; the line is the nearest known
    line of the path or one of its parents.
    """

    def __init__(self, filename: str, lines: dict[str, int] | None = None) -> None:
        self.filename = filename
        self.lines = lines or {}
        self.errors: list[ConfigError] = []

    def line_of(self, path: str) -> int:
        while path:
            if path in self.lines:
                return self.lines[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return 0

    def add(self, path: str, message: str) -> None:
        prefix = f"{path}: " if path else ""
        self.errors.append(ConfigError(prefix + message, self.filename, self.line_of(path)))

    def raise_if_any(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise ConfigErrors(self.errors)
