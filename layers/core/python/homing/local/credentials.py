"""The key pair(s) the local API accepts, standing in for IAM users of a real account.

Default ``homing`` / ``homing`` so a stock client works with no setup; overridable through
HOMING_LOCAL_ACCESS_KEY_ID / HOMING_LOCAL_SECRET_ACCESS_KEY.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

DEFAULT_ACCESS_KEY_ID = "homing"
DEFAULT_SECRET_ACCESS_KEY = "homing"


def local_key_pairs(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Access key id -> secret access key, as accepted by the local API's SigV4 check."""
    env = os.environ if env is None else env
    access_key = env.get("HOMING_LOCAL_ACCESS_KEY_ID") or DEFAULT_ACCESS_KEY_ID
    secret = env.get("HOMING_LOCAL_SECRET_ACCESS_KEY") or DEFAULT_SECRET_ACCESS_KEY
    return {access_key: secret}
