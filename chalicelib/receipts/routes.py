"""Receipt endpoints (M5): a receipt as data and as its PDF document."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.routing import Call, Ok, Param, Reply, optional_bearer, route
from chalicelib.receipts.schemas import Receipt

bp = Blueprint(__name__)
RECEIPT_ID = Param("receipt_id", description="The receipt id (RCP...), from the paid payment's receipt_id.",
                   schema={"type": "string", "pattern": "^RCP[A-Z][0-9]{2}[0-9A-HJKMNP-TV-Z]{26}$"})
CLIENT_SECRET = Param("X-Client-Secret", "header", required=False,
                      description="The paying payment's access secret (client_secret of POST /v1/payments). Required "
                      "unless the request carries the token of the signed-in citizen who paid.",
                      schema={"type": "string", "pattern": "^[0-9a-f]{40}$"})
CITIZEN = optional_bearer("citizen")
PROBLEMS = {401: ("CLIENT_SECRET_REQUIRED",), 404: ("RECEIPT_NOT_FOUND",)}


def _who(call: Call) -> tuple[str | None, str | None]:
    return call.header("x-client-secret"), call.principal.subject if call.principal is not None else None


@route(bp, "GET", "/v1/receipts/{receipt_id}", tag="citizens", access=CITIZEN, params=(RECEIPT_ID, CLIENT_SECRET),
       summary="Read an electronic receipt (biên lai điện tử)", ok={200: Ok("The receipt data.", Receipt)},
       problems=PROBLEMS)
def get_receipt(call: Call):
    from chalicelib.receipts.services import receipt_view

    return receipt_view(call.ctx, call.path["receipt_id"], *_who(call))


@route(bp, "GET", "/v1/receipts/{receipt_id}/pdf", tag="citizens", access=CITIZEN, params=(RECEIPT_ID, CLIENT_SECRET),
       summary="Download an electronic receipt as PDF",
       ok={200: Ok("The receipt as a PDF document.", content_type="application/pdf",
                   schema={"type": "string", "contentMediaType": "application/pdf"},
                   headers={"Content-Disposition": {"description": 'inline; filename="bien-lai-<receipt_number>.pdf"',
                                                    "schema": {"type": "string"}}})},
       problems=PROBLEMS)
def get_receipt_pdf(call: Call):
    from chalicelib.receipts.services import receipt_pdf

    pdf, number = receipt_pdf(call.ctx, call.path["receipt_id"], *_who(call))
    return Reply(pdf, headers={"Content-Disposition": f'inline; filename="bien-lai-{number}.pdf"'},
                 content_type="application/pdf")
