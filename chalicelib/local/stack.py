"""The embedded local stack: moto server, resources from infra/resources.json (the user pool included), local
secrets, demo users of every role, the Chalice app on a local HTTP server, the simulated bank, and a poller that
feeds the SQS consumer as Lambda would.

`python -m chalicelib.local.stack` runs it in the foreground (what `make run` does); tests start it in-process.
"""
from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib.local.moto import free_port, start_moto
from chalicelib.local.pollers import QueuePoller, Scheduler, StreamPoller

REGION = "ap-southeast-1"
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
TEST_STAGE_TIMINGS = {"BANK_API_TIMEOUT_S": "1.5", "STATUS_QUERY_QUICK_TIMEOUT_S": "0.6", "REFUND_SEND_LEASE_S": "2"}


def provision(endpoint: str, stage: str, site_origin: str = "") -> dict[str, str]:
    """Create the resources from the one template and store the documented local secrets; return the app's env.
    ``site_origin``: the local site's origin (the API port), the one origin the documents bucket's CORS rule admits
    (the template's SiteOrigin parameter; its production default otherwise)."""
    import boto3

    from chalicelib.local.devkeys import local_app_secret
    from chalicelib.local.resources import deploy_local_stack, env_from_outputs

    kwargs = {"endpoint_url": endpoint, "region_name": REGION,
              "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    env = env_from_outputs(deploy_local_stack(kwargs, stage,
                                              parameters={"SiteOrigin": site_origin} if site_origin else None))
    sm = boto3.client("secretsmanager", **kwargs)
    sm.put_secret_value(SecretId=env["APP_SECRET_NAME"], SecretString=json.dumps(local_app_secret()))
    store_local_pki(sm, env["RECEIPT_SIGNING_SECRET_NAME"])
    return env


def store_local_pki(sm, secret_name: str) -> None:
    """The receipt-signing secret: a generated test CA and certificate (kept while still usable)."""
    from chalicelib.local.pki import ensure_local_pki

    try:
        existing = json.loads(sm.get_secret_value(SecretId=secret_name)["SecretString"] or "{}")
    except (ValueError, sm.exceptions.ResourceNotFoundException):
        existing = None
    pki = ensure_local_pki(existing or None)
    if pki is not existing:
        sm.put_secret_value(SecretId=secret_name, SecretString=json.dumps(pki))


def configure_environment(endpoint: str, stage: str, resource_env: dict[str, str], bank_url: str,
                          delivery_backoff_scale: float | None = None, api_url: str = "",
                          tax_authority_url: str = "") -> None:
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
    if api_url:  # the receipts' QR codes open the local verification API
        os.environ["RECEIPT_VERIFY_URL"] = f"{api_url}/v1/receipt-verifications"
    if tax_authority_url:
        os.environ["TAX_AUTHORITY_URL"] = tax_authority_url
    if stage == "test":  # the outage tests wait for timeouts: keep them short
        os.environ.setdefault("TAX_AUTHORITY_READ_TIMEOUT_S", "1")
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


@dataclass
class LocalStack:
    stage: str
    endpoint: str
    api_url: str
    bank_url: str
    env: dict[str, str]
    province_url: str = ""
    province: Any = None  # the SimulatedProvince (tests in this process control it directly)
    bank: Any = None  # the SimulatedBank (likewise)
    tax_authority_url: str = ""
    tax_authority: Any = None  # the SimulatedTaxAuthority
    _parts: list[Any] = field(default_factory=list)

    def token(self, role: str | None, **options: Any) -> str:
        """An access token of a fresh user of ``role`` (None: a staff user without a role), seeded through the use
        cases and signed in through the API and the pool (see chalicelib.local.identities.new_identity)."""
        return self.identity(role, **options).access_token

    def identity(self, role: str | None, **options: Any):
        from chalicelib.local.identities import new_identity

        return new_identity(self.api_url, role, **options)

    def stop(self) -> None:
        for part in reversed(self._parts):
            with contextlib.suppress(Exception):  # stopping: one part already gone must not keep the others up
                part()


def start(api_port: int = 0, bank_port: int = 0, moto_port: int = 0, stage: str = "local",
          poll_queue: bool = True, province_port: int = 0, delivery_backoff_scale: float | None = None,
          tax_authority_port: int = 0, site_root: Path | None = None) -> LocalStack:
    """Start everything in this process (threads) and return when the API answers.

    The API port also serves the built static site (``site_root``, default web/dist) on the same origin, with the
    security headers of infra/web.json, as CloudFront does in AWS (chalicelib.local.static_site).

    ``delivery_backoff_scale`` compresses the 3-day retry schedule (the "test" stage defaults to 0: every retry at
    once, so the whole window runs in seconds; the number of attempts and the dead-letter queue stay as in AWS)."""
    os.environ.update(LOCAL_CREDENTIALS)
    moto, endpoint = start_moto(moto_port)
    api_url = f"http://127.0.0.1:{api_port or free_port()}"
    resource_env = provision(endpoint, stage, site_origin=api_url)
    bank_url = f"http://127.0.0.1:{bank_port or free_port()}"
    province_port = province_port or free_port()
    tax_authority_port = tax_authority_port or free_port()
    if delivery_backoff_scale is None and stage == "test":
        delivery_backoff_scale = 0.0
    if stage == "test":
        # Bank calls that time out (a silenced simulated bank) take a second, and a refund's send lease a few:
        # the retry paths run in seconds, with the same logic as in AWS.
        for name, value in TEST_STAGE_TIMINGS.items():
            os.environ.setdefault(name, value)
    # The SSRF guard's local exceptions: the simulated partners' ports only.
    os.environ["LOOPBACK_PORTS"] = f"{province_port},{bank_url.rsplit(':', 1)[1]},{tax_authority_port}"
    tax_authority = _start_tax_authority(tax_authority_port)
    configure_environment(endpoint, stage, resource_env, bank_url, delivery_backoff_scale, api_url,
                          tax_authority.url)
    province = _start_province(province_port)
    register_local_provinces(province.url)
    bank = _start_bank(api_url, bank_url)
    stack = LocalStack(stage, endpoint, api_url, bank_url, resource_env, province.url, province, bank,
                       tax_authority.url, tax_authority)
    stack._parts += [moto.stop, bank.stop, province.stop, tax_authority.stop]
    import app as app_module

    if poll_queue:
        stack._parts.append(_start_queue_poller(app_module.forward_receipts, resource_env["FORWARDING_QUEUE_URL"]))
    stack._parts.append(_start_queue_poller(app_module.run_selftests, resource_env["SELFTEST_QUEUE_URL"],
                                            "selftest-poller", batch=1))
    stack._parts.append(_start_stream_poller(app_module.dispatch_outbox, resource_env))
    stack._parts.append(_start_settlement_events(app_module.reconcile_settlement, resource_env, stage))
    jobs = [app_module.sweep_outbox, app_module.sweep_deliveries, app_module.support_clock,
            app_module.resolve_stale_payments, app_module.check_settlements_late]
    if stage != "test":  # the tests run these with a controlled clock
        jobs += [app_module.send_reminders, app_module.report_receipts_catch_up]
    scheduler = Scheduler(jobs)
    scheduler.start()
    stack._parts.append(scheduler.stop)
    # The API starts last, so that /v1/health answering means everything behind it is ready.
    stack._parts.append(_serve_api(app_module.app, stage, api_url, site_root, upload_origin=endpoint))
    _wait_healthy(api_url)
    from chalicelib.local import identities

    if stage != "test":  # the tests make their own users (stack.token); `make token` signs in the demo ones
        identities.seed_demo_users()
    identities.RUNNING_API[:] = [api_url]
    return stack


def _start_province(port: int):
    from chalicelib.local.devkeys import LOCAL_PROVINCE_PASSWORD, LOCAL_PROVINCE_USERNAME
    from chalicelib.local.province_sim import SimulatedProvince

    return SimulatedProvince({LOCAL_PROVINCE_USERNAME: LOCAL_PROVINCE_PASSWORD}, port=port).start()


def _start_tax_authority(port: int):
    from chalicelib.local.devkeys import LOCAL_TAX_AUTHORITY_ANSWER_SECRET, LOCAL_TAX_AUTHORITY_REQUEST_SECRET
    from chalicelib.local.tax_authority_sim import SimulatedTaxAuthority

    return SimulatedTaxAuthority(LOCAL_TAX_AUTHORITY_REQUEST_SECRET, LOCAL_TAX_AUTHORITY_ANSWER_SECRET,
                                 port=port).start()


def _start_bank(api_url: str, bank_url: str):
    from chalicelib.local.bank_sim import SimulatedBank
    from chalicelib.local.devkeys import LOCAL_BANK_SECRETS, LOCAL_VNPAY_HASH_SECRET

    return SimulatedBank(api_url, {"banks": LOCAL_BANK_SECRETS, "vnpay_hash_secret": LOCAL_VNPAY_HASH_SECRET},
                         port=int(bank_url.rsplit(":", 1)[1])).start()


def _start_queue_poller(handler, url: str, name: str = "sqs-poller", batch: int = 10):
    import boto3

    arn = boto3.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    poller = QueuePoller(handler, url, arn, name=name, batch=batch)
    poller.start()
    return poller.stop


def _start_stream_poller(handler, resource_env: dict[str, str]):
    """The outbox consumer on the ledger table's stream, as Lambda's event source mapping would run it."""
    import boto3

    arn = boto3.client("dynamodb").describe_table(TableName=resource_env["LEDGER_TABLE"])["Table"]["LatestStreamArn"]
    poller = StreamPoller(handler, arn)
    poller.start()
    return poller.stop


def _start_settlement_events(handler, resource_env: dict[str, str], stage: str):
    """Locally, the documents bucket's EventBridge events: moto's S3 notifies a local-only queue of each object
    created under settlements/, and a poller hands each one to the job as the EventBridge event AWS would send
    (infra/resources.json turns EventBridge on for the bucket; app.py's rule invokes the same handler)."""
    import boto3

    sqs, bucket = boto3.client("sqs"), resource_env["DOCUMENTS_BUCKET"]
    url = sqs.create_queue(QueueName=f"lfo-{stage}-settlement-events-local")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("s3").put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"],
                                 "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "settlements/"}]}}}]})
    poller = QueuePoller(lambda event, context: _as_eventbridge(handler, event), url, arn)
    poller.start()
    return poller.stop


def _as_eventbridge(handler, sqs_event: dict) -> dict:
    """Each S3 record of the SQS batch as an EventBridge "Object Created" event to ``handler``; a message whose run
    raised comes back (as the EventBridge rule's retries would)."""
    from urllib.parse import unquote_plus

    failed = []
    for message in sqs_event["Records"]:
        try:
            records = json.loads(message["body"]).get("Records", [])  # S3's test event has none
            for record in records:
                s3 = record["s3"]
                handler({"version": "0", "id": message["messageId"], "detail-type": "Object Created",
                         "source": "aws.s3", "account": "000000000000", "time": record.get("eventTime", ""),
                         "region": REGION, "resources": [s3["bucket"]["arn"]],
                         "detail": {"version": "0", "bucket": {"name": s3["bucket"]["name"]},
                                    "object": {"key": unquote_plus(s3["object"]["key"]), "size": s3["object"]["size"],
                                               "etag": s3["object"].get("eTag", "")},
                                    "reason": "PutObject"}}, None)
        except Exception:  # noqa: BLE001 - a failed run: the message comes back after its visibility timeout
            failed.append({"itemIdentifier": message["messageId"]})
    return {"batchItemFailures": failed}


def _serve_api(chalice_app, stage: str, api_url: str, site_root: Path | None = None, upload_origin: str = ""):
    """The Chalice app on a local threaded HTTP server (as API Gateway and Lambda would run it), and the static site
    on the same port (as the CloudFront distribution of infra/web.json does); returns its stop. ``upload_origin``:
    where the presigned POSTs point locally (the moto server), in connect-src as the bucket's endpoint is in AWS."""
    from chalice.config import Config
    from chalice.local import ChaliceRequestHandler, LocalDevServer, ThreadedHTTPServer

    from chalicelib.local.gateway import missing_route, routes_to
    from chalicelib.local.static_site import (
        DEFAULT_SITE,
        LOCAL_DEMO_USERS_PATH,
        StaticSite,
        demo_users_json,
        is_site_path,
        security_headers,
    )

    site = StaticSite(site_root or DEFAULT_SITE, {LOCAL_DEMO_USERS_PATH: demo_users_json()})
    extra_headers = security_headers(upload_origin=upload_origin)

    class _Server(ThreadedHTTPServer):
        request_queue_size = 128  # banks retry in bursts; the default backlog of 5 resets connections
        daemon_threads = True

    class _Handler(ChaliceRequestHandler):
        # Headers and body leave in separate writes: without TCP_NODELAY each answer waits ~40 ms on the
        # client's delayed ACK.
        disable_nagle_algorithm = True

        def _with_client_address(self) -> None:
            # The client's own address as requestContext.identity.sourceIp (chalice local says 127.0.0.1 for
            # everyone), as API Gateway would; each request has its own gateway, so this is per request.
            self.local_gateway.event_converter.LOCAL_SOURCE_IP = self.client_address[0]
            self._generic_handle()

        do_PUT = do_POST = do_DELETE = do_PATCH = do_OPTIONS = _with_client_address

        def do_GET(self):
            self._site(send_body=True) if is_site_path(self.path) else self._with_client_address()

        def do_HEAD(self):
            self._site(send_body=False) if is_site_path(self.path) else self._with_client_address()

        def _generic_handle(self):
            if routes_to(chalice_app, self.command, self.path):
                return super()._generic_handle()
            self._parse_payload()  # read the body, so the kept-alive connection stays in step
            status, headers, body = missing_route()  # what API Gateway answers (chalicelib.local.gateway)
            return self._send_http_response(status, dict(headers), body)

        def __getattr__(self, name: str):
            if name.startswith("do_"):  # TRACE, CONNECT, made-up methods: not routed either
                return self._with_client_address
            raise AttributeError(name)

        def _site(self, send_body: bool) -> None:
            status, headers, body = site.answer(self.path, self.headers.get("Accept-Encoding", ""))
            self.send_response(status)
            for name, value in {**headers, **extra_headers, "Content-Length": str(len(body))}.items():
                self.send_header(name, value)
            self.end_headers()
            if send_body:
                self.wfile.write(body)

        def _send_http_response(self, code, headers, body):
            # The API's answers get the distribution's response headers too (the policy covers /v1/*).
            super()._send_http_response(code, {**headers, **extra_headers}, body)

    server = LocalDevServer(chalice_app, Config(chalice_stage=stage), "127.0.0.1", int(api_url.rsplit(":", 1)[1]),
                            handler_cls=_Handler, server_cls=_Server)
    threading.Thread(target=server.server.serve_forever, daemon=True, name="api").start()
    return server.server.shutdown


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


def banner(stack: LocalStack, seconds: float) -> str:
    """What `make run` prints: where everything is and how to try it."""
    from chalicelib.local.devkeys import LOCAL_BANK_SECRETS, LOCAL_TAX_AUTHORITY_SECRET, LOCAL_VNPAY_HASH_SECRET

    secrets_list = "\n".join(f"    {code}: {secret}" for code, secret in LOCAL_BANK_SECRETS.items())
    return f"""
Local stack ready in {seconds:.1f} s (stage "{stack.stage}", no AWS account, no network).

  Portal site     {stack.api_url}/thanh-toan-dat-dai.html   (web/dist, same origin as the API; `make web` rebuilds)
  API             {stack.api_url}        (health: {stack.api_url}/v1/health)
  Simulated bank  {stack.bank_url}
  Province sim    {stack.province_url}       (what it received: {stack.province_url}/received?province=H35;
                  make it fail: curl -X POST {stack.province_url}/control -d '{{"province": "H35", "mode": "500"}}')
  Tax authority   {stack.tax_authority_url}       (taxpayer lookups, payment notices, daily receipt tables:
                  {stack.tax_authority_url}/received; outage: curl -X POST {stack.tax_authority_url}/control -d '{{"mode": "down"}}')
  Moto (AWS)      {stack.endpoint}       (AWS_ENDPOINT_URL; credentials testing/testing, region {REGION})

Local partner secrets (documented dev values, also in chalicelib/local/devkeys.py):
  notice sender (tax authority): {LOCAL_TAX_AUTHORITY_SECRET}
  bank callbacks (Standard Webhooks):
{secrets_list}
  VNPay-style IPN hash secret (MB): {LOCAL_VNPAY_HASH_SECRET}

Try it:
  make demo                      # the whole journey: notice -> lookup -> pay at the bank -> receipt + PDF
  make token ROLE=citizen        # a demo user's token, signed in through the local user pool
  curl -s -X POST {stack.api_url}/v1/lookup -H 'Content-Type: application/json' \\
       -d '{{"dossier_code": "000.00.43.H35-210520-0001", "id_number": "035095001234"}}'
      (404 DOSSIER_NOT_FOUND until `make demo` has sent that dossier's notice)

Ctrl-C to stop."""


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description="Run the embedded local stack in the foreground.")
    ap.add_argument("--api-port", type=int, default=int(os.environ.get("API_PORT", "8000")))
    ap.add_argument("--bank-port", type=int, default=int(os.environ.get("BANK_PORT", "8001")))
    ap.add_argument("--moto-port", type=int, default=int(os.environ.get("MOTO_PORT", "5000")))
    ap.add_argument("--province-port", type=int, default=int(os.environ.get("PROVINCE_PORT", "8002")))
    ap.add_argument("--tax-authority-port", type=int, default=int(os.environ.get("TAX_AUTHORITY_PORT", "8003")))
    args = ap.parse_args()
    started = time.monotonic()
    stack = start(args.api_port, args.bank_port, args.moto_port, province_port=args.province_port,
                  tax_authority_port=args.tax_authority_port)
    print(banner(stack, time.monotonic() - started), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("stopping...")
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
