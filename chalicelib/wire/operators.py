"""Operators on the wire (Admin API): the login, the bodies that create and change an operator
account, and an operator and a session as answered."""

from __future__ import annotations

from ..entities import ROLES, Operator, Role, Session
from .fields import Body, choice, email, if_sent, secret_text
from .shapes import Obj, PageOf, Record

# Any text a password may be, as when one is set: no control characters or lone surrogates
# (argon2 cannot encode those), so no stored password is refused at login.
PASSWORD_MAX = 1024


class LoginRequest(Body):
    email: str = email()
    password: str = secret_text(max_len=PASSWORD_MAX)

    example = {"email": "ada@example.com", "password": "correct horse battery staple"}


class CreateOperatorRequest(Body):
    email: str = email(
        operator=True,
        description="Their login, ASCII only (an internationalized domain in its `xn--` form).",
    )
    password: str = secret_text(max_len=PASSWORD_MAX, description="12-256 characters.")
    role: Role = choice(ROLES)

    example = {"email": "grace@example.com", "password": "a long passphrase", "role": "admin"}


class UpdateOperatorRequest(Body):
    role: Role | None = if_sent(choice(ROLES))
    password: str | None = if_sent(
        secret_text(max_len=PASSWORD_MAX, description="12-256 characters; ends their sessions.")
    )

    at_least_one = ("role", "password")
    example = {"role": "viewer"}


OPERATOR = Record(
    Operator,
    "Operator",
    describe={
        "role": "`viewer` reads; `admin` also changes environments; `owner` also manages operators."
    },
    examples=[
        {
            "id": "op_0Q9cZk1aB2cD3eF0",
            "email": "ada@example.com",
            "role": "owner",
            "createdAt": "2026-11-25T04:48:22.123Z",
            "updatedAt": "2026-11-25T04:48:22.123Z",
            "lastLoginAt": "2026-11-26T09:12:00.000Z",
        }
    ],
)
OPERATORS = PageOf(OPERATOR)
ME = Obj("Me", {"operator": OPERATOR})
SESSION = Record(
    Session,
    "Session",
    exclude=("device",),  # set as an HttpOnly cookie, never in the body
    nested={"operator": OPERATOR},
    schemas={
        "token": {
            "type": "string",
            "pattern": "^pso_[0-9A-Za-z]+$",
            "description": "The session token: `Authorization: Bearer pso_...` on every other "
            "Admin API call.",
        }
    },
    describe={"expires_at": "When the session ends; log in again then."},
)
