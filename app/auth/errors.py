"""Authentication (401) and authorisation (403) failures."""

from __future__ import annotations

import math

from app.errors import AppError


class AuthenticationError(AppError):
    """No credentials, or credentials that prove nothing (bad, expired, revoked)."""

    status = 401
    code = "unauthenticated"
    title = "Authentication required"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="switchboard"'})


class PermissionDeniedError(AppError):
    """The caller is known but may not do this."""

    status = 403
    code = "forbidden"
    title = "Not allowed"


class InvalidCredentialsError(AuthenticationError):
    """A log-in failed. One answer for every cause, so it never tells who has an account."""

    code = "invalid_credentials"
    title = "Log-in failed"

    def __init__(self) -> None:
        super().__init__("The username or password is wrong, or the account is not active.")


class InvalidRefreshTokenError(AuthenticationError):
    """The refresh token is unknown, revoked or expired, or its owner can no longer sign in."""

    code = "invalid_refresh_token"
    title = "Sign in again"

    def __init__(
        self, detail: str = "The refresh token is not valid any more; sign in again."
    ) -> None:
        super().__init__(detail)


class RefreshTokenReusedError(InvalidRefreshTokenError):
    """A refresh token was used a second time: its whole sign-in has been ended."""

    def __init__(self) -> None:
        super().__init__(
            "This refresh token was already used, so the sign-in it belongs to has been "
            "ended for safety; sign in again."
        )


class TooManyAttemptsError(AppError):
    """Too many failed log-ins; `Retry-After` says when to try again."""

    status = 429
    code = "too_many_attempts"
    title = "Too many attempts"

    def __init__(self, retry_after_s: float) -> None:
        seconds = max(1, math.ceil(retry_after_s))
        super().__init__(
            f"Too many failed log-ins; try again in {seconds} seconds.",
            headers={"Retry-After": str(seconds)},
        )
        self.retry_after_s = seconds


class ApiKeyExpiryError(AppError):
    """An API key cannot be made already expired."""

    status = 422
    code = "validation_failed"
    title = "The request is not valid"

    def __init__(self) -> None:
        super().__init__(
            "Check these fields: body.expires_at",
            errors=[{"field": "body.expires_at", "message": "must be in the future"}],
        )
