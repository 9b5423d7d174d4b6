"""Import and export job rules: requests, CSV and JSON rows with their line numbers, pieces, status arithmetic."""

from __future__ import annotations

import json

import pytest

from homing.domain.errors import BadRequest
from homing.domain.jobs import (
    COMPLETED,
    FAILED,
    MAX_FAILURES,
    PROCESSING,
    ExportDefinition,
    ImportDefinition,
    Job,
    Piece,
    check_export,
    check_import,
    csv_record,
    export_object_key,
    final_status,
    merge_failures,
    parse_line,
    read_rows,
    split_lines,
    wanted,
)

ROLE = "arn:aws:iam::123456789012:role/import"
BUCKETS = ("homing-jobs-*",)


def imp(**kw: object) -> ImportDefinition:
    base: dict[str, object] = {"format": "CSV", "s3_url": "s3://homing-jobs-a/in/", "role_arn": ROLE}
    return ImportDefinition(**{**base, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("definition", "field"),
    [
        (imp(format="XML"), "Format"),
        (imp(s3_url="https://homing-jobs-a/x"), "S3Url"),
        (imp(s3_url="s3://"), "S3Url"),
        (imp(s3_url="s3://someone-elses-bucket/x"), "S3Url"),
        (imp(role_arn="arn:aws:iam::123456789012:user/bob"), "RoleArn"),
        (imp(define_segment=True), "SegmentName"),
    ],
)
def test_import_requests_are_refused_naming_the_field(definition: ImportDefinition, field: str) -> None:
    with pytest.raises(BadRequest) as error:
        check_import(definition, BUCKETS)
    assert error.value.message.startswith(field)


def test_an_import_request_in_a_granted_bucket_is_accepted_and_registers_by_default() -> None:
    d = check_import(imp(define_segment=True, segment_name="imported"), BUCKETS)
    assert d.registers
    assert not imp(register_endpoints=False).registers


@pytest.mark.parametrize(
    ("definition", "field"),
    [
        (ExportDefinition("s3://other/x", ROLE), "S3UrlPrefix"),
        (ExportDefinition("s3://homing-jobs-a/x", "role"), "RoleArn"),
        (ExportDefinition("s3://homing-jobs-a/x", ROLE, segment_version=2), "SegmentVersion"),
    ],
)
def test_export_requests_are_refused_naming_the_field(definition: ExportDefinition, field: str) -> None:
    with pytest.raises(BadRequest) as error:
        check_export(definition, BUCKETS)
    assert error.value.message.startswith(field)


def test_csv_headers_are_dotted_paths_and_a_repeated_attribute_column_adds_values() -> None:
    header = (
        "ChannelType",
        "Address",
        "Location.Country",
        "Location.Latitude",
        "Demographic.Platform",
        "User.UserId",
        "User.UserAttributes.tags",
        "User.UserAttributes.tags",
        "Attributes.Interests",
        "Metrics.visits",
    )
    record = csv_record(header, ["SMS", "+16045550182", "CA", "49.2", "Android", "u-1", "red", "blue", "Bus", "3"])
    assert record == {
        "ChannelType": "SMS",
        "Address": "+16045550182",
        "Location": {"Country": "CA", "Latitude": 49.2},
        "Demographic": {"Platform": "Android"},
        "User": {"UserId": "u-1", "UserAttributes": {"tags": ["red", "blue"]}},
        "Attributes": {"Interests": ["Bus"]},
        "Metrics": {"visits": 3.0},
    }


def test_a_bad_row_is_refused_with_its_reason_and_a_good_one_becomes_an_endpoint_request() -> None:
    header = ("ChannelType", "Address", "Metrics.visits")
    good = parse_line("CSV", header, "EMAIL,a@example.com,2", 7)
    assert good is not None
    assert good.endpoint is not None
    assert good.endpoint.metrics == {"visits": 2.0}
    bad = parse_line("CSV", header, "EMAIL,a@example.com,many", 8)
    assert bad is not None
    assert bad.line == 8
    assert bad.error == "Metrics.visits must be a number"
    no_address = parse_line("CSV", header, "EMAIL,,", 9)
    assert no_address is not None
    assert "ChannelType and Address" in (no_address.error or "")
    wrong_channel = parse_line("JSON", None, '{"ChannelType":"FAX","Address":"x"}', 10)
    assert wrong_channel is not None
    assert (wrong_channel.error or "").startswith("ChannelType")
    assert parse_line("CSV", header, "   ", 11) is None


def test_a_pinpoint_export_line_imports_unchanged() -> None:
    line = json.dumps(
        {
            "ApplicationId": "a" * 32,
            "Id": "ep-1",
            "ChannelType": "EMAIL",
            "Address": "a@example.com",
            "Attributes": {"colour": ["blue"]},
            "Demographic": {"Platform": "ios", "Timezone": "Europe/Paris"},
            "EffectiveDate": "2024-01-02T03:04:05.000Z",
            "EndpointStatus": "ACTIVE",
            "Location": {"Country": "FR", "Latitude": 48.9, "Longitude": 2.3},
            "Metrics": {"score": 1.5},
            "OptOut": "NONE",
            "RequestId": "r-1",
            "User": {"UserId": "u-1", "UserAttributes": {"tier": ["gold"]}},
            "CohortId": "42",
            "CreationDate": "2024-01-01T00:00:00.000Z",
        }
    )
    row = parse_line("JSON", None, line, 1)
    assert row is not None
    assert row.error is None
    assert row.endpoint is not None
    assert (row.endpoint.id, row.endpoint.location and row.endpoint.location.country) == ("ep-1", "FR")


def test_user_id_only_lines_name_users_for_a_segment() -> None:
    row = parse_line("CSV", ("User.UserId",), "u-1 u-2", 2)
    assert row is not None
    assert row.user_ids == ("u-1", "u-2")
    assert row.endpoint is None
    row = parse_line("JSON", None, '{"User":{"UserId":"u-3"}}', 3)
    assert row is not None
    assert row.user_ids == ("u-3",)


def test_pieces_start_at_record_boundaries_know_their_lines_and_carry_the_csv_header() -> None:
    data = [b"ChannelType,Address\n"] + [f"EMAIL,u{i}@example.com\n".encode() for i in range(10)]
    pieces = split_lines("in/a.csv", data, "CSV", first_index=3, max_lines=4)
    assert [(p.index, p.first_line, p.lines) for p in pieces] == [(3, 2, 4), (4, 6, 4), (5, 10, 2)]
    blob = b"".join(data)
    for p in pieces:
        assert p.header == ("ChannelType", "Address")
        chunk = blob[p.start : p.end].splitlines(keepends=True)
        rows = list(read_rows(p, "CSV", chunk))
        assert [r.line for r in rows] == list(range(p.first_line, p.first_line + p.lines))
        assert rows[0].endpoint is not None
        assert rows[0].endpoint.address == f"u{p.first_line - 2}@example.com"


def test_json_pieces_split_by_bytes_too_and_start_on_line_one() -> None:
    data = [json.dumps({"ChannelType": "EMAIL", "Address": f"u{i}@x.com"}).encode() + b"\n" for i in range(5)]
    pieces = split_lines("a.json", data, "JSON", max_bytes=len(data[0]) * 2)
    assert [(p.first_line, p.lines, p.header) for p in pieces] == [(1, 2, None), (3, 2, None), (5, 1, None)]


def test_undecodable_text_fails_only_its_own_row() -> None:
    piece = Piece(0, "a.json", 4, 2, 0, 0)
    rows = list(read_rows(piece, "JSON", [b"\xff\xfe\n", b'{"Id":"x","ChannelType":"EMAIL","Address":"a@b.c"}\n']))
    assert [(r.line, r.error) for r in rows] == [(4, "the line is not UTF-8"), (5, None)]


def test_which_files_under_a_prefix_are_read() -> None:
    assert wanted("in/a.csv", "CSV", False)
    assert not wanted("in/a.json", "CSV", False)
    assert wanted("exports/x/part-0001.gz", "JSON", False)
    assert wanted("in/a.jsonl", "JSON", False)
    assert not wanted("in/", "JSON", False)
    assert wanted("in/no-extension", "JSON", True)


def job(**kw: object) -> Job:
    base = Job("a", "j", "IMPORT", PROCESSING, "2024-01-01T00:00:00.000Z", imp(), total_pieces=3)
    for k, v in kw.items():
        setattr(base, k, v)
    return base


def test_a_job_finishes_when_every_piece_is_counted_and_fails_if_any_piece_failed() -> None:
    assert final_status(job(completed_pieces=2)) is None
    assert final_status(job(completed_pieces=3)) == COMPLETED
    assert final_status(job(completed_pieces=2, failed_pieces=1)) == FAILED
    assert final_status(job(completed_pieces=3, job_status=COMPLETED)) is None


def test_the_job_keeps_the_first_hundred_failures() -> None:
    stored = [f"s{i}" for i in range(98)]
    assert merge_failures(stored, ["a", "b", "c"]) == [*stored, "a", "b"]
    assert len(merge_failures([], [str(i) for i in range(500)])) == MAX_FAILURES


def test_export_objects_are_gzip_parts_under_the_prefix_one_folder_per_job() -> None:
    assert export_object_key("out/", "j1", 2, 0) == "out/j1/segment-0002-part-0000.json.gz"
    assert export_object_key("", "j1", 0, 1) == "j1/segment-0000-part-0001.json.gz"


def test_imported_membership_reads_each_import_once_and_keeps_only_the_latest() -> None:
    """An IMPORT version's members: its import's endpoint ids (any case) and its users' endpoints."""
    from homing.adapters.dynamodb.jobs import Imported
    from homing.domain.segments import Segment
    from homing.services.jobs import ImportedMembers

    reads: list[str] = []

    class Repo:
        def imported_ids(self, app_id: str, job_id: str) -> Imported:
            reads.append(job_id)
            return Imported({"Ep-1"}, {"u-1"} if job_id == "j1" else set(), {})

    members = ImportedMembers(Repo(), keep=2)  # type: ignore[arg-type]

    def version(job_id: str | None) -> Segment:
        return Segment("s", "app", 1, "IMPORT", "", "", import_job_id=job_id)

    assert members(version("j1"), {"id": "ep-1"})
    assert members(version("j1"), {"id": "other", "user": {"user_id": "u-1"}})
    assert not members(version("j1"), {"id": "other", "user": {"user_id": "u-2"}})
    assert not members(version("j2"), {"id": "other", "user": {"user_id": "u-1"}})
    assert not members(version(None), {"id": "ep-1"})
    assert reads == ["j1", "j2"]
    members(version("j3"), {"id": "x"})  # j1 is dropped (least recently used), so it is read again
    members(version("j1"), {"id": "x"})
    assert reads == ["j1", "j2", "j3", "j1"]
