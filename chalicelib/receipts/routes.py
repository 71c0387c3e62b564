"""Receipt endpoints (M5): a receipt as data, as its PDF and as its signed XML (the payer); the public verification
(anyone: by the QR code's series, number and secret, or by the document); corrections and the daily reports to the
tax authority (operators)."""
from __future__ import annotations

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.routing import ANYONE, Call, Ok, Param, Reply, bearer, optional_bearer, route
from chalicelib.receipts.schemas import DayReports, DayReportView, Receipt, Verification
from chalicelib.receipts.services.corrections import CorrectionIn
from chalicelib.receipts.services.verification import VerifyDocumentIn, VerifyQuery

bp = Blueprint(__name__)
RECEIPT_ID = Param("receipt_id", description="The receipt id (RCP...), from the paid payment's receipt_id.",
                   schema={"type": "string", "pattern": "^RCP[A-Z][0-9]{2}[0-9A-HJKMNP-TV-Z]{26}$"})
CLIENT_SECRET = Param("X-Client-Secret", "header", required=False,
                      description="The paying payment's access secret (client_secret of POST /v1/payments). Required "
                      "unless the request carries the token of the signed-in citizen who paid.",
                      schema={"type": "string", "pattern": "^[0-9a-f]{40}$"})
UNIT = Param("unit_code", description="The collecting unit (level-1 agency code), e.g. 000.00.00.H49.",
             schema={"type": "string", "pattern": r"^000\.00\.00\.H[0-9]{2}$"})
DAY = Param("day", description="YYYY-MM-DD (Vietnam time).", schema={"type": "string", "format": "date"})
CITIZEN = optional_bearer("citizen")
OPERATOR = bearer("operator")
PROBLEMS = {401: ("CLIENT_SECRET_REQUIRED",), 404: ("RECEIPT_NOT_FOUND",)}
NOT_GENUINE = {422: ("RECEIPT_NOT_GENUINE",)}


class ReportsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    from_day: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$", description="First day (default: a "
                                 "month before to_day).")
    to_day: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$", description="Last day (default today).")


def _who(call: Call) -> tuple[str | None, str | None]:
    return call.header("x-client-secret"), call.principal.subject if call.principal is not None else None


@route(bp, "GET", "/v1/receipts/{receipt_id}", tag="citizens", access=CITIZEN, params=(RECEIPT_ID, CLIENT_SECRET),
       summary="Read an electronic receipt (biên lai điện tử)", ok={200: Ok("The receipt data.", Receipt)},
       problems=PROBLEMS)
def get_receipt(call: Call):
    from chalicelib.receipts.services import receipt_view

    return receipt_view(call.ctx, call.path["receipt_id"], *_who(call))


@route(bp, "GET", "/v1/receipts/{receipt_id}/pdf", tag="citizens", access=CITIZEN, params=(RECEIPT_ID, CLIENT_SECRET),
       summary="Download an electronic receipt as PDF (PAdES-signed, with the verification QR code)",
       ok={200: Ok("The receipt as a PDF document.", content_type="application/pdf",
                   schema={"type": "string", "contentMediaType": "application/pdf"},
                   headers={"Content-Disposition": {"description": 'inline; filename="bien-lai-<receipt_number>.pdf"',
                                                    "schema": {"type": "string"}}})},
       problems={**PROBLEMS, 503: ("RECEIPT_SIGNING_UNAVAILABLE",)})
def get_receipt_pdf(call: Call):
    from chalicelib.receipts.services import receipt_pdf

    pdf, number = receipt_pdf(call.ctx, call.path["receipt_id"], *_who(call))
    return Reply(pdf, headers={"Content-Disposition": f'inline; filename="bien-lai-{number}.pdf"'},
                 content_type="application/pdf")


@route(bp, "GET", "/v1/receipts/{receipt_id}/xml", tag="citizens", access=CITIZEN, params=(RECEIPT_ID, CLIENT_SECRET),
       summary="Download the receipt's signed XML (the legal record, XMLDSig)",
       ok={200: Ok("The signed XML.", content_type="application/xml", schema={"type": "string"},
                   headers={"Content-Disposition": {"description": 'attachment; filename="bien-lai-<number>.xml"',
                                                    "schema": {"type": "string"}}})},
       problems={**PROBLEMS, 404: ("RECEIPT_NOT_FOUND", "RECEIPT_XML_NOT_FOUND")})
def get_receipt_xml(call: Call):
    from chalicelib.receipts.services import receipt_xml

    xml, number = receipt_xml(call.ctx, call.path["receipt_id"], *_who(call))
    return Reply(xml, headers={"Content-Disposition": f'attachment; filename="bien-lai-{number}.xml"'},
                 content_type="application/xml")


@route(bp, "GET", "/v1/receipt-verifications", tag="public", access=ANYONE, query=VerifyQuery,
       summary="Check a receipt by the code printed with its QR code (ký hiệu, số, mã tra cứu)",
       description="What the receipt's QR code opens. Answers whether the receipt is genuine (its stored signed XML "
       "verifies and matches), who issued and signed it, its number and amount; never the payer's name, tax code, "
       "ID number, phone or address. A wrong secret is answered as an unknown receipt.",
       ok={200: Ok("The receipt is genuine.", Verification)},
       problems={404: ("RECEIPT_NOT_FOUND",), **NOT_GENUINE})
def verify_receipt(call: Call):
    from chalicelib.receipts.services.verification import verify_by_code

    return verify_by_code(call.ctx, call.query_params())


@route(bp, "POST", "/v1/receipt-verifications", tag="public", access=ANYONE, request=VerifyDocumentIn,
       summary="Check a receipt document (its signed XML, or its PDF)",
       description="The XML's signature is verified against the trusted CAs and its signed data must be exactly the "
       "issued receipt's; a PDF's PAdES signature is verified (whole file, trusted certificate). A changed or "
       "foreign document is `422 RECEIPT_NOT_GENUINE` with `reason` (e.g. DIGEST_MISMATCH, UNKNOWN_RECEIPT).",
       ok={200: Ok("The document is genuine.", Verification)}, problems=NOT_GENUINE)
def verify_receipt_document(call: Call):
    from chalicelib.receipts.services.verification import verify_document

    return verify_document(call.ctx, call.body())


@route(bp, "POST", "/v1/receipts/{receipt_id}/corrections", tag="operators", access=OPERATOR, params=(RECEIPT_ID,),
       request=CorrectionIn, summary="Replace, adjust or cancel a receipt by issuing a new one that references it",
       description="The old receipt is never changed. At most one receipt corrects another.",
       ok={201: Ok("The new receipt.", Receipt)},
       problems={404: ("RECEIPT_NOT_FOUND",), 409: ("RECEIPT_ALREADY_CORRECTED", "CONCURRENT_UPDATE"),
                 422: ("RECEIPT_LEGACY", "CORRECTION_CHANGES_NOT_ALLOWED"), 503: ("RECEIPT_SIGNING_UNAVAILABLE",)})
def correct_receipt(call: Call):
    from chalicelib.receipts.services.corrections import correct_receipt as do_correct

    return Reply(do_correct(call.ctx, call.principal.subject, call.path["receipt_id"], call.body()), 201)


@route(bp, "GET", "/v1/receipt-reports/{unit_code}", tag="operators", access=OPERATOR, params=(UNIT,),
       query=ReportsQuery, summary="The daily receipt tables sent to the tax authority (01/TH-BLĐT) of a unit",
       ok={200: Ok("Each day with receipts: rows, state, acknowledgement, history.", DayReports)},
       problems={404: ("COLLECTING_UNIT_NOT_FOUND",)})
def list_receipt_reports(call: Call):
    from chalicelib.receipts.services.reports import list_reports

    q = call.query()
    return list_reports(call.ctx, call.path["unit_code"], q.from_day, q.to_day)


@route(bp, "POST", "/v1/receipt-reports/{unit_code}/{day}/resend", tag="operators", access=OPERATOR,
       params=(UNIT, DAY), summary="Send a day's receipt table to the tax authority again, now",
       ok={200: Ok("The day after the attempt.", DayReportView)},
       problems={404: ("TAX_REPORT_NOT_FOUND", "COLLECTING_UNIT_NOT_FOUND"), 503: ("TAX_AUTHORITY_UNAVAILABLE",)})
def resend_receipt_report(call: Call):
    from chalicelib.receipts.services.reports import resend_report

    return resend_report(call.ctx, call.principal.subject, call.path["unit_code"], call.path["day"])
