"""DynamoDB tables built from the PynamoDB models, so keys and indexes have one source of truth."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct
from pynamodb.attributes import Attribute
from pynamodb.indexes import GlobalSecondaryIndex, Index, LocalSecondaryIndex
from pynamodb.models import Model

_ATTRIBUTE_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}

_PROJECTIONS = {
    "ALL": dynamodb.ProjectionType.ALL,
    "KEYS_ONLY": dynamodb.ProjectionType.KEYS_ONLY,
    "INCLUDE": dynamodb.ProjectionType.INCLUDE,
}


def _key(attribute: Attribute[object]) -> dynamodb.Attribute:
    attr_type = attribute.attr_type
    if attr_type not in _ATTRIBUTE_TYPES:
        raise ValueError(f"attribute {attribute.attr_name!r} of type {attr_type!r} cannot be a key")
    return dynamodb.Attribute(name=attribute.attr_name, type=_ATTRIBUTE_TYPES[attr_type])


def _key_attributes(attributes: dict[str, Attribute[object]], owner: str) -> tuple[Attribute[object], ...]:
    """(hash key,) or (hash key, range key) among ``attributes``."""
    hash_keys = [a for a in attributes.values() if a.is_hash_key]
    range_keys = [a for a in attributes.values() if a.is_range_key]
    if len(hash_keys) != 1 or len(range_keys) > 1:
        raise ValueError(f"{owner} must declare exactly one hash key and at most one range key")
    return (hash_keys[0], *range_keys)


def _index_parts(
    index: Index[Model],
) -> tuple[tuple[Attribute[object], ...], dynamodb.ProjectionType, list[str] | None]:
    """(key attributes, projection type, non-key attributes) of a PynamoDB index."""
    meta = index.Meta
    keys = _key_attributes(meta.attributes, f"index {meta.index_name!r}")
    projection = meta.projection
    non_key = list(projection.non_key_attributes or []) if projection.projection_type == "INCLUDE" else None
    return keys, _PROJECTIONS[projection.projection_type], non_key


class ModelTable(dynamodb.Table):
    """A ``dynamodb.Table`` whose key schema and secondary indexes are those of a PynamoDB model.

    House defaults for Homing's data: on-demand billing, point-in-time recovery, encryption with
    the customer-managed data key, and RETAIN (a table is never dropped with its stack). A model
    with a ``TTLAttribute`` gets DynamoDB time to live on that attribute.
    """

    def __init__(self, scope: Construct, construct_id: str, *, model: type[Model], encryption_key: kms.IKey) -> None:
        keys = _key_attributes(model.get_attributes(), model.__name__)
        ttl = model._ttl_attribute()
        super().__init__(
            scope,
            construct_id,
            partition_key=_key(keys[0]),
            sort_key=_key(keys[1]) if len(keys) > 1 else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=encryption_key,
            time_to_live_attribute=ttl.attr_name if ttl is not None else None,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.model = model
        # Sorted by name so the synthesized template does not depend on attribute declaration order.
        for name, index in sorted(model._indexes.items()):
            keys, projection, non_key = _index_parts(index)
            if isinstance(index, GlobalSecondaryIndex):
                self.add_global_secondary_index(
                    index_name=name,
                    partition_key=_key(keys[0]),
                    sort_key=_key(keys[1]) if len(keys) > 1 else None,
                    projection_type=projection,
                    non_key_attributes=non_key,
                )
            elif isinstance(index, LocalSecondaryIndex):
                if len(keys) < 2:
                    raise ValueError(f"local index {name!r} of {model.__name__} needs a range key")
                self.add_local_secondary_index(
                    index_name=name, sort_key=_key(keys[1]), projection_type=projection, non_key_attributes=non_key
                )
            else:  # pragma: no cover - PynamoDB has only these two index kinds
                raise TypeError(f"unsupported index type {type(index).__name__}")
