"""The one Logger and Metrics for every Homing function (Powertools, configured by environment).

No Tracer here on purpose: it costs ~200 ms of cold start (aws_xray_sdk); the functions run
with Lambda active tracing instead, which traces invocations without the SDK (docs/decisions.md).
"""

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics(namespace="Homing")
