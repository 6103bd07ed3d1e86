"""The S3 client that writes job files (audience exports) and signs links to fetch them."""

from __future__ import annotations

from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

from befriend.aws import Holder


class Files(Holder[Any]):
    """One bucket's S3 client, made on first use."""

    service = "s3"
    # Signature version 4: its links say how long they live (X-Amz-Expires), at most 7 days.
    config = Config(
        signature_version="s3v4",
        connect_timeout=2,
        read_timeout=30,
        retries={"mode": "standard"},
    )

    def __init__(self, bucket: str, *, region: str | None = None, client: Any = None) -> None:
        super().__init__(client, region=region)
        self.bucket = bucket

    def make_bucket(self, region: str) -> None:
        """Create the bucket unless it is there: locally only (a deployment's is in the
        template)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
            return
        except ClientError:
            pass
        where = {} if region == "us-east-1" else {"LocationConstraint": region}
        self.client.create_bucket(
            Bucket=self.bucket, **({"CreateBucketConfiguration": where} if where else {})
        )

    def link(self, key: str, filename: str, seconds: int) -> str:
        """A link that fetches the object as a download named `filename` for `seconds`."""
        url: str = self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "ResponseContentDisposition": f'attachment; filename="{filename}"',
            },
            ExpiresIn=seconds,
        )
        return url
