"""On-demand performance benchmarks (issue 9); not part of the test suite.

Run ``python -m benchmarks [name ...]``; each benchmark generates its own data in a
temporary directory, prints median/min/max over several runs and the ratio to the floor
it names. See docs/PERFORMANCE.md for the figures and the exact commands.
"""
