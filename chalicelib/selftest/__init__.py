"""The automated integration self-test of a province (M11): evidence of a working integration instead of
screenshots. API side in services/runs.py, the job in services/execute.py."""
