"""Wire types shared by `auth.*`, `users.*` and the CLI: e-mail, password, names, role."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

Role = Literal["ADMIN", "OPERATOR", "VIEWER"]
ROLES: tuple[Role, ...] = ("ADMIN", "OPERATOR", "VIEWER")

EMAIL_PATTERN = r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$(?!\n)"
Email = Annotated[
    str, msgspec.Meta(min_length=3, max_length=254, pattern=EMAIL_PATTERN, description="An e-mail address")
]
# Characters, not bytes: the 72-byte bcrypt limit is checked separately with a clear message.
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
Name = Annotated[
    str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]*\S[^\x00-\x1f\x7f]*$(?!\n)")
]
UserId = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


def normalize_email(email: str) -> str:
    """E-mail addresses are compared and stored lower-case (unique case-insensitively)."""
    return email.strip().lower()


Challenge = Annotated[
    str, msgspec.Meta(min_length=1, max_length=100, description="A sign-in challenge from `auth.login`")
]
Code = Annotated[
    str,
    msgspec.Meta(
        min_length=6,
        max_length=32,
        pattern=r"^[0-9A-Za-z -]+$(?!\n)",
        description="A six-digit TOTP code, or a recovery code (`ABCD-EFGH-JKLM-NPQR`)",
    ),
]
