"""The one error hierarchy of the domain. homing.api.errors maps it to Pinpoint's wire errors."""

from __future__ import annotations


class HomingError(Exception):
    """Base of every error the domain raises on purpose; ``message`` is safe to show a caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(HomingError):
    """The request is malformed or breaks a documented limit (Pinpoint: BadRequestException, 400)."""


class NotFound(HomingError):
    """The app, endpoint, user or resource does not exist (Pinpoint: NotFoundException, 404)."""


class PayloadTooLarge(HomingError):
    """The request body exceeds Pinpoint's size limit (Pinpoint: PayloadTooLargeException, 413)."""


class MethodNotAllowed(HomingError):
    """The resource exists but not with this method (Pinpoint: MethodNotAllowedException, 405)."""


class Conflict(HomingError):
    """A concurrent change won the race (Pinpoint: ConflictException, 409)."""
