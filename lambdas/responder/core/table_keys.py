"""DynamoDB key schemas, defined once: the stack creates the tables from these, and so do the
emulated-AWS tests, so code and infrastructure cannot disagree about keys."""

from __future__ import annotations

from typing import Any

TABLES: dict[str, dict[str, Any]] = {
    "incidents": {
        "env": "INCIDENTS_TABLE",
        "partition_key": "pk",
        "sort_key": "sk",
        "ttl": None,
        "indexes": {},
    },
    "ledger": {
        "env": "LEDGER_TABLE",
        "partition_key": "pk",
        "sort_key": "sk",
        "ttl": "expiresAt",
        "indexes": {"byCreator": ("creatorArn", "sk")},
    },
    "idempotency": {
        "env": "IDEMPOTENCY_TABLE",
        "partition_key": "id",
        "sort_key": None,
        "ttl": "expiration",
        "indexes": {},
    },
}


def create_table_request(logical: str, table_name: str) -> dict[str, Any]:
    """The CreateTable request for one table (on-demand billing), as the emulator sends it."""
    spec = TABLES[logical]
    keys = [(spec["partition_key"], "HASH")] + ([(spec["sort_key"], "RANGE")] if spec["sort_key"] else [])
    attributes = {name for name, _ in keys} | {a for pair in spec["indexes"].values() for a in pair}
    request: dict[str, Any] = {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": n, "KeyType": t} for n, t in keys],
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in sorted(attributes)],
    }
    if spec["indexes"]:
        request["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index,
                "KeySchema": [{"AttributeName": pk, "KeyType": "HASH"}, {"AttributeName": sk, "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index, (pk, sk) in spec["indexes"].items()
        ]
    return request
