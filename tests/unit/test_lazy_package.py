"""The API function loads Powertools' event_handler narrowly, and the package still answers every name."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
