"""Passwords: Argon2id hashes (argon2-cffi), a minimum length and a check against common ones.

common_passwords.txt is the list Django ships (django/contrib/auth/common-passwords.txt.gz,
BSD-3-Clause, 19,640 passwords seen most often in breaches); common_passwords_sv.txt adds
Swedish words people build passwords from. Both are read once, offline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from service.config import Settings, get_settings

HERE = Path(__file__).resolve().parent
MAX_LENGTH = 256  # Argon2 takes any length; a bound keeps a hash from becoming a DoS
# Digits and symbols people add at either end of a word to pass a rule ("Sommar2026!").
_DECORATION = re.compile(r"^[\d\W_]+|[\d\W_]+$")


def hasher(settings: Settings | None = None) -> PasswordHasher:
    """Argon2id with the configured cost (default: RFC 9106's second recommended setting)."""
    settings = settings or get_settings()
    return PasswordHasher(
        time_cost=settings.password_hash_time_cost,
        memory_cost=settings.password_hash_memory_kib,
        parallelism=4,
    )


def hash_password(password: str) -> str:
    """The Argon2id hash to store."""
    return hasher().hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether `password` matches; a missing hash is checked against a dummy to take as long."""
    ph = hasher()
    try:
        return ph.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether the hash was made with other parameters than today's (rehash at sign-in)."""
    try:
        return hasher().check_needs_rehash(stored)
    except InvalidHashError:
        return True


@lru_cache
def _dummy_hash() -> str:
    return hasher().hash("klarvarsel dummy password for unknown accounts")


@lru_cache
def common_passwords() -> frozenset[str]:
    """The shipped lists, lower case."""
    words: set[str] = set()
    for name in ("common_passwords.txt", "common_passwords_sv.txt"):
        text = (HERE / name).read_text("utf-8")
        words.update(line.strip().lower() for line in text.splitlines() if line.strip())
    return frozenset(words)


@dataclass(frozen=True)
class PasswordProblem:
    """Why a password is refused: an English msgid (domain "staff") and its parameters."""

    msgid: str
    params: tuple[tuple[str, int], ...] = ()

    def __str__(self) -> str:
        return self.msgid % dict(self.params)


def password_problems(password: str, *, email: str = "") -> list[PasswordProblem]:
    """Every reason the password is too weak (empty when it is acceptable)."""
    problems: list[PasswordProblem] = []
    minimum = get_settings().password_min_length
    if len(password) < minimum:
        problems.append(PasswordProblem("is shorter than %(n)d characters", (("n", minimum),)))
    if len(password) > MAX_LENGTH:
        problems.append(PasswordProblem("is longer than %(n)d characters", (("n", MAX_LENGTH),)))
    lowered = password.lower()
    core = _DECORATION.sub("", lowered)
    common = common_passwords()
    if lowered in common or core in common or _repeats_a_common_word(core, common):
        problems.append(
            PasswordProblem("is one of the most common passwords (or one with digits added)")
        )
    elif len(set(lowered)) < 5 and len(password) >= minimum:
        problems.append(PasswordProblem("uses fewer than 5 different characters"))
    local = email.partition("@")[0].lower()
    if len(local) >= 4 and local in lowered:
        problems.append(PasswordProblem("contains the e-mail address"))
    return problems


def _repeats_a_common_word(core: str, common: frozenset[str]) -> bool:
    """'sommarsommar' is no stronger than 'sommar'."""
    for size in range(1, len(core) // 2 + 1):
        if len(core) % size == 0 and core[:size] * (len(core) // size) == core:
            return core[:size] in common
    return False
