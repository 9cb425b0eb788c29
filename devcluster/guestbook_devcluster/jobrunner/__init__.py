"""The job runner of the local API server: a Job controller and a kubelet.

Jobs get pods; each pod's first container runs as a local process. Both parts
talk to the server only through its REST API (see ``runner.py``).
"""

from .runner import JobRunner, JobRunnerConfig

__all__ = ["JobRunner", "JobRunnerConfig"]
