"""The one place where domain errors become Pinpoint's wire errors."""

from __future__ import annotations

import json

from aws_lambda_powertools.event_handler.api_gateway import APIGatewayRestResolver, Response

from homing.domain.errors import BadRequest, Conflict, HomingError, MethodNotAllowed, NotFound, PayloadTooLarge
from homing.observability import logger

# Pinpoint's modelled error types and their HTTP status codes (botocore pinpoint service model).
ERROR_TYPES: dict[type[HomingError], tuple[str, int]] = {
    BadRequest: ("BadRequestException", 400),
    NotFound: ("NotFoundException", 404),
    MethodNotAllowed: ("MethodNotAllowedException", 405),
    Conflict: ("ConflictException", 409),
    PayloadTooLarge: ("PayloadTooLargeException", 413),
}


def error_response(error_type: str, status: int, message: str, request_id: str) -> Response[str]:
    return Response(
        status_code=status,
        content_type="application/json",
        headers={"X-Amzn-ErrorType": error_type},
        body=json.dumps({"Message": message, "RequestID": request_id}),
    )


def register(app: APIGatewayRestResolver) -> None:
    def request_id() -> str:
        return str(app.current_event.request_context.request_id or "")

    @app.exception_handler(HomingError)
    def homing_error(error: HomingError) -> Response[str]:
        error_type, status = next(
            (v for cls, v in ERROR_TYPES.items() if isinstance(error, cls)), ("BadRequestException", 400)
        )
        return error_response(error_type, status, error.message, request_id())

    @app.not_found
    def not_found(_: Exception) -> Response[str]:
        return error_response("NotFoundException", 404, "Resource not found", request_id())

    @app.exception_handler(Exception)
    def unexpected(error: Exception) -> Response[str]:
        logger.exception("unhandled error")
        return error_response("InternalServerErrorException", 500, "Internal server error", request_id())
