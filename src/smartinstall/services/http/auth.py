"""Who a request is: HTTP Basic with the director's local users (``username … privilege …
secret``) or a bearer token (``smartinstall token create --user U``).

Password checks (scrypt) run in a thread, judged one at a time per source and user name by the
terminals' login guard: a guesser over HTTP is slowed down exactly as over SSH. A right
password is remembered (as a SHA-256 of user and password, in memory) for a minute, so a
dashboard or a script does not pay scrypt, nor log a login, on every request; the user's
privilege is read anew each time, so a changed or removed ``username`` line counts at once.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable

from smartinstall.services.http.host import HttpHost, Principal
from smartinstall.services.http.problems import ProblemError
from smartinstall.services.http.tokens import TokenStore, split_token

REMEMBER_FOR = 60.0
REMEMBERED = 256
MAX_CREDENTIALS = 512
CHALLENGE = {"WWW-Authenticate": 'Basic realm="smartinstall", charset="UTF-8"'}


def unauthorized(detail: str) -> ProblemError:
    return ProblemError(401, detail, "unauthorized", headers=CHALLENGE)


def parse_basic(value: str) -> tuple[str, str] | None:
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep and user else None


class Authenticator:
    def __init__(
        self, host: HttpHost, port: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.host = host
        self.port = port
        self.tokens = TokenStore(host.data_dir)
        self._clock = clock
        #: (user or "(token)", SHA-256 of the credentials) -> (when, user)
        self._remembered: OrderedDict[tuple[str, str], tuple[float, str]] = OrderedDict()

    def _key(self, user: str, password: str) -> tuple[str, str]:
        return user, hashlib.sha256(f"{user}\0{password}".encode()).hexdigest()

    def _recall(self, key: tuple[str, str]) -> Principal | None:
        found = self._remembered.get(key)
        if found is not None and self._clock() - found[0] < REMEMBER_FOR:
            principal = self._current(found[1])
            if principal is not None:
                return principal
        self._remembered.pop(key, None)
        return None

    def _remember(self, key: tuple[str, str], user: str) -> None:
        self._remembered[key] = (self._clock(), user)
        while len(self._remembered) > REMEMBERED:
            self._remembered.popitem(last=False)

    def _current(self, user: str) -> Principal | None:
        level = self.host.privilege_of(user)
        return Principal(user, level) if level is not None else None

    async def identify(self, header: str | None, peer: str) -> Principal:
        """The principal of an ``Authorization`` header, or a 401 problem."""
        if not header:
            raise unauthorized("Authentication required (HTTP Basic or a bearer token)")
        if len(header) > MAX_CREDENTIALS:
            raise unauthorized("Credentials too long")
        scheme, _, value = header.partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            parsed = parse_basic(value)
            if parsed is None:
                raise unauthorized("Malformed Basic credentials")
            return await self._basic(*parsed, peer)
        if scheme == "bearer":
            return await self._bearer(value.strip(), peer)
        raise unauthorized(f"Unsupported authentication scheme {scheme[:20]!r}")

    async def _basic(self, user: str, password: str, peer: str) -> Principal:
        key = self._key(user, password)
        known = self._recall(key)
        if known is not None:
            return known

        async def check() -> Principal | None:
            return await asyncio.to_thread(self.host.check_user, user, password)

        principal = await self.host.login_attempt(peer, user, self.port, check)
        if principal is None:
            raise unauthorized("Wrong user name or password")
        self._remember(key, principal.user)
        return principal

    async def _bearer(self, token: str, peer: str) -> Principal:
        key = self._key("(token)", token)
        known = self._recall(key)
        if known is not None:
            return known

        async def check() -> Principal | None:
            user = await asyncio.to_thread(self.tokens.user_of, token)
            return self._current(user) if user is not None else None

        # judged per token id: guesses at one token do not slow down the others
        parts = split_token(token)
        lane = f"token:{parts[0]}" if parts is not None else "token"
        principal = await self.host.login_attempt(peer, lane, self.port, check)
        if principal is None:
            raise unauthorized("Unknown or revoked token")
        self._remember(key, principal.user)
        return principal


__all__ = ["Authenticator", "parse_basic"]
