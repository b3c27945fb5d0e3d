"""Semantic versions (semver.org 2.0.0): parsed, validated and ordered by its rules.

Precedence: major, minor, patch numerically; a pre-release sorts before its release;
pre-release identifiers compare one by one, numeric ones numerically and below
alphanumeric ones, and a shorter list of equal identifiers sorts first. Build metadata
(`+...`) never affects precedence, so two versions differing only in it are the same
version to the registry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

from domain.errors import InvalidInput

# The regular expression semver.org recommends, without named groups.
_SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)
MAX_LENGTH = 64


class InvalidVersion(InvalidInput):
    code = "invalid_version"


@total_ordering
@dataclass(frozen=True)
class SemVer:
    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    build: str = ""

    @classmethod
    def parse(cls, text: str) -> SemVer:
        match = _SEMVER.fullmatch(text) if len(text) <= MAX_LENGTH else None
        if match is None:
            raise InvalidVersion(
                f"{text[:MAX_LENGTH]!r} is not a semantic version; use MAJOR.MINOR.PATCH "
                "with an optional -prerelease, e.g. 1.2.3 or 2.0.0-rc.1"
            )
        major, minor, patch, pre, build = match.groups()
        return cls(
            int(major), int(minor), int(patch), tuple(pre.split(".")) if pre else (), build or ""
        )

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(self.prerelease)
        return text + (f"+{self.build}" if self.build else "")

    @property
    def is_prerelease(self) -> bool:
        return bool(self.prerelease)

    def _key(self) -> tuple[object, ...]:
        # A release (no pre-release) sorts after every pre-release of the same triple.
        pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease)
        return (self.major, self.minor, self.patch, not self.prerelease, pre)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SemVer) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __lt__(self, other: SemVer) -> bool:
        return self._key() < other._key()


def canonical(text: str) -> str:
    """The version as the registry keys it: build metadata dropped."""
    version = SemVer.parse(text)
    return str(SemVer(version.major, version.minor, version.patch, version.prerelease))
