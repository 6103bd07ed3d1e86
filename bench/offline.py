"""Imported first by every benchmark, before boto3 makes a client: nothing a benchmark
runs may reach a real AWS account, whatever the shell it starts from holds."""

from __future__ import annotations

import os

os.environ.update(
    AWS_ACCESS_KEY_ID="bench",
    AWS_SECRET_ACCESS_KEY="bench",
    AWS_DEFAULT_REGION="eu-west-1",
)
for _name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
    os.environ.pop(_name, None)
