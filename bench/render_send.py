"""Render-and-hand-off speed: CPU µs per message to render a templated email for each endpoint and hand
the Delivery to a Sender, against the same work with the template recompiled per message, same run.

The email (subject, HTML and text parts) uses several variables and helpers (a default substitution,
``.[0]``, ``capitalize``, ``eq`` with yes/no, ``#if``, ``#each``, ``dateFormat``, ``upper``). Each
message is built as direct sends, campaigns and journeys build it: ``variables(...)`` from the stored
endpoint, ``render`` for each part, a ``Delivery`` with ``EmailContent``, handed to a sender that only
collects it (AWS calls excluded, as issue 9 says). Target: <= 100 µs per message (CPU time).

    python bench/render_send.py [--endpoints 10000] [--recompiled 500]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "layers" / "core" / "python")]

from homing.domain import rendering  # noqa: E402
from homing.domain.endpoints import Demographic, Endpoint, EndpointUser, Location  # noqa: E402
from homing.domain.messages import EMAIL, Delivery, DeliveryResult, EmailContent  # noqa: E402
from homing.domain.templates import EmailTemplate, parse_default_substitutions  # noqa: E402

TARGET_US = 100.0
TEMPLATE = EmailTemplate(
    name="bench",
    version="1",
    subject="{{capitalize User.UserAttributes.FirstName.[0]}}, your {{Attributes.Plan.[0]}} plan renews soon",
    html_part=(
        "<html><body><h1>Hello {{User.UserAttributes.FirstName.[0]}} {{User.UserAttributes.LastName.[0]}}</h1>"
        "<p>{{eq Attributes.Plan.[0] \"gold\" yes='Thank you for being a Gold member.' no='Upgrade today.'}}</p>"
        "{{#if Attributes.Interests}}<ul>{{#each Attributes.Interests}}<li>{{this}}</li>{{/each}}</ul>{{/if}}"
        '<p>Renewal: {{dateFormat Attributes.Renewal.[0] outputFormat="long"}} ({{Location.City}})</p>'
        "<p>Code: {{upper Attributes.Promo.[0]}}</p></body></html>"
    ),
    text_part=(
        "Hello {{User.UserAttributes.FirstName.[0]}}, your {{Attributes.Plan.[0]}} plan renews on "
        '{{dateFormat Attributes.Renewal.[0] outputFormat="long"}}. Code: {{upper Attributes.Promo.[0]}}'
    ),
    default_substitutions_json='{"Attributes.Promo": "welcome10", "Location.City": "your city"}',
)


class CollectingSender:
    """A Sender that keeps what it is given (no AWS call)."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []

    def send(self, delivery: Delivery) -> DeliveryResult:
        self.deliveries.append(delivery)
        return DeliveryResult("SUCCESSFUL", 200, "Collected", message_id=delivery.key)


def synthetic(n: int, seed: int = 11) -> list[Endpoint]:
    rng = random.Random(seed)
    names = ["jane", "omar", "li", "ana", "sofia", "kwame", "yuki", "lars"]
    cities = ["Paris", "Lagos", "Osaka", "Lima", None]
    return [
        Endpoint(
            id=f"ep-{i}",
            application_id="app",
            creation_date="2026-01-01T00:00:00.000Z",
            cohort_id=str(i % 100),
            effective_date="2026-01-01T00:00:00.000Z",
            channel_type="EMAIL",
            address=f"user{i}@example.com",
            attributes={
                "Plan": [rng.choice(["gold", "silver"])],
                "Interests": rng.sample(["hiking", "jazz", "chess", "tea", "film"], rng.randint(0, 3)),
                "Renewal": [f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T00:00:00Z"],
            },
            demographic=Demographic(platform="web", timezone="Europe/Paris"),
            location=Location(city=rng.choice(cities), country="FR"),
            user=EndpointUser(
                user_id=f"u-{i}",
                user_attributes={"FirstName": [rng.choice(names)], "LastName": [rng.choice(names).title()]},
            ),
        )
        for i in range(n)
    ]


def run(endpoints: list[Endpoint], render_part: Callable[[str, dict[str, Any]], str]) -> float:
    """CPU seconds to render and hand off one email per endpoint."""
    sender = CollectingSender()
    defaults = parse_default_substitutions(TEMPLATE.default_substitutions_json, "DefaultSubstitutions")
    start = time.process_time()
    for endpoint in endpoints:
        values = rendering.variables(endpoint, endpoint.id, {}, defaults)
        content = EmailContent(
            from_address="news@example.com",
            subject=render_part(TEMPLATE.subject or "", values),
            html_body=render_part(TEMPLATE.html_part or "", values),
            text_body=render_part(TEMPLATE.text_part or "", values),
        )
        sender.send(Delivery("app", EMAIL, endpoint.address or "", f"bench:{endpoint.id}", content, endpoint.id))
    elapsed = time.process_time() - start
    assert len(sender.deliveries) == len(endpoints)
    return elapsed


def recompiled(source: str, values: dict[str, Any]) -> str:
    """The baseline: the template compiled again for every message (no cache)."""
    return rendering.run(rendering.compile_template(source), values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=10_000)
    parser.add_argument("--recompiled", type=int, default=300, help="messages measured without the cache")
    args = parser.parse_args()

    endpoints = synthetic(args.endpoints)
    sample = rendering.render(TEMPLATE.html_part or "", rendering.variables(endpoints[0], "ep-0", {}, {}))
    assert "Hello" in sample
    assert "{{" not in sample

    cached = run(endpoints, rendering.render) / len(endpoints) * 1e6
    baseline_n = min(args.recompiled, len(endpoints))
    baseline = run(endpoints[:baseline_n], recompiled) / baseline_n * 1e6

    print(f"render + hand-off, cached compile: {cached:8.1f} µs CPU per message ({len(endpoints)} endpoints)")
    print(f"render + hand-off, recompiled:     {baseline:8.1f} µs CPU per message ({baseline_n} endpoints)")
    print(f"ratio recompiled / cached:         {baseline / cached:8.1f}x")
    verdict = "meets" if cached <= TARGET_US else f"misses by {cached - TARGET_US:.1f} µs"
    print(f"target <= {TARGET_US:.0f} µs per message: {verdict}")


if __name__ == "__main__":
    main()
