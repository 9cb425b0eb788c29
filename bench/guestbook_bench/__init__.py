"""Benchmarks run by `guestbook-ledger bench …` (never by the test suite): each
function measures one thing and returns figures for `docs/benchmarks.md`."""
