"""CORS for browser clients (AWS SDK for JavaScript, Amplify): one definition for the API and the stacks.

API Gateway answers preflights (MOCK OPTIONS methods, no auth) and adds these headers to its own
error responses; the api function adds them to every response it returns (errors included) through
Powertools' CORSConfig. The origins come from the deployment (``CORS_ALLOW_ORIGINS``).
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import CORSConfig

# What AWS SDK v3 and Amplify send from a browser: SigV4 headers, the SDK's tracking headers, JSON.
ALLOW_HEADERS = (
    "Authorization",
    "Content-Type",
    "X-Amz-Date",
    "X-Amz-Security-Token",
    "X-Amz-User-Agent",
    "X-Amz-Content-Sha256",
    "amz-sdk-invocation-id",
    "amz-sdk-request",
)
# Without these a browser hides them and the SDK cannot tell NotFoundException from BadRequestException.
EXPOSE_HEADERS = ("x-amzn-ErrorType", "x-amzn-RequestId", "x-amz-apigw-id", "Date")
ALLOW_METHODS = ("GET", "POST", "PUT", "DELETE", "OPTIONS")
MAX_AGE_SECONDS = 600  # browsers cache a preflight this long (Chromium caps at 7200)


def cors_config(origins: tuple[str, ...]) -> CORSConfig | None:
    """Powertools' CORS settings for ``origins`` (None: no CORS headers at all)."""
    if not origins:
        return None
    return CORSConfig(
        allow_origin=origins[0],
        extra_origins=list(origins[1:]),
        allow_headers=list(ALLOW_HEADERS),
        expose_headers=list(EXPOSE_HEADERS),
        max_age=MAX_AGE_SECONDS,
    )
