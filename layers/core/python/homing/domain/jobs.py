"""Import and export jobs, pure: the records, request rules, file rows, piece splitting and the status arithmetic.

An import reads CSV or newline-delimited JSON files (Pinpoint's formats, pinpoint-formats.md §3.1) in
*pieces*: line ranges of one file that start at a record boundary and know their first line number (and,
for CSV, the file's header), so every row error names its file and line. An export writes Pinpoint's
export format (§3.2): gzip objects of newline-delimited endpoint JSON.
"""

from __future__ import annotations

import csv
import fnmatch
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from homing.codec import build
from homing.domain.endpoints import EndpointRequest, validate_endpoint_id, validate_request
from homing.domain.errors import BadRequest, HomingError
from homing.domain.event_streams import ROLE_ARN
from homing.domain.limits import QUOTAS

IMPORT, EXPORT = "IMPORT", "EXPORT"
FORMATS = ("CSV", "JSON")
# Pinpoint's JobStatus values; Homing uses CREATED, INITIALIZING, PROCESSING, COMPLETING, COMPLETED, FAILED.
CREATED, INITIALIZING, PROCESSING, COMPLETING, COMPLETED, FAILED = (
    "CREATED",
    "INITIALIZING",
    "PROCESSING",
    "COMPLETING",
    "COMPLETED",
    "FAILED",
)
FINISHED = frozenset({COMPLETED, FAILED})
MAX_FAILURES = 100  # ImportJobResponse.Failures: "up to 100"
# A piece: at most this many lines or bytes of one file (a worker stores it in well under a minute).
PIECE_LINES = 1_000
PIECE_BYTES = 4 * 1024 * 1024
MAX_LINE_BYTES = 64 * 1024  # far above Pinpoint's 15 KB endpoint: a longer line is refused, not parsed
S3_URL = re.compile(r"^s3://([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])(?:/(.*))?$")
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".gz")
CSV_SUFFIXES = (".csv",)
# Members of an exported endpoint that an EndpointRequest does not have: read, then left out.
EXPORT_ONLY = frozenset({"ApplicationId", "CohortId", "CreationDate"})
CSV_SCALARS = frozenset({"Id", "Address", "ChannelType", "RequestId", "OptOut", "EffectiveDate", "EndpointStatus"})
CSV_GROUPS = {
    "Demographic": frozenset(
        {"AppVersion", "Locale", "Make", "Model", "ModelVersion", "Platform", "PlatformVersion", "Timezone"}
    ),
    "Location": frozenset({"City", "Country", "Latitude", "Longitude", "PostalCode", "Region"}),
}
CSV_NUMBERS = frozenset({"Location.Latitude", "Location.Longitude"})


@dataclass(frozen=True)
class ImportDefinition:
    """ImportJobRequest as accepted (Definition of the response)."""

    format: str
    s3_url: str
    role_arn: str
    define_segment: bool | None = None
    register_endpoints: bool | None = None
    segment_id: str | None = None
    segment_name: str | None = None
    external_id: str | None = None

    @property
    def registers(self) -> bool:
        """Absent RegisterEndpoints registers (docs/decisions.md): an import exists to bring endpoints in."""
        return self.register_endpoints is not False


@dataclass(frozen=True)
class ExportDefinition:
    """ExportJobRequest as accepted."""

    s3_url_prefix: str
    role_arn: str
    segment_id: str | None = None
    segment_version: int | None = None


@dataclass
class Job:
    """An import or export job and its progress (ImportJobResponse / ExportJobResponse)."""

    application_id: str
    id: str
    type: str
    job_status: str
    creation_date: str
    definition: ImportDefinition | ExportDefinition
    total_pieces: int = 0
    completed_pieces: int = 0
    failed_pieces: int = 0
    total_processed: int = 0
    total_failures: int = 0
    failures: list[str] = field(default_factory=list)
    completion_date: str | None = None

    @property
    def segment_id(self) -> str | None:
        return self.definition.segment_id


@dataclass(frozen=True)
class Piece:
    """Lines ``first_line``..``first_line + lines - 1`` of one object, at bytes [start, end) unless gzip."""

    index: int
    key: str
    first_line: int
    lines: int
    start: int
    end: int
    gzip: bool = False
    header: tuple[str, ...] | None = None  # CSV: the file's first line, as columns


@dataclass(frozen=True)
class PieceResult:
    """What one piece did: rows read, rows refused (with messages), and whether it could be read at all."""

    processed: int
    failures: list[str]
    failed: bool = False


# --- requests --------------------------------------------------------------------------------------


def parse_s3_url(url: str, field_name: str) -> tuple[str, str]:
    """(bucket, key or prefix) of ``s3://bucket/key``, or the 400 naming the field."""
    match = S3_URL.match(url or "")
    if not match or ".." in match.group(1):
        raise BadRequest(f"{field_name} must be an S3 URL: s3://bucket-name/key-or-prefix")
    return match.group(1), match.group(2) or ""


def bucket_allowed(bucket: str, patterns: Iterable[str]) -> bool:
    """Homing reads and writes only the buckets its deployment grants (JOB_BUCKETS, glob patterns)."""
    return any(fnmatch.fnmatchcase(bucket, p) for p in patterns)


def _check_bucket(url: str, field_name: str, buckets: tuple[str, ...]) -> None:
    bucket, _ = parse_s3_url(url, field_name)
    if not bucket_allowed(bucket, buckets):
        raise BadRequest(
            f"{field_name}: bucket {bucket} is not one this Homing deployment may use "
            f"(job_buckets: {', '.join(buckets) or 'none'})"
        )


def _check_role(role: str | None) -> None:
    if not role or not ROLE_ARN.match(role):
        raise BadRequest("RoleArn must be the ARN of an IAM role")


def check_import(d: ImportDefinition, buckets: tuple[str, ...]) -> ImportDefinition:
    if d.format not in FORMATS:
        raise BadRequest("Format must be CSV or JSON")
    _check_bucket(d.s3_url, "S3Url", buckets)
    _check_role(d.role_arn)
    if d.define_segment and not (d.segment_name or d.segment_id):
        raise BadRequest("SegmentName is required when DefineSegment is true (or SegmentId, to update one)")
    if d.segment_name is not None and not d.segment_name.strip():
        raise BadRequest("SegmentName must not be empty")
    return d


def check_export(d: ExportDefinition, buckets: tuple[str, ...]) -> ExportDefinition:
    _check_bucket(d.s3_url_prefix, "S3UrlPrefix", buckets)
    _check_role(d.role_arn)
    if d.segment_version is not None and d.segment_id is None:
        raise BadRequest("SegmentVersion needs SegmentId")
    if d.segment_version is not None and d.segment_version < 1:
        raise BadRequest("SegmentVersion must be at least 1")
    return d


# --- files and pieces ------------------------------------------------------------------------------


def wanted(key: str, fmt: str, single: bool) -> bool:
    """Is this object read? One named object always; under a prefix, only files of the job's Format."""
    if key.endswith("/"):
        return False
    if single:
        return True
    lower = key.lower()
    return lower.endswith(CSV_SUFFIXES if fmt == "CSV" else JSON_SUFFIXES)


def split_lines(
    key: str,
    lines: Iterable[bytes],
    fmt: str,
    *,
    first_index: int = 0,
    gzip: bool = False,
    max_lines: int | None = None,
    max_bytes: int | None = None,
) -> list[Piece]:
    """Cut one file (its lines, each with its newline) into pieces that start at a record boundary.

    A CSV file's first line is its header: every piece carries it, and the first piece starts on line 2.
    """
    max_lines, max_bytes = max_lines or PIECE_LINES, max_bytes or PIECE_BYTES
    pieces: list[Piece] = []
    header: tuple[str, ...] | None = None
    offset = 0
    start, first, count = 0, 1, 0
    for number, line in enumerate(lines, start=1):
        if fmt == "CSV" and number == 1:
            header = tuple(next(csv.reader([line.decode("utf-8-sig", "replace").rstrip("\r\n")]), []))
            offset += len(line)
            start, first = offset, 2
            continue
        if count == 0:
            start, first = offset, number
        offset += len(line)
        count += 1
        if count >= max_lines or offset - start >= max_bytes:
            pieces.append(Piece(first_index + len(pieces), key, first, count, start, offset, gzip, header))
            count = 0
    if count:
        pieces.append(Piece(first_index + len(pieces), key, first, count, start, offset, gzip, header))
    return pieces


# --- rows ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One line read: an endpoint to register, user ids (a User.UserId-only file), or why it was refused."""

    line: int
    endpoint: EndpointRequest | None = None
    user_ids: tuple[str, ...] = ()
    error: str | None = None


def _set_path(target: dict[str, Any], path: list[str], value: Any) -> None:
    for part in path[:-1]:
        target = target.setdefault(part, {})
    target[path[-1]] = value


def csv_record(header: tuple[str, ...], cells: list[str]) -> dict[str, Any]:
    """One CSV row as the endpoint JSON it stands for; a repeated attribute column adds a value."""
    if len(cells) > len(header):
        raise BadRequest(f"the row has {len(cells)} values and the header {len(header)} columns")
    out: dict[str, Any] = {}
    for name, cell in zip(header, cells, strict=False):
        value = cell.strip()
        if not value:
            continue
        parts = name.strip().split(".")
        if len(parts) == 1 and parts[0] in CSV_SCALARS:
            out[parts[0]] = value
        elif len(parts) == 2 and parts[0] in CSV_GROUPS and parts[1] in CSV_GROUPS[parts[0]]:
            _set_path(out, parts, _number(value, name) if name.strip() in CSV_NUMBERS else value)
        elif len(parts) >= 2 and parts[0] == "Attributes":
            out.setdefault("Attributes", {}).setdefault(".".join(parts[1:]), []).append(value)
        elif len(parts) >= 3 and parts[:2] == ["User", "UserAttributes"]:
            attrs = out.setdefault("User", {}).setdefault("UserAttributes", {})
            attrs.setdefault(".".join(parts[2:]), []).append(value)
        elif len(parts) >= 2 and parts[0] == "Metrics":
            out.setdefault("Metrics", {})[".".join(parts[1:])] = _number(value, name)
        elif parts == ["User", "UserId"]:
            out.setdefault("User", {})["UserId"] = value
        else:
            raise BadRequest(f"column {name} is not an endpoint field")
    return out


def _number(value: str, name: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise BadRequest(f"{name} must be a number") from None


def _user_only(record: dict[str, Any]) -> tuple[str, ...] | None:
    """User ids of a line that names only users (Pinpoint's User.UserId-only files), else None."""
    user = record.get("User")
    if (
        set(record) == {"User"}
        and isinstance(user, dict)
        and set(user) == {"UserId"}
        and isinstance(user["UserId"], str)
    ):
        return tuple(user["UserId"].split())
    return None


def parse_line(fmt: str, header: tuple[str, ...] | None, text: str, line: int) -> Row | None:
    """One line of a file as a Row; None for a blank line. Errors name the field, never the value."""
    if not text.strip():
        return None
    try:
        if len(text) > MAX_LINE_BYTES:
            raise BadRequest(f"the line is longer than {MAX_LINE_BYTES} characters")
        if fmt == "CSV":
            record = csv_record(header or (), next(csv.reader([text])))
        else:
            try:
                record = json.loads(text)
            except (ValueError, RecursionError):
                raise BadRequest("the line is not a JSON object") from None
            if not isinstance(record, dict):
                raise BadRequest("the line is not a JSON object")
            record = {k: v for k, v in record.items() if k not in EXPORT_ONLY}
        users = _user_only(record)
        if users is not None:
            return Row(line, user_ids=users)
        endpoint = build(EndpointRequest, record)
        if endpoint.id is not None:
            validate_endpoint_id(endpoint.id, "Id")
        validate_request(endpoint, "", QUOTAS)
        if endpoint.id is None and not (endpoint.channel_type and endpoint.address):
            raise BadRequest("a new endpoint needs ChannelType and Address (or an Id to update one)")
        return Row(line, endpoint=endpoint)
    except HomingError as error:
        return Row(line, error=error.message)
    except (csv.Error, RecursionError) as error:
        return Row(line, error=f"the line cannot be read ({type(error).__name__})")


def read_rows(piece: Piece, fmt: str, lines: Iterable[bytes]) -> Iterator[Row]:
    """The piece's rows, numbered from its first line; undecodable text fails only its own row."""
    for number, raw in enumerate(lines, start=piece.first_line):
        try:
            text = raw.decode("utf-8-sig" if number == 1 else "utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            yield Row(number, error="the line is not UTF-8")
            continue
        row = parse_line(fmt, piece.header, text, number)
        if row is not None:
            yield row


def failure_message(key: str, line: int, error: str) -> str:
    return f"{key} line {line}: {error}"


def merge_failures(stored: list[str], new: list[str]) -> list[str]:
    """The job keeps the first MAX_FAILURES messages."""
    return (stored + new[: max(0, MAX_FAILURES - len(stored))])[:MAX_FAILURES]


def final_status(job: Job) -> str | None:
    """COMPLETED or FAILED once every piece is counted (FAILED if any piece failed), else None."""
    if job.job_status != PROCESSING or job.completed_pieces + job.failed_pieces < job.total_pieces:
        return None
    return FAILED if job.failed_pieces else COMPLETED


def export_object_key(prefix: str, job_id: str, segment: int, part: int) -> str:
    """Where one scan segment's part of an export goes: under the prefix, one folder per job."""
    base = prefix.rstrip("/")
    return f"{base + '/' if base else ''}{job_id}/segment-{segment:04d}-part-{part:04d}.json.gz"
