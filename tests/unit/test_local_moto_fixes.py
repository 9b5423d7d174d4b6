"""moto performance fixes keep moto's answers (homing.local.moto_fixes)."""

from __future__ import annotations

from moto import backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from homing.local.moto_fixes import cache_service_folders


def test_cached_service_folders_are_the_ones_moto_lists() -> None:
    listed = list(backends.list_of_moto_modules())
    cache_service_folders()
    cache_service_folders()  # installs once

    assert list(backends.list_of_moto_modules()) == listed
    assert "dynamodb" in backends.list_of_moto_modules()
    assert getattr(backends.list_of_moto_modules, "_homing_fix", False)


def test_server_still_routes_requests_to_their_service() -> None:
    cache_service_folders()
    dispatcher = DomainDispatcherApplication(create_backend_app)

    assert dispatcher.get_backend_for_host("dynamodb") == "dynamodb"
    assert dispatcher.get_backend_for_host("kinesis.us-east-1.amazonaws.com") == "kinesis"
    assert dispatcher.get_backend_for_host("no-such-service") is None
