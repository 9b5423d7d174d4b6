"""A campaign's batch sender: the delivery workflow's Distributed Map runs it once per ``BatchItem``.

``{"run": <CampaignRun>, "item": <BatchItem>}``: read the audience page ``item.page``, send to
``members[offset:offset + count]`` (``CampaignSender``: every audience rule, one dispatch), write
the batch's tally to ``campaign_runs.tally_key`` (a retry rewrites it with the same tally: the
ledger and the caps' markers make a retried batch send and count nothing twice), answer
``{"batch", "successful"}`` (small: the Map's output).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from homing.adapters.audience_store import AudienceStore
from homing.bootstrap import campaign_sender, event_triggers
from homing.domain.campaign_runs import BatchItem, CampaignRun, tally_key
from homing.observability import logger, metrics
from homing.settings import CampaignSendSettings

_store: list[AudienceStore] = []


def audience_store() -> AudienceStore:
    if not _store:
        _store.append(AudienceStore(CampaignSendSettings.from_env().audience_bucket))
    return _store[0]


def send_batch(event: dict[str, Any]) -> dict[str, Any]:
    run = CampaignRun.from_json(event["run"])
    item = BatchItem.from_json(event["item"])
    logger.append_keys(campaign_id=run.campaign_id, run_id=run.run_id, batch=item.batch)
    store = audience_store()
    page = store.get_json(item.page)
    if page is None:
        raise ValueError(f"audience page {item.page} not found")
    members = list(page.get("members") or [])[item.offset : item.offset + item.count]
    tally = campaign_sender().send(run, members)
    store.put_json(tally_key(run, item.batch), tally.to_json())
    successful = sum(t.successful for t in tally.treatments.values())
    logger.info("campaign batch sent", extra={"members": len(members), "successful": successful})
    return {"batch": item.batch, "successful": successful}


def send_trigger(event: dict[str, Any]) -> dict[str, Any]:
    """One event-triggered send (``{"action": "trigger", "run"}``, invoked asynchronously by process_events):
    the run's endpoint, if the campaign still takes triggers and the endpoint is in its segment."""
    run = CampaignRun.from_json(event["run"])
    logger.append_keys(campaign_id=run.campaign_id, run_id=run.run_id)
    tally = event_triggers().run(run)
    successful = sum(t.successful for t in tally.treatments.values())
    logger.info("event-triggered send done", extra={"successful": successful})
    return {"successful": successful}


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    action = event.get("action", "batch")
    if action == "batch":
        return send_batch(event)
    if action == "trigger":
        return send_trigger(event)
    raise ValueError(f"unknown action {action!r}")
