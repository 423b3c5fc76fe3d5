"""Agents' passwords, hashed with Argon2id (argon2-cffi, the library's recommended parameters).
Only the hash reaches the store."""
from __future__ import annotations

from typing import Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD, MAX_PASSWORD = 8, 128
_hasher = PasswordHasher()


class PasswordError(ValueError):
    pass


def hash_password(password: str) -> str:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise PasswordError(f"a password has {MIN_PASSWORD}–{MAX_PASSWORD} characters")
    return _hasher.hash(password)


def verify_password(stored_hash: Optional[str], password: str) -> bool:
    if not stored_hash or not isinstance(password, str) or len(password) > MAX_PASSWORD:
        # Same work on an unknown name as on a known one: timing tells nothing about who exists.
        _hasher.hash("x" * MIN_PASSWORD)
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False
