"""Request helpers every family's wire module shares: the JSON body, page-size, strings and string maps."""

from __future__ import annotations

import json
from typing import Any

from homing.codec import check_text
from homing.domain.errors import BadRequest
from homing.domain.limits import QUOTAS

# Pinpoint's deepest request shapes (journeys) nest about a dozen levels; anything far deeper is hostile.
MAX_JSON_DEPTH = 64


def _reject_constant(name: str) -> Any:
    raise BadRequest(f"The request body is not valid JSON ({name} is not a JSON number)")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise BadRequest("The request body holds a number out of range")
    return value


def parse_body(raw: str | None, *, strict_text: bool = True) -> dict[str, Any]:
    """The JSON object of a request body, or a 400: never NaN/Infinity, lone surrogates or deep nesting.

    ``strict_text=False`` leaves lone surrogates to the operation, for PutEvents to refuse per event.
    """
    if not raw:
        raise BadRequest("The request body is required")
    try:
        body = json.loads(raw, parse_constant=_reject_constant, parse_float=_finite_float)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
        raise BadRequest("The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object")
    check_json(body, strict_text)
    return body


def check_json(value: Any, strict_text: bool = True) -> None:
    """Walk a parsed document without recursion: depth at most MAX_JSON_DEPTH, every string storable."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            if strict_text:
                check_text(node, "The request body")
            continue
        if not isinstance(node, dict | list):
            continue
        if depth > MAX_JSON_DEPTH:
            raise BadRequest(f"The request body nests deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(node, dict):
            for key, item in node.items():
                if strict_text:
                    check_text(key, "The request body")
                stack.append((item, depth + 1))
        else:
            stack.extend((item, depth + 1) for item in node)


def page_size(raw: str | None) -> int:
    if raw is None or raw == "":
        return QUOTAS.default_page_size
    try:
        size = int(raw)
    except ValueError:
        raise BadRequest("page-size must be an integer") from None
    if not 1 <= size <= QUOTAS.max_page_size:
        raise BadRequest(f"page-size must be between 1 and {QUOTAS.max_page_size}")
    return size


def optional_string(body: dict[str, Any], field: str) -> str | None:
    value = body.get(field)
    if value is not None and not isinstance(value, str):
        raise BadRequest(f"{field} must be a string")
    return value


def string_map(value: Any, field: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise BadRequest(f"{field} must be a map of strings")
    return value
