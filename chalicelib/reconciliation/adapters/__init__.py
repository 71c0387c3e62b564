"""Banks' status/refund APIs (HTTP) and the banks' settlement file formats."""
