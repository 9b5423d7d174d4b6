"""One canonical spelling per resource, so an IAM policy on execute-api ARNs cannot be sidestepped.

API Gateway builds the ARN it authorizes (``…/<stage>/<METHOD>/v1/apps/<app-id>/…``) from the
request path as sent, and IAM compares it literally (case-sensitive). Any second spelling of the
same resource (``%61pp``, ``APP-ID``, ``/./``, ``//``, ``%2f``) would be a second ARN that a Deny
written for the canonical one does not match, so the function refuses every spelling but one:

- no empty segment (``//``, trailing ``/``) and no ``.``/``..`` segment, encoded or not: 400;
- each segment percent-encoded exactly as the AWS SDKs encode a path label (RFC 3986 unreserved
  characters as they are, everything else as ``%XX`` in upper case, UTF-8): otherwise 400;
- the app id exactly as CreateApp issued it (32 lower-case hex digits): otherwise 404, as for any
  app that does not exist.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

from homing.domain.errors import BadRequest, HomingError, NotFound

UNRESERVED = "-._~"  # with letters and digits: what botocore / the JS SDK leave unencoded in a label
APP_ID = re.compile(r"[0-9a-f]{32}")


def canonical_segment(value: str) -> str:
    """How a decoded path parameter is spelled in the one accepted path."""
    return quote(value, safe=UNRESERVED)


def path_problem(path: str) -> HomingError | None:
    """Why ``path`` (as API Gateway passes it: percent-encoded, stage removed) is not canonical, or None."""
    if not path.startswith("/"):
        return BadRequest("The request path must start with /")
    if path == "/":
        return None
    segments = path[1:].split("/")
    for segment in segments:
        if not segment:
            return BadRequest("The request path must not contain empty segments (// or a trailing /)")
        try:
            decoded = unquote(segment, errors="strict")
        except UnicodeDecodeError:
            return BadRequest("The request path is not valid percent-encoded UTF-8")
        if decoded in (".", ".."):
            return BadRequest("The request path must not contain . or .. segments")
        if canonical_segment(decoded) != segment:
            return BadRequest(
                "The request path is not canonical: percent-encode every character but letters, digits "
                "and -._~ (upper-case hex), and nothing else"
            )
    if len(segments) >= 3 and segments[:2] == ["v1", "apps"] and not APP_ID.fullmatch(segments[2]):
        return NotFound(f"Application {unquote(segments[2])[:64]} not found")
    return None
