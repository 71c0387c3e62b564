"""Support-request routes (Quản lý yêu cầu hỗ trợ): file, upload attachments, search, detail, status, comments,
apply a configuration, download an attachment, the catalogue and the monthly report. Thin: token -> Caller, body ->
use case -> JSON."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.routing import Call, Ok, Param, Reply, bearer, route
from chalicelib.onboarding.domain.requests import CommentIn, StatusChangeIn, SupportRequestIn
from chalicelib.onboarding.domain.search import ListQuery
from chalicelib.onboarding.routes import caller
from chalicelib.onboarding.schemas import (
    ApplyResult,
    AttachmentLink,
    AttachmentUpload,
    Catalogue,
    CommentView,
    MonthlyReport,
    SupportRequestPage,
    SupportRequestView,
)
from chalicelib.onboarding.services.attachments import UploadIn
from chalicelib.onboarding.services.clock import ReportQuery

bp = Blueprint(__name__)
TAG = "onboarding"
ADMINS = bearer("province_admin", "operator")
REQUEST_ID = Param("request_id", description="Mã yêu cầu, e.g. YC01J9Z3X4Q5R6S7T8V9W0XYZAB1.",
                   schema={"type": "string", "pattern": "^YC[0-9A-HJKMNP-TV-Z]{26}$"})
ATTACHMENT_ID = Param("attachment_id", description="From POST /v1/support-requests/attachments.",
                      schema={"type": "string", "pattern": "^[0-9A-HJKMNP-TV-Z]{26}$"})
SCOPE = {403: ("PROVINCE_FORBIDDEN",), 404: ("SUPPORT_REQUEST_NOT_FOUND",)}
MOVES = {403: ("PROVINCE_FORBIDDEN", "STATUS_TRANSITION_FORBIDDEN"), 404: ("SUPPORT_REQUEST_NOT_FOUND",),
         409: ("STATUS_TRANSITION_NOT_ALLOWED", "CONCURRENT_UPDATE")}
VIEW = Ok("The request (the clock's state in sla; credentials never shown).", SupportRequestView)


@route(bp, "GET", "/v1/support-catalogue", tag=TAG, access=ADMINS, ok={200: Ok("What the form offers.", Catalogue)},
       summary="Service groups, request types, statuses and attachment limits of the support-request form")
def support_catalogue(call: Call):
    from chalicelib.onboarding.domain.requests import catalogue
    from chalicelib.onboarding.services.attachments import limits

    caps = limits(call.ctx)
    data = catalogue()
    return {"service_groups": data["service_groups"], "request_types": data["request_types"],
            "statuses": data["statuses"], "limits": {"max_file_bytes": caps.max_file_bytes,
                                                     "max_total_bytes": caps.max_total_bytes,
                                                     "max_files": caps.max_files}}


@route(bp, "POST", "/v1/support-requests/attachments", tag=TAG, access=ADMINS, request=UploadIn,
       summary="Get a presigned S3 upload for one attachment (jpg, png, pdf, doc, docx, xls, xlsx, txt, mp3, mp4)",
       description="The file goes straight to S3 (encrypted, size-capped, tagged pending), never through the API. "
       "Reference it by attachment_id and file_name when filing or commenting: its content is checked then.",
       ok={201: Ok("The upload form.", AttachmentUpload)})
def support_attachment_upload(call: Call):
    from chalicelib.onboarding.services.attachments import upload_form

    return Reply(upload_form(call.ctx, caller(call), call.body()), 201)


@route(bp, "POST", "/v1/support-requests", tag=TAG, access=bearer("province_admin"), request=SupportRequestIn,
       summary="File a support request for your province (API configuration, integration confirmation, other)",
       description="Attachments are checked by content. A configuration request's URLs go through the SSRF-safe "
       "API check (the session URL is called with the credentials; the data URL is guarded, not called); "
       "credentials are sealed for the secret store and never shown again. The 8-working-hour clock starts; the "
       "feedback email gets every status change.", ok={201: VIEW},
       problems={403: ("PROVINCE_FORBIDDEN",), 409: ("ONBOARDING_STEP_NOT_REACHED",)})
def file_support_request(call: Call):
    from chalicelib.onboarding.services.filing import file_request

    return Reply(file_request(call.ctx, caller(call), call.body()), 201)


@route(bp, "GET", "/v1/support-requests", tag=TAG, access=ADMINS, query=ListQuery,
       summary="Search support requests (title, unit, service group, requester, date range, status), newest first",
       description="A province administrator sees their own province's requests only. Paged by cursor.",
       ok={200: Ok("One page.", SupportRequestPage)}, problems={403: ("PROVINCE_FORBIDDEN",)})
def search_support_requests(call: Call):
    from chalicelib.onboarding.services.processing import search

    return search(call.ctx, caller(call), call.query())


@route(bp, "GET", "/v1/support-requests/{request_id}", tag=TAG, access=ADMINS, params=(REQUEST_ID,),
       summary="A support request with its comments, audit trail and clock", ok={200: VIEW}, problems=SCOPE)
def get_support_request(call: Call):
    from chalicelib.onboarding.services.processing import detail

    return detail(call.ctx, caller(call), call.path["request_id"])


@route(bp, "POST", "/v1/support-requests/{request_id}/status", tag=TAG, access=ADMINS, params=(REQUEST_ID,),
       request=StatusChangeIn, ok={200: VIEW},
       summary="Move a request: operators process (in progress, waiting for the requester, done, rejected with a "
       "reason); the requester cancels",
       description="Every move is audited and emailed to the feedback address. A configuration request is done by "
       "applying it; completing a confirmation request confirms the integration (step 6).",
       problems={**MOVES, 409: (*MOVES[409], "APPLY_REQUIRED", "ONBOARDING_STEP_NOT_REACHED")})
def change_support_request_status(call: Call):
    from chalicelib.onboarding.services.processing import change_status

    return change_status(call.ctx, caller(call), call.path["request_id"], call.body())


@route(bp, "POST", "/v1/support-requests/{request_id}/comments", tag=TAG, access=ADMINS, params=(REQUEST_ID,),
       request=CommentIn, ok={201: Ok("The comment.", CommentView)},
       summary="Comment on a request (both ways), with attachments",
       description="The requester's comment on a request waiting for them puts it back in progress.",
       problems={**MOVES, 409: (*MOVES[409], "SUPPORT_REQUEST_CLOSED")})
def comment_support_request(call: Call):
    from chalicelib.onboarding.services.processing import add_comment

    return Reply(add_comment(call.ctx, caller(call), call.path["request_id"], call.body()), 201)


@route(bp, "POST", "/v1/support-requests/{request_id}/apply", tag=TAG, access=bearer("operator"),
       params=(REQUEST_ID,), ok={200: Ok("The request (done) and the registry entries written.", ApplyResult)},
       summary="Apply an API-configuration request in one step (operator)",
       description="Each requested API is written to the province registry (audited, versioned); the sealed "
       "credentials go to the secret store through the outbox; the request is done and the requester emailed.",
       problems={404: ("SUPPORT_REQUEST_NOT_FOUND",), 422: ("VALIDATION_FAILED",),
                 409: ("NOT_A_CONFIGURATION_REQUEST", "STATUS_TRANSITION_NOT_ALLOWED", "CONCURRENT_UPDATE")})
def apply_support_request(call: Call):
    from chalicelib.onboarding.services.apply import apply_configuration

    return apply_configuration(call.ctx, caller(call), call.path["request_id"])


@route(bp, "GET", "/v1/support-requests/{request_id}/attachments/{attachment_id}", tag=TAG, access=ADMINS,
       params=(REQUEST_ID, ATTACHMENT_ID), summary="A short-lived download link of an attachment",
       ok={200: Ok("The link.", AttachmentLink)},
       problems={**SCOPE, 404: ("SUPPORT_REQUEST_NOT_FOUND", "ATTACHMENT_NOT_FOUND")})
def download_support_attachment(call: Call):
    from chalicelib.onboarding.services.attachments import download

    return download(call.ctx, caller(call), call.path["request_id"], call.path["attachment_id"])


@route(bp, "GET", "/v1/support-reports/monthly", tag=TAG, access=bearer("operator"), query=ReportQuery,
       summary="Requests handled within the 8-working-hour clock, per month of closing (operator)",
       ok={200: Ok("One row per month.", MonthlyReport)})
def support_monthly_report(call: Call):
    from chalicelib.onboarding.services.clock import monthly_report

    return monthly_report(call.ctx, call.query())
