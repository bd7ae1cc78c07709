"""The torture suite: crash, concurrency, fault, bad-input and secret checks (issue 8)."""
