"""Local mode: the whole product on a developer's machine, no AWS account and no Docker.

``python -m homing.local`` synthesizes the CDK app, deploys the stacks into an embedded moto
(deploy.py), runs the real Lambda handlers in warm worker processes (runner.py) and serves the
API Gateway data plane over HTTP (http.py) and stands in for the Firehose event archive
(archive.py). Not shipped in the Lambda layer.
"""
