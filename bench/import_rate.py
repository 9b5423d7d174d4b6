"""Import rate: endpoints per second of a CreateImportJob through the local stack.

Starts ``python -m homing.local`` (or uses ``--url`` with ``--moto-url``), writes a CSV file of
``--rows`` endpoints (default 100,000; Pinpoint's documented columns, a user, two attributes and a
metric) into the local stack's S3, runs CreateImportJob with the stock boto3 client and polls
GetImportJob until it is COMPLETED, printing the progress (CompletedPieces of TotalPieces) and
the rate: rows / seconds from CreateImportJob to COMPLETED. Figures are for local mode (runner +
moto, on this machine's cores), for spotting regressions; not a statement about AWS.

    python bench/import_rate.py [--rows 100000] [--url http://127.0.0.1:8740 --moto-url http://127.0.0.1:4566]
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

BUCKET = "homing-jobs-bench"
ROLE = "arn:aws:iam::123456789012:role/pinpoint-import"


def client(service: str, url: str) -> Any:
    import boto3

    factory: Any = boto3.client  # the service name is a plain str here
    return factory(
        service, endpoint_url=url, region_name="us-east-1", aws_access_key_id="homing", aws_secret_access_key="homing"
    )


def csv_file(rows: int) -> bytes:
    out = io.StringIO()
    out.write(
        "Id,ChannelType,Address,User.UserId,Attributes.plan,Attributes.plan,Demographic.Platform,Metrics.visits\n"
    )
    for i in range(rows):
        out.write(f"bench-{i},EMAIL,user{i}@example.com,u{i},pro,trial,{'ios' if i % 2 else 'android'},{i % 50}\n")
    return out.getvalue().encode()


def run(api: str, moto: str, rows: int) -> None:
    s3 = client("s3", moto)
    s3.create_bucket(Bucket=BUCKET)
    body = csv_file(rows)
    s3.put_object(Bucket=BUCKET, Key="bench/endpoints.csv", Body=body)
    pinpoint = client("pinpoint", api)
    app = pinpoint.create_app(CreateApplicationRequest={"Name": "bench-import"})["ApplicationResponse"]["Id"]
    started = time.perf_counter()
    job: dict[str, Any] = pinpoint.create_import_job(
        ApplicationId=app,
        ImportJobRequest={"Format": "CSV", "S3Url": f"s3://{BUCKET}/bench/endpoints.csv", "RoleArn": ROLE},
    )["ImportJobResponse"]
    last = ""
    while job["JobStatus"] not in ("COMPLETED", "FAILED"):
        time.sleep(1)
        job = pinpoint.get_import_job(ApplicationId=app, JobId=job["Id"])["ImportJobResponse"]
        line = f"{job['JobStatus']} {job.get('CompletedPieces', 0)}/{job.get('TotalPieces', 0)} pieces"
        if line != last:
            elapsed, done = time.perf_counter() - started, job.get("TotalProcessed", 0)
            print(f"  {elapsed:6.1f} s  {line}, {done} rows, {done / elapsed:.0f} rows/s so far", flush=True)
            last = line
    wall = time.perf_counter() - started
    print(
        f"CreateImportJob through the local stack: {rows} rows ({len(body) / 1e6:.1f} MB CSV) in "
        f"{job['TotalPieces']} pieces, {job['JobStatus']} in {wall:.1f} s: {rows / wall:.0f} endpoints/s "
        f"(TotalProcessed {job['TotalProcessed']}, TotalFailures {job['TotalFailures']})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--url")
    parser.add_argument("--moto-url")
    parser.add_argument("--no-synth", action="store_true")
    args = parser.parse_args()
    if args.url:
        if not args.moto_url:
            raise SystemExit("--url needs --moto-url (where the local stack's S3 is)")
        run(args.url, args.moto_url, args.rows)
        return
    from bench.api_latency import free_port, local_stack

    moto_port = free_port()
    with local_stack(args.no_synth, extra_args=["--moto-port", str(moto_port)]) as api:
        run(api, f"http://127.0.0.1:{moto_port}", args.rows)


if __name__ == "__main__":
    main()
