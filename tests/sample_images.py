"""Two tiny sample images for the kubelet's own tests, over this test run's interpreter.

- `local/python:1`  ENTRYPOINT ["python"] CMD ["-c", "print('hello from the image')"]
- `local/http:1`    ENTRYPOINT ["python", "-m", "http.server"] CMD ["8080", "--bind", "0.0.0.0"]

They test the kubelet's mechanics (ENTRYPOINT/CMD, probes, ports, logs); the
project's own pods always run in environments built from their Dockerfiles
(`guestbook_localcluster.images`). Any other image has no environment here.
"""

from __future__ import annotations

import sys
from pathlib import Path

from guestbook_localcluster.images import ImageEnvironment, ImageNotAvailable

PYTHON = Path(sys.executable)

SAMPLE_IMAGES = {
    "local/python:1": ImageEnvironment(
        "local/python:1",
        PYTHON.parent.parent,
        PYTHON.parent,
        ["python"],
        ["-c", "print('hello from the image')"],
        {"IMAGE_GREETING": "from the image"},
        None,
    ),
    "local/http:1": ImageEnvironment(
        "local/http:1",
        PYTHON.parent.parent,
        PYTHON.parent,
        ["python", "-m", "http.server"],
        ["8080", "--bind", "0.0.0.0"],
        {},
        None,
    ),
}


class SampleImages:
    """An image catalog with only the two sample images."""

    def environment_for(self, image: str) -> ImageEnvironment:
        if image not in SAMPLE_IMAGES:
            raise ImageNotAvailable(
                f'image "{image}" has no local environment: no Dockerfile in the catalog builds it'
            )
        return SAMPLE_IMAGES[image]
