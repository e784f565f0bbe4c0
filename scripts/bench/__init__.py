"""The CloudShelf benchmark suite behind ``make bench`` (``scripts/bench.py``).

Not tests: nothing here asserts a time. Each section measures one thing of issue 8 and
returns plain data; :mod:`bench.report` turns the data into BENCHMARKS.md and a JSON file.

Sections (each runs in its own subprocess, so imports, moto's memory and environment
variables never leak from one into the next):

- ``coldstart``: handler import time in fresh interpreters vs a minimal Powertools handler
  (the floor), and the size of every ``sam build`` artifact (item 1);
- ``inprocess``: every route's handler called in this process on moto / PostgreSQL:
  p50/p99, the handler's own time (total minus store calls) and the store work per
  request, counted by hooks (items 2 and 3);
- ``scaling``: list by category, search and get-by-id with 1,000 and 100,000 books (item 4);
- ``gateway``: the local stack over HTTP with concurrent clients, and checkout with 50
  buyers of a scarce book (items 5 and 6);
- ``migration``: backfill and verify of 100,000 records vs the raw scan of the same data (item 7).
"""
