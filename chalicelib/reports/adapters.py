"""Report day items read from the ledger (one Query per province and range: the sort key is the day) and export
files put in the documents bucket under report-exports/ (expired by the bucket's lifecycle after a day), handed
out as presigned links."""
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from chalicelib.aws.clients import client, s3_client
from chalicelib.reports.domain import DayCounters

if TYPE_CHECKING:
    from chalicelib.config import Settings


class DynamoReportDays:
    def __init__(self, settings: Settings) -> None:
        self._settings, self._table = settings, settings.ledger_table
        self.calls = 0  # DynamoDB requests made (the benchmark reports them)

    def days(self, province: str, date_from: date, date_to: date) -> list[DayCounters]:
        out: list[DayCounters] = []
        start = None
        while True:
            self.calls += 1
            got = client("dynamodb", self._settings.region).query(
                TableName=self._table, KeyConditionExpression="pk = :pk AND sk BETWEEN :lo AND :hi",
                ExpressionAttributeValues={":pk": {"S": f"RPT#{province}"}, ":lo": {"S": f"DAY#{date_from}"},
                                           ":hi": {"S": f"DAY#{date_to}"}},
                **({"ExclusiveStartKey": start} if start else {}))
            for item in got.get("Items", []):
                counters = {name: int(value["N"]) for name, value in item.items() if "|" in name and "N" in value}
                out.append((date.fromisoformat(item["sk"]["S"][len("DAY#"):]), counters))
            start = got.get("LastEvaluatedKey")
            if not start:
                return out


class S3ExportFiles:
    def __init__(self, region: str, bucket: str, endpoint_url: str = "") -> None:
        self._region, self._bucket, self._endpoint = region, bucket, endpoint_url

    def publish(self, key: str, content: bytes, content_type: str, file_name: str, expires_s: int) -> str:
        s3: Any = s3_client(self._region, self._endpoint)
        s3.put_object(Bucket=self._bucket, Key=key, Body=content, ContentType=content_type,
                      ContentDisposition=f'attachment; filename="{file_name}"', ServerSideEncryption="AES256")
        return s3.generate_presigned_url("get_object", Params={"Bucket": self._bucket, "Key": key},
                                         ExpiresIn=expires_s)
