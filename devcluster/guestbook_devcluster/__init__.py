"""A local Kubernetes API server for development and tests (real REST protocol)."""
