"""Message rendering, pure: Pinpoint's Handlebars dialect over an endpoint's variables.

Direct sends, campaigns and journeys all render here. ``render(source, values)`` compiles a template
once per process (an LRU keyed by the source) and runs it with Pinpoint's helpers; ``variables(...)``
builds the values in Pinpoint's variable namespace from an endpoint, the message's substitutions and
the template's defaults.

The engine is pybars3 (Handlebars.js for Python). What it lacks is written here:
- Pinpoint's helpers (user guide "message template helpers"; their names and hash arguments are
  Handlebars.java's, so dates take Java ``SimpleDateFormat`` patterns and numbers print as Java's
  ``BigDecimal`` would: ``{{multiply 5 2.3}}`` is ``11.5``, not ``11.499999999999998``);
- inline partials (``{{#* inline "name"}}…{{/inline}}``), which pybars3 cannot parse: they are cut
  out of the source before compiling and handed to pybars3 as ordinary partials, so ``{{> name}}``
  works as in Handlebars;
- lists: endpoint and user attributes are lists of strings. A list prints comma-joined, as
  Handlebars.js prints an array (``{{User.UserAttributes.FirstName}}`` is ``Jane``), and ``.[0]``
  picks an element; an index past the end is a missing value.
A missing value renders as empty text (Pinpoint's documented behaviour).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import html
import re
import sys
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pybars

from homing.codec import pascal
from homing.domain.errors import BadRequest

if TYPE_CHECKING:
    from homing.domain.endpoints import Endpoint

CACHE_SIZE = 512  # compiled templates kept per process
EACH_LIMIT = 15  # Pinpoint: "{{#each}}" iterates at most 15 items


class AttributeList(list[Any]):
    """An attribute's values: prints comma-joined (Handlebars.js), ``.[n]`` picks one, past the end is missing."""

    def __str__(self) -> str:
        return ",".join("" if v is None else str(v) for v in self)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):  # a path segment: "0", "1", … (pybars3 resolves through item access)
            try:
                index = int(key)
            except ValueError:
                return None
            return super().__getitem__(index) if -len(self) <= index < len(self) else None
        return super().__getitem__(key)

    def get(self, key: Any, default: Any = None) -> Any:
        value = self[key] if isinstance(key, str) else default
        return default if value is None else value


# ---------------------------------------------------------------------------------------------------
# Values: Pinpoint's variable namespace


def _lists(value: Any) -> Any:
    """Lists become AttributeLists (at any depth) so they print and index as Pinpoint's do."""
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return AttributeList(_lists(v) for v in value)
    return value


def _set_path(target: dict[str, Any], path: str, value: Any) -> None:
    """Put ``value`` at a dotted path (``User.UserAttributes.FirstName``), creating maps on the way.

    The whole name is set too, so a key that is not a path (``Last Name``, ``a.b`` meant literally)
    is still found by ``{{[a.b]}}``.
    """
    parts = path.split(".")
    node = target
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value
    if len(parts) > 1:
        target[path] = value


def variables(
    endpoint: Endpoint | None,
    endpoint_id: str | None,
    substitutions: Mapping[str, Sequence[str]],
    defaults: Mapping[str, str],
) -> dict[str, Any]:
    """The values a template renders against, lowest precedence first: the template's defaults, the
    endpoint (``Address``, ``Attributes.x``, ``User.UserAttributes.x``, …, as Pinpoint names them),
    then the message's ``Substitutions`` (they "take precedence over all other variables")."""
    values: dict[str, Any] = {}
    for name, default in defaults.items():
        _set_path(values, name, default)
    if endpoint is not None:
        shaped = shape(endpoint)
        shaped.pop("ApplicationId", None)
        _merge(values, shaped)
    if endpoint_id is not None:
        values["Id"] = endpoint_id
    for name, subst in substitutions.items():
        _set_path(values, name, AttributeList(subst))
    return values


_FIELDS: dict[type, tuple[tuple[str, str], ...]] = {}


def _fields(cls: type) -> tuple[tuple[str, str], ...]:
    """(attribute, PascalCase key) of a dataclass, worked out once per class."""
    found = _FIELDS.get(cls)
    if found is None:
        found = _FIELDS[cls] = tuple((f.name, pascal(f.name)) for f in dataclasses.fields(cls))
    return found


def shape(record: Any) -> dict[str, Any]:
    """``homing.codec.dump(record)`` (PascalCase, None left out) in one pass, with lists as
    AttributeLists: an endpoint is shaped once per message, so this is on the hot path of every send
    (tests/unit/test_rendering.py checks it equals ``dump``)."""
    out: dict[str, Any] = {}
    for name, key in _fields(type(record)):
        value = getattr(record, name)
        if value is None:
            continue
        if isinstance(value, dict):
            out[key] = {k: AttributeList(v) if isinstance(v, list) else v for k, v in value.items()}
        elif isinstance(value, list):
            out[key] = AttributeList(value)
        elif dataclasses.is_dataclass(value):
            out[key] = shape(value)
        else:
            out[key] = value
    return out


def _merge(into: dict[str, Any], new: Mapping[str, Any]) -> None:
    """``new`` laid over ``into``, maps merged key by key; lists become AttributeLists on the way."""
    for key, value in new.items():
        if isinstance(value, dict):
            child = into.get(key)
            if isinstance(child, dict):
                _merge(child, value)
            else:
                into[key] = _lists(value)
        elif isinstance(value, list):
            into[key] = AttributeList(value)
        elif value is not None:
            into[key] = value


# ---------------------------------------------------------------------------------------------------
# Truth, numbers, text


def _truthy(value: Any) -> bool:
    """Handlebars' truth: null, false, "", 0 and an empty list are false; so is the text "false"."""
    if isinstance(value, str):
        return value != "" and value.lower() != "false"
    if isinstance(value, list | tuple):
        return len(value) > 0
    return bool(value)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, AttributeList) and len(value) == 1:
        value = value[0]
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _number_text(value: Decimal) -> str:
    """A number as Java's BigDecimal prints it plainly: no exponent, no trailing zeros."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _is_block(options: Any) -> bool:
    return isinstance(options, dict) and callable(options.get("fn")) and "root" in options


def _split(args: tuple[Any, ...]) -> tuple[dict[str, Any] | None, tuple[Any, ...]]:
    if args and _is_block(args[0]):
        return args[0], args[1:]
    return None, args


def _compare(a: Any, b: Any) -> int | None:
    """-1, 0, 1 comparing numerically when both are numbers (numeric text included), else as text."""
    da, db = _decimal(a), _decimal(b)
    if da is not None and db is not None:
        return (da > db) - (da < db)
    if a is None or b is None:
        return None
    ta, tb = _text(a), _text(b)
    return (ta > tb) - (ta < tb)


# ---------------------------------------------------------------------------------------------------
# Conditional helpers: inline with yes= / no=, or as blocks with {{else}}


def _conditional(test: Callable[[tuple[Any, ...]], bool]) -> Callable[..., Any]:
    def helper(this: Any, *args: Any, **hash_args: Any) -> Any:
        options, values = _split(args)
        result = test(values)
        if options is not None:
            return options["fn"](this) if result else options["inverse"](this)
        if "yes" in hash_args or "no" in hash_args:
            return hash_args.get("yes", "") if result else hash_args.get("no", "")
        return result

    return helper


def _eq(values: tuple[Any, ...]) -> bool:
    if len(values) < 2:
        return False
    return _compare(values[0], values[1]) == 0


def _ordered(accept: Callable[[int], bool]) -> Callable[[tuple[Any, ...]], bool]:
    def test(values: tuple[Any, ...]) -> bool:
        if len(values) < 2:
            return False
        order = _compare(values[0], values[1])
        return order is not None and accept(order)

    return test


# ---------------------------------------------------------------------------------------------------
# Dates: Java SimpleDateFormat patterns (the subset messages use) and DateFormat's US styles

_STYLES = {"full": "EEEE, MMMM d, yyyy", "long": "MMMM d, yyyy", "medium": "MMM d, yyyy", "short": "M/d/yy"}
_PATTERN_TOKEN = re.compile(r"'([^']*)'|([A-Za-z])\2*|.", re.S)


@cache
def _tokens(pattern: str) -> tuple[tuple[str, str], ...]:
    """(kind, text): kind "lit" for literal text, else the pattern letter run (``yyyy``, ``MMM``, …)."""
    out: list[tuple[str, str]] = []
    for match in _PATTERN_TOKEN.finditer(pattern):
        quoted, letter = match.group(1), match.group(2)
        if quoted is not None:
            out.append(("lit", quoted if quoted else "'"))
        elif letter is not None:
            out.append(("field", match.group(0)))
        else:
            out.append(("lit", match.group(0)))
    return tuple(out)


_NUMERIC: dict[str, Callable[[datetime], int]] = {
    "d": lambda w: w.day,
    "H": lambda w: w.hour,
    "h": lambda w: w.hour % 12 or 12,
    "m": lambda w: w.minute,
    "s": lambda w: w.second,
    "k": lambda w: w.hour or 24,
    "K": lambda w: w.hour % 12,
    "D": lambda w: w.timetuple().tm_yday,
    "u": lambda w: w.isoweekday(),
}


def _format_field(run: str, when: datetime) -> str:
    letter, n = run[0], len(run)
    if letter in _NUMERIC:
        return str(_NUMERIC[letter](when)).zfill(n)
    if letter in "yY":
        return str(when.year % 100).zfill(2) if n == 2 else str(when.year).zfill(n)
    if letter in "ML":
        if n >= 4:
            return when.strftime("%B")
        if n == 3:
            return when.strftime("%b")
        return str(when.month).zfill(n)
    if letter == "E":
        return when.strftime("%A") if n >= 4 else when.strftime("%a")
    if letter == "a":
        return "AM" if when.hour < 12 else "PM"
    if letter == "S":
        return str(when.microsecond // 1000).zfill(3)[:n] if n <= 3 else str(when.microsecond // 1000).zfill(n)
    if letter == "z":
        return when.tzname() or "UTC"
    if letter in "ZX":
        offset = when.utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset is not None else 0
        if letter == "X" and minutes == 0:
            return "Z"
        sign, minutes = ("-" if minutes < 0 else "+"), abs(minutes)
        sep = ":" if letter == "X" and n >= 3 else ""
        return (
            f"{sign}{minutes // 60:02d}{sep}{minutes % 60:02d}"
            if letter == "Z" or n > 1
            else f"{sign}{minutes // 60:02d}"
        )
    return run  # a letter Java would reject: kept as text rather than failing the message


def format_date(when: datetime, pattern: str) -> str:
    """``when`` formatted with a Java ``SimpleDateFormat`` pattern or a style (full/long/medium/short)."""
    pattern = _STYLES.get(pattern, pattern)
    return "".join(text if kind == "lit" else _format_field(text, when) for kind, text in _tokens(pattern))


_PARSE_CODES = {"yyyy": "%Y", "yy": "%y", "MM": "%m", "M": "%m", "MMMM": "%B", "MMM": "%b", "dd": "%d", "d": "%d"}
_PARSE_CODES |= {"HH": "%H", "H": "%H", "hh": "%I", "h": "%I", "mm": "%M", "m": "%M", "ss": "%S", "s": "%S"}
_PARSE_CODES |= {"a": "%p", "EEEE": "%A", "EEE": "%a", "E": "%a", "SSS": "%f", "Z": "%z", "XXX": "%z", "X": "%z"}


def parse_date(text: str, pattern: str | None) -> datetime | None:
    """A date read with a Java pattern, or, without one, as ISO-8601 (or epoch milliseconds)."""
    text = text.strip()
    if not pattern:
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            pass
        number = _decimal(text)
        return datetime.fromtimestamp(float(number) / 1000, UTC) if number is not None else None
    pattern = _STYLES.get(pattern, pattern)
    codes = []
    for kind, token in _tokens(pattern):
        if kind == "lit":
            codes.append(token.replace("%", "%%"))
        elif token in _PARSE_CODES:
            codes.append(_PARSE_CODES[token])
        else:
            return None
    try:
        return datetime.strptime(text, "".join(codes))
    except ValueError:
        return None


def _zone(name: Any) -> tzinfo | None:
    if not name or not isinstance(name, str):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _date_format(this: Any, value: Any = None, *args: Any, **hash_args: Any) -> str:
    _, values = _split((value, *args))
    if not values or values[0] is None:
        return ""
    raw = values[0]
    output = values[1] if len(values) > 1 and isinstance(values[1], str) else hash_args.get("outputFormat", "medium")
    when = raw if isinstance(raw, datetime) else parse_date(_text(raw), hash_args.get("inputFormat"))
    if when is None:
        return _text(raw)  # not a date: printed as it is rather than failing the message
    zone = _zone(hash_args.get("tz"))
    if zone is not None:
        when = when.replace(tzinfo=zone) if when.tzinfo is None else when.astimezone(zone)
    return format_date(when, _text(output))


def _now_helper(clock: Callable[[], datetime]) -> Callable[..., str]:
    def now(this: Any, *args: Any, **hash_args: Any) -> str:
        _, values = _split(args)
        when = clock()
        zone = _zone(hash_args.get("tz"))
        if zone is not None:
            when = when.astimezone(zone)
        return format_date(when, _text(values[0]) if values else "medium")

    return now


# ---------------------------------------------------------------------------------------------------
# String helpers


def _string(fn: Callable[..., str]) -> Callable[..., str]:
    """A helper over its first argument as text; a missing value stays empty."""

    def helper(this: Any, *args: Any, **hash_args: Any) -> str:
        _, values = _split(args)
        if not values or values[0] is None:
            return ""
        return fn(_text(values[0]), *values[1:], **hash_args)

    return helper


def _int(value: Any, default: int) -> int:
    number = _decimal(value)
    return int(number) if number is not None else default


def _abbreviate(text: str, width: Any = None, **_: Any) -> str:
    n = _int(width, len(text))
    if len(text) <= n:
        return text
    return text[: max(n - 3, 0)] + "..." if n >= 4 else text[:n]


def _capitalize(text: str, *_: Any, **hash_args: Any) -> str:
    fully = _truthy(hash_args.get("fully", False))
    return re.sub(
        r"\S+", lambda m: m.group(0)[:1].upper() + (m.group(0)[1:].lower() if fully else m.group(0)[1:]), text
    )


def _center(text: str, *args: Any, **hash_args: Any) -> str:
    size = _int(hash_args.get("size", args[0] if args else None), len(text))
    pad = _text(hash_args.get("pad", " ")) or " "
    extra = size - len(text)
    if extra <= 0:
        return text
    left = extra // 2
    return (pad * size)[:left] + text + (pad * size)[: extra - left]


def _ljust(text: str, *args: Any, **hash_args: Any) -> str:
    size = _int(hash_args.get("size", args[0] if args else None), len(text))
    pad = _text(hash_args.get("pad", " ")) or " "
    return text + (pad * size)[: max(size - len(text), 0)]


def _rjust(text: str, *args: Any, **hash_args: Any) -> str:
    size = _int(hash_args.get("size", args[0] if args else None), len(text))
    pad = _text(hash_args.get("pad", " ")) or " "
    return (pad * size)[: max(size - len(text), 0)] + text


def _ordinalize(text: str, *_: Any, **__: Any) -> str:
    number = _decimal(text)
    if number is None or number != number.to_integral_value():
        return text
    n = int(number)
    suffix = "th" if 11 <= abs(n) % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(abs(n) % 10, "th")
    return f"{n}{suffix}"


def _slugify(text: str, *_: Any, **__: Any) -> str:
    text = re.sub(r"[^A-Za-z0-9_\s-]", "", text.strip().lower())
    return re.sub(r"[\s_-]+", "-", text).strip("-")


def _substring(text: str, start: Any = 0, end: Any = None, **_: Any) -> str:
    begin = max(_int(start, 0), 0)
    return text[begin : max(_int(end, len(text)), begin)] if end is not None else text[begin:]


def _inflect(this: Any, *args: Any, **hash_args: Any) -> str:
    _, values = _split(args)
    if len(values) < 3:
        return ""
    count, singular, plural = values[0], _text(values[1]), _text(values[2])
    number = _decimal(count)
    word = singular if number is not None and number == 1 else plural
    return f"{_text(count)} {word}" if _truthy(hash_args.get("includeCount", False)) else word


def _join(this: Any, *args: Any, **hash_args: Any) -> str:
    _, values = _split(args)
    if not values or values[0] is None:
        return ""
    items = values[0] if isinstance(values[0], list | tuple) else [values[0]]
    separator = _text(values[1]) if len(values) > 1 else ","
    return (
        _text(hash_args.get("prefix", ""))
        + separator.join(_text(i) for i in items)
        + _text(hash_args.get("suffix", ""))
    )


def _yesno(this: Any, *args: Any, **hash_args: Any) -> str:
    _, values = _split(args)
    value = values[0] if values else None
    if isinstance(value, AttributeList):
        value = value[0] if value else None
    if value is None or (isinstance(value, str) and value.lower() not in ("true", "false")):
        return _text(hash_args.get("maybe", "maybe"))
    return _text(hash_args.get("yes", "yes")) if _truthy(value) else _text(hash_args.get("no", "no"))


# ---------------------------------------------------------------------------------------------------
# Math and encoding helpers

_DIVIDE_PLACES = Decimal("0.00000001")  # Pinpoint's documented {{divide 5 2.3}} is 2.17391304


def _math(op: Callable[[Decimal, Decimal], Decimal | None]) -> Callable[..., str]:
    def helper(this: Any, *args: Any, **__: Any) -> str:
        _, values = _split(args)
        if len(values) < 2:
            return ""
        a, b = _decimal(values[0]), _decimal(values[1])
        if a is None or b is None:
            return ""
        result = op(a, b)
        return "" if result is None else _number_text(result)

    return helper


def _divide(a: Decimal, b: Decimal) -> Decimal | None:
    return None if b == 0 else (a / b).quantize(_DIVIDE_PLACES, rounding=ROUND_HALF_UP)


def _modulo(a: Decimal, b: Decimal) -> Decimal | None:
    return None if b == 0 else a % b


def _rounding(mode: str) -> Callable[..., str]:
    def helper(this: Any, *args: Any, **__: Any) -> str:
        _, values = _split(args)
        number = _decimal(values[0]) if values else None
        return "" if number is None else _number_text(number.to_integral_value(rounding=mode))

    return helper


def _decode64(text: str, *_: Any, **__: Any) -> str:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""


def _digest(name: str) -> Callable[..., str]:
    return _string(lambda text, *_, **__: hashlib.new(name, text.encode("utf-8")).hexdigest())


def _uuid(this: Any, *_: Any, **__: Any) -> str:
    return str(uuid.uuid4())


# ---------------------------------------------------------------------------------------------------
# Built-ins kept Handlebars' way with Pinpoint's limits


def _each(this: Any, options: dict[str, Any], context: Any = None, *_: Any, **__: Any) -> Any:
    if isinstance(context, list | tuple) and len(context) > EACH_LIMIT:
        context = AttributeList(context[:EACH_LIMIT])
    return pybars._compiler._each(this, options, context)


def helpers(clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> dict[str, Callable[..., Any]]:
    """Pinpoint's helpers (user guide, "Message template helpers"), by name."""
    return {
        "each": _each,
        "and": _conditional(lambda v: len(v) > 0 and all(_truthy(x) for x in v)),
        "or": _conditional(lambda v: any(_truthy(x) for x in v)),
        "not": _conditional(lambda v: not (len(v) > 0 and _truthy(v[0]))),
        "eq": _conditional(_eq),
        "neq": _conditional(lambda v: not _eq(v)),
        "gt": _conditional(_ordered(lambda o: o > 0)),
        "gte": _conditional(_ordered(lambda o: o >= 0)),
        "lt": _conditional(_ordered(lambda o: o < 0)),
        "lte": _conditional(_ordered(lambda o: o <= 0)),
        "if": _conditional(lambda v: len(v) > 0 and _truthy(v[0])),
        "abbreviate": _string(_abbreviate),
        "capitalize": _string(_capitalize),
        "capitalizeFirst": _string(lambda t, *_, **__: t[:1].upper() + t[1:]),
        "center": _string(_center),
        "cut": _string(lambda t, s=" ", *_, **__: t.replace(_text(s), "") if _text(s) else t),
        "dateFormat": _date_format,
        "inflect": _inflect,
        "join": _join,
        "ljust": _string(_ljust),
        "rjust": _string(_rjust),
        "lower": _string(lambda t, *_, **__: t.lower()),
        "upper": _string(lambda t, *_, **__: t.upper()),
        "now": _now_helper(clock),
        "ordinalize": _string(_ordinalize),
        "replace": _string(lambda t, a="", b="", *_, **__: t.replace(_text(a), _text(b)) if _text(a) else t),
        "slugify": _string(_slugify),
        "stripTags": _string(lambda t, *_, **__: html.unescape(re.sub(r"<[^>]*>", "", t))),
        "substring": _string(_substring),
        "yesno": _yesno,
        "add": _math(lambda a, b: a + b),
        "subtract": _math(lambda a, b: a - b),
        "multiply": _math(lambda a, b: a * b),
        "divide": _math(_divide),
        "modulo": _math(_modulo),
        "ceiling": _rounding(ROUND_CEILING),
        "floor": _rounding(ROUND_FLOOR),
        "round": _rounding(ROUND_HALF_UP),
        "encode64": _string(lambda t, *_, **__: base64.b64encode(t.encode("utf-8")).decode()),
        "decode64": _string(_decode64),
        "md5": _digest("md5"),
        "sha256": _digest("sha256"),
        "sha512": _digest("sha512"),
        "uuid": _uuid,
    }


# ---------------------------------------------------------------------------------------------------
# Compiling and rendering

_INLINE = re.compile(r"{{~?#\*\s*inline\s+(?:\"([^\"]*)\"|'([^']*)')\s*~?}}(.*?){{~?/inline\s*~?}}", re.S)
_MUSTACHE = re.compile(r"{{[^{}]*}}")
_DECIMAL_LITERAL = re.compile(r"(\"[^\"]*\"|'[^']*')|(?<=[\s(=])(-?\d+\.\d+)(?=[\s)}])")
Compiled = Callable[..., Any]


def _quote_decimals(source: str) -> str:
    """pybars3 parses integer literals but not ``2.3``: decimal literals become strings, which the
    math and comparison helpers read as numbers all the same."""

    def quote(match: re.Match[str]) -> str:
        return match.group(1) or f'"{match.group(2)}"'  # a string literal is kept as it is

    return _MUSTACHE.sub(lambda m: _DECIMAL_LITERAL.sub(quote, m.group(0)), source)


class _Cache:
    """Compiled templates, least recently used first out; compiling is serialised (pybars3's compiler
    keeps state on the class) and each template's module is not kept in ``sys.modules``."""

    def __init__(self, size: int) -> None:
        self._size, self._lock, self._compiling = size, threading.Lock(), threading.Lock()
        self._items: OrderedDict[str, tuple[Compiled, dict[str, Compiled]]] = OrderedDict()
        self._compiler = pybars.Compiler()

    def compile(self, source: str) -> tuple[Compiled, dict[str, Compiled]]:
        """The template and its inline partials, compiled now (no cache)."""
        partials: dict[str, Compiled] = {}

        def cut(match: re.Match[str]) -> str:
            partials[match.group(1) if match.group(1) is not None else match.group(2)] = self._one(match.group(3))
            return ""

        with self._compiling:
            body = _INLINE.sub(cut, _quote_decimals(source))
            return self._one(body), partials

    def _one(self, source: str) -> Compiled:
        try:
            fn: Compiled = self._compiler.compile(source)
        except Exception as exc:  # pybars3 raises PybarsError, and OMeta's ParseError for some syntax
            raise BadRequest(f"The template could not be parsed: {_reason(exc)}") from None
        sys.modules.pop(fn.__globals__.get("__name__", ""), None)
        return fn

    def get(self, source: str) -> tuple[Compiled, dict[str, Compiled]]:
        with self._lock:
            hit = self._items.get(source)
            if hit is not None:
                self._items.move_to_end(source)
                return hit
        compiled = self.compile(source)
        with self._lock:
            self._items[source] = compiled
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return compiled


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


_cache = _Cache(CACHE_SIZE)
_helpers = helpers()


def run(compiled: tuple[Compiled, dict[str, Compiled]], values: Mapping[str, Any]) -> str:
    """Render an already compiled template (``compile_template``) against ``values``."""
    template, partials = compiled
    try:
        return str(template(values, helpers=_helpers, partials=partials))
    except BadRequest:
        raise
    except Exception as exc:  # a helper or path error inside pybars3: the message cannot be rendered
        raise BadRequest(f"The template could not be rendered: {_reason(exc)}") from None


def compile_template(source: str) -> tuple[Compiled, dict[str, Compiled]]:
    """Compile without the cache (the bench's baseline; callers use ``render``)."""
    return _cache.compile(source)


def render(source: str, values: Mapping[str, Any]) -> str:
    """``source`` rendered against ``values`` (``variables(...)``): ``{{x}}`` HTML-escaped as Handlebars
    does, ``{{{x}}}`` as it is; a missing value is empty. BadRequest if the template is not valid."""
    if "{{" not in source:
        return source
    return run(_cache.get(source), values)


def check(source: str) -> None:
    """BadRequest if ``source`` does not compile (what a send would find out)."""
    _cache.get(source)


__all__ = ["AttributeList", "check", "format_date", "helpers", "parse_date", "render", "variables"]
