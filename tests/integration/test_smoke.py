from typing import Any


def test_create_and_get_app(call: Any) -> None:
    r = call("POST", "/v1/apps", {"Name": "shop", "tags": {"team": "growth"}})
    assert r.status == 201, r.body
    got = call("GET", f"/v1/apps/{r.body['Id']}")
    assert got.body == r.body
