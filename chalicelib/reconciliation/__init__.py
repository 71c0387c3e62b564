"""Reconciliation (M14): asking banks for a payment's status, matching their settlement files, refunds, exports."""
