"""Fixtures for tests/cluster (helpers live in clusterutil.py: one module name per directory)."""

from clusterutil import stub_env  # noqa: F401  (registers the fixture)
