"""The Data stack's resources as one bundle, and the one builder of a function's environment."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from homing.adapters.dynamodb.tables import Table
from stacks.constructs.function import OBSERVABILITY_ENV


@dataclass(frozen=True)
class DataResources:
    """What the stateless stacks receive from the Data stack (app.py hands it on)."""

    tables: Mapping[Table, dynamodb.ITable]  # every table of the registry (homing.adapters.dynamodb.tables)
    event_stream: kinesis.IStream
    archive_bucket: s3.IBucket
    key: kms.IKey  # the data key: tables, stream, archive and queues are encrypted with it
    audience_bucket: s3.IBucket  # resolved segment audiences: pages and manifests (homing.domain.audiences)
    messaging_key: kms.IKey | None = None  # the receipt and inbound-SMS topics (delivery_feedback.py)


def function_environment(
    data: DataResources, tables: Iterable[Table], settings: Mapping[str, str] | None = None
) -> dict[str, str]:
    """A function's environment: the deployed name of each table it uses under the table's variable
    (``Table.env``, the name homing.settings reads), Powertools' settings, and ``settings`` (keyed by
    homing.settings.Env names). A function is given no table it does not use."""
    return {
        **{table.env: data.tables[table].table_name for table in tables},
        **OBSERVABILITY_ENV,
        **(settings or {}),
    }
