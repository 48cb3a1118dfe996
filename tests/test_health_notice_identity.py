"""Organization mode: a global Health notice arrives twice - us-east-1 and its us-west-2 backup, each forwarded by
the member under its own envelope id - and is answered once (responder.parse.notice_identity), through the handler."""

from __future__ import annotations

import pytest
from responder.parse.notice_identity import keyed_by_notice, notice_id

from compromise_responder.tools.emulator.scenarios import spot_swarm
from tests.report_truth import assert_truthful

ROLE = "CompromiseResponderMember"
KEY_B = "AKIA2OSFODNN7EXAMPLE"
TEAM_B = "AKIA3OSFODNN7EXAMPLE"
OTHER_KEY = "AKIA6OSFODNN7EXAMPLE"


@pytest.fixture
def member(aws):
    [b] = aws.organization(1, names=("b-data",))
    aws.set_env(MEMBER_ROLE_NAME=ROLE, ALLOWED_REGIONS="us-east-1,eu-west-1")
    return b


def deliveries(event: dict, *regions: str) -> list[dict]:
    """The same notice as EventBridge delivers it in each region: its own envelope id and region each time."""
    return [
        {**event, "id": f"7bf73129-1428-4cd3-a780-95db273d16{n:02d}", "region": region}
        for n, region in enumerate(regions)
    ]


def test_a_notice_delivered_in_us_east_1_and_us_west_2_is_answered_once(aws, invoke, member):
    b = aws.in_account(member)
    swarm = spot_swarm(b, regions=("sa-east-1",), requests_per_region=2, key=KEY_B, team_key=TEAM_B)
    east, west = deliveries(swarm.health_event(account=member), "us-east-1", "us-west-2")
    assert east["id"] != west["id"] and notice_id(east) == notice_id(west)

    first = invoke("health", east)
    aws.recorder.reset()
    second = invoke("health", west)

    assert second == first  # the first answer, returned again
    assert {c.action for c in aws.recorder.changes} <= {"dynamodb:PutItem"}  # the idempotency record only
    [note] = aws.notifications()  # one page
    assert b.key_status("ci-deployer") == {KEY_B: "Inactive"}
    assert_truthful(b, first, [note])


def test_another_key_or_another_account_is_another_notice():
    event = {"id": "e1", "account": "123456789012", "detail": {"eventArn": "arn:aws:health:us-east-1::event/RISK/X/1",
             "affectedEntities": [{"entityValue": KEY_B}]}}  # fmt: skip
    other_key = {**event, "detail": {**event["detail"], "affectedEntities": [{"entityValue": OTHER_KEY}]}}
    other_account = {**event, "account": "210987654321"}
    assert len({notice_id(e) for e in (event, other_key, other_account)}) == 3
    keyed = keyed_by_notice(event)
    assert keyed["id"] == notice_id(event) and keyed["envelopeId"] == "e1"
    assert keyed_by_notice({"id": "e2", "detail": {}}) == {"id": "e2", "detail": {}}  # the parser names the field
    assert keyed_by_notice({**event, "id": 7}) == {**event, "id": 7}  # a malformed envelope id stays as sent


def test_a_single_account_keys_on_the_envelope_as_the_contract_says(aws, invoke):
    """Without organization mode there is one Health rule: a notice re-sent under a new envelope id is answered -
    as a trigger joining the open incident of the key ("One incident per compromise"): its own report, the same
    incident, and no second page (the page budget)."""
    spot = spot_swarm(aws, regions=("sa-east-1",), requests_per_region=1)
    first = invoke("health", spot.health_event(event_id="11111111-1111-4111-8111-111111111111"))
    second = invoke("health", spot.health_event(event_id="22222222-2222-4222-8222-222222222222"))
    assert second != first and second["incidentId"] == first["incidentId"]
    assert len(aws.notifications()) == 1
