"""The embedded local stack: moto server, resources from infra/resources.json, local secrets, the Chalice app on a
local HTTP server, the simulated bank, and a poller that feeds the SQS consumer as Lambda would.

`python -m chalicelib.local.stack` runs it in the foreground (what `make run` does); tests start it in-process.
"""
from __future__ import annotations

import json
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

REGION = "ap-southeast-1"
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _SerialisedDynamoDB:
    """WSGI middleware: one DynamoDB request at a time inside moto.

    Real DynamoDB applies each conditional write and transaction atomically; moto's in-memory tables are not
    thread-safe (two concurrent transactions can both pass their conditions, and a cancelled one rolls back a
    snapshot over a concurrent write). Serialising DynamoDB calls restores the guarantee our code relies on, while
    SQS long polls and the other services stay concurrent.
    """

    def __init__(self, app) -> None:
        self._app, self._lock = app, threading.Lock()

    def __call__(self, environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
            with self._lock:
                return list(self._app(environ, start_response))
        return self._app(environ, start_response)


class MotoServer:
    """moto's server app on a werkzeug threaded server bound to 127.0.0.1, DynamoDB serialised."""

    def __init__(self, port: int) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        app = _SerialisedDynamoDB(DomainDispatcherApplication(create_backend_app))
        self._server = make_server("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="moto")

    def start(self) -> "MotoServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)


def start_moto(port: int = 0):
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request access log
    port = port or free_port()
    return MotoServer(port).start(), f"http://127.0.0.1:{port}"


def provision(endpoint: str, stage: str) -> dict[str, str]:
    """Create the resources from the one template and store the documented local secrets; return the app's env."""
    import boto3

    from chalicelib.local.devkeys import local_app_secret
    from chalicelib.local.resources import deploy_local_stack, env_from_outputs

    kwargs = {"endpoint_url": endpoint, "region_name": REGION,
              "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    env = env_from_outputs(deploy_local_stack(kwargs, stage))
    sm = boto3.client("secretsmanager", **kwargs)
    sm.put_secret_value(SecretId=env["APP_SECRET_NAME"], SecretString=json.dumps(local_app_secret()))
    return env


def configure_environment(endpoint: str, stage: str, resource_env: dict[str, str], bank_url: str,
                          delivery_backoff_scale: float | None = None) -> None:
    os.environ.update(LOCAL_CREDENTIALS)
    os.environ.update(resource_env)
    os.environ.update({
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "APP_STAGE": stage,
        "BANK_GATEWAY_BASE_URL": bank_url,
        "RETURN_URL_HOSTS": "127.0.0.1,localhost,dichvucong.gov.vn",
        "POWERTOOLS_METRICS_DISABLED": os.environ.get("POWERTOOLS_METRICS_DISABLED", "true"),
        "POWERTOOLS_DEV": "false",
    })
    if delivery_backoff_scale is not None:
        os.environ["DELIVERY_BACKOFF_SCALE"] = str(delivery_backoff_scale)
    from chalicelib import bootstrap

    bootstrap.reset()


def register_local_provinces(province_url: str) -> None:
    """Point the documented local provinces' three APIs at the simulated province and register alert contacts,
    through the same use cases an administrator's API calls go through."""
    from chalicelib.bootstrap import context
    from chalicelib.local.devkeys import (
        LOCAL_ALERT_CONTACTS,
        LOCAL_PROVINCE_PASSWORD,
        LOCAL_PROVINCE_USERNAME,
        LOCAL_PROVINCES,
    )
    from chalicelib.provinces.domain.delivery import SERVICE_LAND_TAX_PAYMENT, ApiType
    from chalicelib.provinces.ports import Actor
    from chalicelib.provinces.services.registry import put_api, put_contacts

    psvc, actor = context(), Actor(subject="local-stack", operator=True)
    for agency, (stats_code, name) in LOCAL_PROVINCES.items():
        short = agency.rsplit(".", 1)[1]
        for api_type in ApiType:
            put_api(psvc, actor, agency, api_type.value, {
                "province_code": stats_code, "province_name": name, "unit_code": agency,
                "session_url": f"{province_url}/p/{short}/session", "data_url": f"{province_url}/p/{short}/{api_type.value}",
                "credentials": {"username": LOCAL_PROVINCE_USERNAME, "password": LOCAL_PROVINCE_PASSWORD},
                "connect_timeout_s": 2, "read_timeout_s": 3})
        put_contacts(psvc, actor, agency, SERVICE_LAND_TAX_PAYMENT, LOCAL_ALERT_CONTACTS)


class QueuePoller(threading.Thread):
    """Locally, Lambda's SQS event source: receive a batch, invoke the same handler, delete what succeeded."""

    def __init__(self, handler, queue_url: str, queue_arn: str) -> None:
        super().__init__(daemon=True, name="sqs-poller")
        self._handler, self._url, self._arn = handler, queue_url, queue_arn
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        from chalicelib.aws.clients import client

        sqs = client("sqs", REGION)
        while not self._stop.is_set():
            try:
                got = sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                          AttributeNames=["All"])
            except Exception:  # noqa: BLE001 - the server is shutting down
                time.sleep(0.2)
                continue
            messages = got.get("Messages", [])
            if not messages:
                continue
            event = {"Records": [{
                "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                "attributes": m.get("Attributes", {}), "messageAttributes": {}, "eventSource": "aws:sqs",
                "eventSourceARN": self._arn, "awsRegion": REGION} for m in messages]}
            try:
                result = self._handler(event, None) or {}
            except Exception:  # noqa: BLE001 - a crashed invocation: every message comes back after visibility
                continue
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
            done = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages) if m["MessageId"] not in failed]
            if done:
                sqs.delete_message_batch(QueueUrl=self._url, Entries=done)


@dataclass
class LocalStack:
    stage: str
    endpoint: str
    api_url: str
    bank_url: str
    env: dict[str, str]
    province_url: str = ""
    province: Any = None  # the SimulatedProvince (tests in this process control it directly)
    _parts: list[Any] = field(default_factory=list)

    def stop(self) -> None:
        for part in reversed(self._parts):
            try:
                part()
            except Exception:  # noqa: BLE001
                pass


def start(api_port: int = 0, bank_port: int = 0, moto_port: int = 0, stage: str = "local",
          poll_queue: bool = True, province_port: int = 0, delivery_backoff_scale: float | None = None) -> LocalStack:
    """Start everything in this process (threads) and return when the API answers.

    ``delivery_backoff_scale`` compresses the 3-day retry schedule (the "test" stage defaults to 0: every retry at
    once, so the whole window runs in seconds; the number of attempts and the dead-letter queue stay as in AWS)."""
    os.environ.update(LOCAL_CREDENTIALS)
    moto, endpoint = start_moto(moto_port)
    resource_env = provision(endpoint, stage)
    api_port = api_port or free_port()
    bank_port = bank_port or free_port()
    api_url = f"http://127.0.0.1:{api_port}"
    bank_url = f"http://127.0.0.1:{bank_port}"
    if delivery_backoff_scale is None and stage == "test":
        delivery_backoff_scale = 0.0
    configure_environment(endpoint, stage, resource_env, bank_url, delivery_backoff_scale)
    from chalicelib.local.devkeys import (
        LOCAL_PROVINCE_PASSWORD,
        LOCAL_PROVINCE_USERNAME,
    )
    from chalicelib.local.province_sim import SimulatedProvince

    province = SimulatedProvince({LOCAL_PROVINCE_USERNAME: LOCAL_PROVINCE_PASSWORD}, port=province_port).start()
    register_local_provinces(province.url)

    from chalice.config import Config
    from chalice.local import ChaliceRequestHandler, LocalDevServer, ThreadedHTTPServer

    import app as app_module
    from chalicelib.local.bank_sim import SimulatedBank
    from chalicelib.local.devkeys import LOCAL_BANK_SECRETS, LOCAL_VNPAY_HASH_SECRET

    class _Server(ThreadedHTTPServer):
        request_queue_size = 128  # banks retry in bursts; the default backlog of 5 resets connections
        daemon_threads = True

    class _Handler(ChaliceRequestHandler):
        # Headers and body leave in separate writes: without TCP_NODELAY each answer waits ~40 ms on the
        # client's delayed ACK.
        disable_nagle_algorithm = True

    server = LocalDevServer(app_module.app, Config(chalice_stage=stage), "127.0.0.1", api_port,
                            handler_cls=_Handler, server_cls=_Server)
    bank = SimulatedBank(api_url, {"banks": LOCAL_BANK_SECRETS, "vnpay_hash_secret": LOCAL_VNPAY_HASH_SECRET},
                         port=bank_port).start()
    stack = LocalStack(stage, endpoint, api_url, bank_url, resource_env, province.url, province)
    stack._parts += [moto.stop, bank.stop, province.stop]
    if poll_queue:
        import boto3

        arn = boto3.client("sqs").get_queue_attributes(
            QueueUrl=resource_env["FORWARDING_QUEUE_URL"], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        poller = QueuePoller(app_module.forward_receipts, resource_env["FORWARDING_QUEUE_URL"], arn)
        poller.start()
        stack._parts.append(poller.stop)
    # The API starts last, so that /v1/health answering means everything behind it is ready.
    threading.Thread(target=server.server.serve_forever, daemon=True, name="api").start()
    stack._parts.append(server.server.shutdown)
    _wait_healthy(api_url)
    return stack


def _wait_healthy(api_url: str, timeout_s: float = 30) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(api_url + "/v1/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("local API did not become healthy")


def main() -> None:
    import argparse

    from chalicelib.local.devkeys import (
        LOCAL_BANK_SECRETS,
        LOCAL_TAX_AUTHORITY_SECRET,
        LOCAL_VNPAY_HASH_SECRET,
    )

    ap = argparse.ArgumentParser(description="Run the embedded local stack in the foreground.")
    ap.add_argument("--api-port", type=int, default=int(os.environ.get("API_PORT", "8000")))
    ap.add_argument("--bank-port", type=int, default=int(os.environ.get("BANK_PORT", "8001")))
    ap.add_argument("--moto-port", type=int, default=int(os.environ.get("MOTO_PORT", "5000")))
    ap.add_argument("--province-port", type=int, default=int(os.environ.get("PROVINCE_PORT", "8002")))
    args = ap.parse_args()
    started = time.monotonic()
    stack = start(args.api_port, args.bank_port, args.moto_port, province_port=args.province_port)
    secrets_list = "\n".join(f"    {code}: {secret}" for code, secret in LOCAL_BANK_SECRETS.items())
    print(f"""
Local stack ready in {time.monotonic() - started:.1f} s (stage "{stack.stage}", no AWS account, no network).

  API             {stack.api_url}        (health: {stack.api_url}/v1/health)
  Simulated bank  {stack.bank_url}
  Province sim    {stack.province_url}       (what it received: {stack.province_url}/received?province=H35;
                  make it fail: curl -X POST {stack.province_url}/control -d '{{"province": "H35", "mode": "500"}}')
  Moto (AWS)      {stack.endpoint}       (AWS_ENDPOINT_URL; credentials testing/testing, region {REGION})

Local partner secrets (documented dev values, also in chalicelib/local/devkeys.py):
  notice sender (tax authority): {LOCAL_TAX_AUTHORITY_SECRET}
  bank callbacks (Standard Webhooks):
{secrets_list}
  VNPay-style IPN hash secret (MB): {LOCAL_VNPAY_HASH_SECRET}

Try it:
  make demo                      # the whole journey: notice -> lookup -> pay at the bank -> receipt + PDF
  make token ROLE=citizen        # a bearer token from the local issuer
  curl -s -X POST {stack.api_url}/v1/lookup -H 'Content-Type: application/json' \\
       -d '{{"dossier_code": "000.00.43.H35-210520-0001", "id_number": "035095001234"}}'
      (404 DOSSIER_NOT_FOUND until `make demo` has sent that dossier's notice)

Ctrl-C to stop.""", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("stopping...")
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
