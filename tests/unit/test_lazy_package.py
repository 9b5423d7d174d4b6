"""The API function loads Powertools' event_handler narrowly, and the package still answers every name."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join([str(ROOT / "functions"), str(ROOT / "layers/core/python")]),
    "APPS_TABLE": "a",
    "ENDPOINTS_TABLE": "e",
    "CATALOG_TABLE": "c",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_SERVICE_NAME": "homing",
}


def run(code: str) -> dict[str, object]:
    """Run ``code`` in a fresh interpreter (imports are process-wide); it prints one JSON line."""
    done = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True, check=True)
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_api_handler_does_not_import_the_other_resolvers() -> None:
    result = run(
        "import json, sys, api.handler\n"
        "print(json.dumps({m: m in sys.modules for m in ('asyncio', "
        "'aws_lambda_powertools.event_handler.appsync', 'aws_lambda_powertools.event_handler.api_gateway', "
        "'aws_lambda_powertools.utilities.data_classes.kafka_event', "
        "'aws_lambda_powertools.utilities.data_classes.api_gateway_proxy_event')}))"
    )

    assert result == {
        "asyncio": False,
        "aws_lambda_powertools.event_handler.appsync": False,
        "aws_lambda_powertools.event_handler.api_gateway": True,
        "aws_lambda_powertools.utilities.data_classes.kafka_event": False,
        "aws_lambda_powertools.utilities.data_classes.api_gateway_proxy_event": True,
    }


def test_deferred_package_answers_every_name_as_the_real_one() -> None:
    result = run(
        "import json, sys, importlib\n"
        "from homing.lazy_package import defer_package_init, loaded\n"
        "defer_package_init('aws_lambda_powertools.event_handler')\n"
        "import aws_lambda_powertools.event_handler as eh\n"
        "from aws_lambda_powertools.event_handler import content_types\n"
        "narrow = not loaded(eh)\n"
        "from aws_lambda_powertools.event_handler import AppSyncResolver, APIGatewayRestResolver\n"
        "names = {n: getattr(eh, n) for n in eh.__all__}\n"
        "from aws_lambda_powertools.event_handler import api_gateway, appsync\n"
        "print(json.dumps({'narrow_before_names': narrow, 'loaded_after': loaded(eh), "
        "'same': names['AppSyncResolver'] is appsync.AppSyncResolver "
        "and names['APIGatewayRestResolver'] is api_gateway.APIGatewayRestResolver, "
        "'count': len(names), 'submodule': content_types.__name__}))"
    )

    assert result["narrow_before_names"] is True
    assert result["loaded_after"] is True
    assert result["same"] is True
    assert isinstance(result["count"], int)
    assert result["count"] > 10
    assert result["submodule"] == "aws_lambda_powertools.event_handler.content_types"


def test_reexported_names_come_from_their_own_module_without_the_init() -> None:
    result = run(
        "import json\n"
        "from homing.lazy_package import defer_package_init, loaded\n"
        "defer_package_init('aws_lambda_powertools.utilities.data_classes')\n"
        "import aws_lambda_powertools.utilities.data_classes as dc\n"
        "from aws_lambda_powertools.utilities.data_classes import SQSEvent, event_source\n"
        "from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSEvent as Direct\n"
        "narrow = not loaded(dc)\n"
        "every = [getattr(dc, n) for n in dc.__all__]\n"
        "print(json.dumps({'narrow': narrow, 'same': SQSEvent is Direct, 'every': len(every), "
        "'loaded_after_all': loaded(dc)}))"
    )

    assert result["narrow"] is True
    assert result["same"] is True
    assert result["loaded_after_all"] is True
    assert isinstance(result["every"], int)
    assert result["every"] > 30


def test_api_handler_loads_no_family_wire_module_until_a_route_of_the_family_runs() -> None:
    """Routers register routes at once; a family's wire module (and its domain) loads on its first request."""
    from tests.conftest import api_event

    event = api_event("POST", "/v1/apps/0123456789abcdef0123456789abcdef/eventstream", body="not json")
    result = run(
        "import json, sys, api.handler\n"
        "from types import SimpleNamespace\n"
        "from homing.api.app import build_resolver\n"
        "from homing.settings import ApiSettings\n"
        "def family_modules():\n"
        "    return sorted(m for m in sys.modules if m.startswith(('homing.api.wire.', 'homing.domain.segment', "
        "'homing.domain.jobs', 'homing.domain.audiences', 'homing.domain.kpis', 'homing.domain.analytics', "
        "'homing.adapters.dynamodb.segments', 'homing.adapters.dynamodb.jobs')))\n"
        "at_import = family_modules()\n"
        "svc = SimpleNamespace(settings=ApiSettings(region='us-east-1', resource_arn_prefix=''))\n"
        "resolver = build_resolver(svc)\n"
        "routes = len(resolver._static_routes + resolver._dynamic_routes)\n"
        "after_routes = family_modules()\n"
        f"answer = resolver.resolve(json.loads({json.dumps(json.dumps(event))}), None)\n"
        "print(json.dumps({'at_import': at_import, 'routes': routes, 'after_routes': after_routes, "
        "'status': answer['statusCode'], 'after_request': family_modules()}))"
    )

    assert result["at_import"] == []
    assert isinstance(result["routes"], int)
    assert result["routes"] > 40
    assert result["after_routes"] == []  # registering every family's routes imports none of their wire modules
    assert result["status"] == 400  # the event-stream wire module's own parsing ran and refused the body
    assert result["after_request"] == ["homing.api.wire.event_streams"]


def test_lazy_module_reads_the_real_module_as_it_is_now(monkeypatch: pytest.MonkeyPatch) -> None:
    import homing.api.wire.tags as real
    from homing.lazy_package import LazyModule

    lazy = LazyModule("homing.api.wire.tags")
    assert lazy.tags_response is real.tags_response

    def patched(tags: dict[str, str]) -> dict[str, object]:
        return {}

    monkeypatch.setattr(real, "tags_response", patched)
    assert lazy.tags_response is patched  # a patch of the real module is seen: nothing is copied
    with pytest.raises(AttributeError):
        lazy.no_such_name  # noqa: B018
    with pytest.raises(ModuleNotFoundError):
        LazyModule("homing.api.wire.no_such_family").anything  # noqa: B018
