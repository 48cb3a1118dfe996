"""DynamoDB tables, created from the key schemas the Lambda code itself uses (responder.schema)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as ddb
from constructs import Construct
from responder.core.table_keys import TABLES


class ResponderTables(Construct):
    """incidents (kept), ledger (TTL 90 days), idempotency (TTL): point-in-time recovery on all."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.tables: dict[str, ddb.Table] = {}
        for logical, spec in TABLES.items():
            table = ddb.Table(
                self,
                logical.capitalize(),
                partition_key=ddb.Attribute(name=spec["partition_key"], type=ddb.AttributeType.STRING),
                sort_key=ddb.Attribute(name=spec["sort_key"], type=ddb.AttributeType.STRING)
                if spec["sort_key"]
                else None,
                billing_mode=ddb.BillingMode.PAY_PER_REQUEST,
                encryption=ddb.TableEncryption.AWS_MANAGED,
                point_in_time_recovery_specification=ddb.PointInTimeRecoverySpecification(
                    point_in_time_recovery_enabled=True
                ),
                time_to_live_attribute=spec["ttl"],
                removal_policy=RemovalPolicy.DESTROY if logical == "idempotency" else RemovalPolicy.RETAIN,
            )
            for index, (pk, sk) in spec["indexes"].items():
                table.add_global_secondary_index(
                    index_name=index,
                    partition_key=ddb.Attribute(name=pk, type=ddb.AttributeType.STRING),
                    sort_key=ddb.Attribute(name=sk, type=ddb.AttributeType.STRING),
                )
            self.tables[logical] = table

    def env(self) -> dict[str, str]:
        return {TABLES[logical]["env"]: table.table_name for logical, table in self.tables.items()}

    def arns(self) -> dict[str, str]:
        return {logical: table.table_arn for logical, table in self.tables.items()}
