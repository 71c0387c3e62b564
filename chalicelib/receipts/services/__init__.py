"""Receipt use cases: reading (reading.py), public verification (verification.py), corrections (corrections.py) and
the daily report to the tax authority (reports.py)."""
from chalicelib.receipts.services.reading import receipt_pdf, receipt_view, receipt_xml

__all__ = ["receipt_pdf", "receipt_view", "receipt_xml"]
