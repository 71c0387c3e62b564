"""Performance bench: AWS calls per operation, handler latency against its bare DynamoDB calls, cold start.

Run with `make bench` (or `python -m bench.run`); results land in bench/results.json and bench/README.md.
"""
