"""Receipt endpoints (M5): a receipt as data and as its PDF document."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.routing import ANYONE, Call, Ok, Param, Reply, route
from chalicelib.receipts.schemas import Receipt

bp = Blueprint(__name__)
RECEIPT_ID = Param("receipt_id", description="The receipt id (RCP...), from the paid payment's receipt_id.",
                   schema={"type": "string", "pattern": "^RCP[A-Z][0-9]{2}[0-9A-HJKMNP-TV-Z]{26}$"})


@route(bp, "GET", "/v1/receipts/{receipt_id}", tag="citizens", access=ANYONE, params=(RECEIPT_ID,),
       summary="Read an electronic receipt (biên lai điện tử)", ok={200: Ok("The receipt data.", Receipt)},
       problems={404: ("RECEIPT_NOT_FOUND",)})
def get_receipt(call: Call):
    from chalicelib.receipts.services import receipt_view

    return receipt_view(call.ctx, call.path["receipt_id"])


@route(bp, "GET", "/v1/receipts/{receipt_id}/pdf", tag="citizens", access=ANYONE, params=(RECEIPT_ID,),
       summary="Download an electronic receipt as PDF",
       ok={200: Ok("The receipt as a PDF document.", content_type="application/pdf",
                   schema={"type": "string", "contentMediaType": "application/pdf"},
                   headers={"Content-Disposition": {"description": 'inline; filename="bien-lai-<receipt_number>.pdf"',
                                                    "schema": {"type": "string"}}})},
       problems={404: ("RECEIPT_NOT_FOUND",)})
def get_receipt_pdf(call: Call):
    from chalicelib.receipts.services import receipt_pdf

    pdf, number = receipt_pdf(call.ctx, call.path["receipt_id"])
    return Reply(pdf, headers={"Content-Disposition": f'inline; filename="bien-lai-{number}.pdf"'},
                 content_type="application/pdf")
