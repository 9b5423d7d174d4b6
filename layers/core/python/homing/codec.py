"""Dataclass <-> JSON-like dict conversion, shared by the wire edge (PascalCase) and storage (snake_case).

Written here rather than taken from pydantic: the api function must import in well under 300 ms,
and pydantic alone costs a large part of that. Only what Homing's records use is supported:
str, int, float, bool, nested dataclasses, ``dict[str, X]`` and ``list[X]``, each optional.
Map keys inside ``dict`` fields are user data (attribute names, tags) and are never renamed.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar, cast

from homing.domain.errors import BadRequest

T = TypeVar("T")
# Pinpoint's integers are 32-bit (Java ``Integer``); a larger value is a 400 there too.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
# DynamoDB's number type: magnitudes from 1E-130 to 9.9999999999999999999999999999999999999E+125
# (as a float that bound rounds to 1e126 itself, so the test is ``< 1e126``).
NUMBER_TOO_LARGE = 1e126
NUMBER_MIN_MAGNITUDE = 1e-130
KeyOf = Callable[[str], str]


def pascal(name: str) -> str:
    """snake_case -> PascalCase, the way Pinpoint spells its JSON members."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def snake(name: str) -> str:
    return name


@cache
def _hints(cls: Any) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _strip_optional(tp: Any) -> Any:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0] if len(args) == 1 else tp
    return tp


def _convert(tp: Any, value: Any, path: str, key_of: KeyOf) -> Any:
    tp = _strip_optional(tp)
    if value is None:
        return None
    if dataclasses.is_dataclass(tp):
        return build(tp, value, path, key_of)  # type: ignore[arg-type]
    origin = typing.get_origin(tp)
    if origin is dict:
        if not isinstance(value, dict):
            raise BadRequest(f"{path} must be a map")
        _, value_tp = typing.get_args(tp)
        for k in value:
            check_text(str(k), f"{path} (a key)")
        return {str(k): _convert(value_tp, v, f"{path}.{k}", key_of) for k, v in value.items()}
    if origin is list:
        if not isinstance(value, list):
            raise BadRequest(f"{path} must be a list")
        (item_tp,) = typing.get_args(tp)
        return [_convert(item_tp, v, f"{path}[{i}]", key_of) for i, v in enumerate(value)]
    if tp is bool:
        if not isinstance(value, bool):
            raise BadRequest(f"{path} must be a boolean")
        return value
    if tp is int:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (isinstance(value, float) and not value.is_integer())
        ):
            raise BadRequest(f"{path} must be an integer")
        if not INT_MIN <= value <= INT_MAX:
            raise BadRequest(f"{path} must be an integer between {INT_MIN} and {INT_MAX}")
        return int(value)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BadRequest(f"{path} must be a number")
        check_number(value, path)
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise BadRequest(f"{path} must be a string")
        check_text(value, path)
        return value
    raise TypeError(f"unsupported field type {tp!r}")  # a programming error, not bad input


def check_number(value: int | float, path: str) -> None:
    """A number that JSON, a float and DynamoDB's number type can all hold (no NaN, no Infinity)."""
    try:
        number = float(value)
    except OverflowError:  # an int past float's range
        raise BadRequest(f"{path} is out of range") from None
    if not math.isfinite(number):
        raise BadRequest(f"{path} must be a finite number")
    if abs(number) >= NUMBER_TOO_LARGE or 0 < abs(number) < NUMBER_MIN_MAGNITUDE:
        raise BadRequest(f"{path} is out of range (magnitudes from 1E-130 to 1E+126)")


def check_text(value: str, path: str) -> None:
    """Strings must be storable: valid Unicode (no lone surrogate, which UTF-8 cannot encode)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(f"{path} is not valid Unicode (lone surrogate)") from None


def build(cls: type[T], data: Any, path: str = "", key_of: KeyOf = pascal) -> T:
    """Build ``cls`` from a dict, checking types; errors name the field by its path (e.g. ``Item[2].User.UserId``)."""
    if not isinstance(data, dict):
        raise BadRequest(f"{path or 'The request body'} must be a JSON object")
    kwargs = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        key = key_of(f.name)
        if key in data and data[key] is not None:
            kwargs[f.name] = _convert(
                _hints(cast(Any, cls))[f.name], data[key], f"{path}.{key}" if path else key, key_of
            )
    return cls(**kwargs)


def dump(obj: Any, key_of: KeyOf = pascal) -> Any:
    """The inverse of ``build``: a JSON-ready dict without the fields that are ``None``."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = {}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if value is not None:
                out[key_of(f.name)] = dump(value, key_of)
        return out
    if isinstance(obj, dict):
        return {k: dump(v, key_of) for k, v in obj.items()}
    if isinstance(obj, list):
        return [dump(v, key_of) for v in obj]
    return obj
