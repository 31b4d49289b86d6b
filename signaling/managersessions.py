"""Signed-in managers' sessions on the branch server's page (pure: the time is passed in).

A session is a random token in an HttpOnly, SameSite=Strict cookie; the server keeps the
sessions in memory (a restarted server asks the managers to sign in again). A session ends
after :data:`~signaling.limits.MANAGER_IDLE_S` without the manager's own activity (the page's
background refreshes do not count) or :data:`~signaling.limits.MANAGER_SESSION_MAX_S` after
sign-in, whichever is first; at most :data:`~signaling.limits.MANAGER_SESSIONS_MAX` are held.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass

from signaling import limits
from signaling.errors import SignalingError

COOKIE = "bilik_manager"


class SessionEnd(enum.StrEnum):
    """Why a request has no session (the error code the page gets)."""

    NOT_SIGNED_IN = "not_signed_in"
    IDLE = "session_expired"
    TOO_OLD = "session_too_old"
    SIGNED_OUT = "signed_out"


class NoSession(SignalingError):
    def __init__(self, why: SessionEnd, detail: str) -> None:
        super().__init__(f"{why}: {detail}")
        self.why = why
        self.detail = detail


@dataclass
class Session:
    manager: str
    started: float
    last_active: float


def _key(token: str) -> str:
    # Only a digest is held: a memory dump does not hand out live cookies.
    return hashlib.sha256(token.encode()).hexdigest()


class Sessions:
    def __init__(self, *, idle_s: float = limits.MANAGER_IDLE_S,
                 max_age_s: float = limits.MANAGER_SESSION_MAX_S,
                 max_sessions: int = limits.MANAGER_SESSIONS_MAX) -> None:
        self.idle_s = idle_s
        self.max_age_s = max_age_s
        self.max_sessions = max_sessions
        self._sessions: dict[str, Session] = {}
        self._ended: dict[str, SessionEnd] = {}  # recently ended, to say why

    def open(self, manager: str, now: float) -> str:
        """A new session; returns the cookie's token."""
        self._sweep(now)
        while len(self._sessions) >= self.max_sessions:
            oldest = min(self._sessions, key=lambda k: self._sessions[k].started)
            self._end(oldest, SessionEnd.TOO_OLD)
        token = secrets.token_urlsafe(32)
        self._sessions[_key(token)] = Session(manager, now, now)
        return token

    def check(self, token: str | None, now: float, *, touch: bool) -> Session:
        """The live session of ``token`` (its activity noted if ``touch``), or NoSession."""
        if not token:
            raise NoSession(SessionEnd.NOT_SIGNED_IN, "sign in with your manager id and PIN")
        key = _key(token)
        session = self._sessions.get(key)
        if session is not None:
            if now - session.last_active >= self.idle_s:
                self._end(key, SessionEnd.IDLE)
            elif now - session.started >= self.max_age_s:
                self._end(key, SessionEnd.TOO_OLD)
        session = self._sessions.get(key)
        if session is None:
            raise NoSession(*self._why(key))
        if touch:
            session.last_active = now
        return session

    def close(self, token: str | None) -> str | None:
        """Sign out; the manager whose session it was, if any."""
        if not token:
            return None
        key = _key(token)
        session = self._sessions.get(key)
        self._end(key, SessionEnd.SIGNED_OUT)
        return None if session is None else session.manager

    def close_manager(self, manager: str) -> int:
        """End every session of one manager (disabled, PIN reset); how many there were."""
        keys = [k for k, s in self._sessions.items() if s.manager == manager]
        for key in keys:
            self._end(key, SessionEnd.SIGNED_OUT)
        return len(keys)

    def __len__(self) -> int:
        return len(self._sessions)

    def _end(self, key: str, why: SessionEnd) -> None:
        if self._sessions.pop(key, None) is not None:
            self._ended[key] = why
            while len(self._ended) > 4 * self.max_sessions:
                self._ended.pop(next(iter(self._ended)))

    def _sweep(self, now: float) -> None:
        for key, s in list(self._sessions.items()):
            if now - s.last_active >= self.idle_s:
                self._end(key, SessionEnd.IDLE)
            elif now - s.started >= self.max_age_s:
                self._end(key, SessionEnd.TOO_OLD)

    def _why(self, key: str) -> tuple[SessionEnd, str]:
        why = self._ended.get(key, SessionEnd.NOT_SIGNED_IN)
        detail = {
            SessionEnd.IDLE: f"signed out after {_minutes(self.idle_s)} without activity; "
                             "sign in again",
            SessionEnd.TOO_OLD: f"a session lasts at most {self.max_age_s / 3600:g} hours; "
                                "sign in again",
            SessionEnd.SIGNED_OUT: "you signed out (or your account was changed); "
                                   "sign in again",
            SessionEnd.NOT_SIGNED_IN: "sign in with your manager id and PIN",
        }[why]
        return why, detail


def _minutes(seconds: float) -> str:
    m = seconds / 60
    return f"{m:g} minute" + ("" if m == 1 else "s")
