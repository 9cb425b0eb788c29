"""``python -m guestbook_localcluster.kubelet``: run the process kubelet in the foreground.

Either ``--pki DIR`` (the cluster's PKI folder: the node's certificates are
issued there once) or the certificate files one by one. Images come from
``guestbook_localcluster.images.ImageCatalog``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ..pki import KeyPair, Pki
from .config import DEFAULT_NODE_NAME, DEFAULT_PORT, ImageSource, KubeletConfig
from .kubelet import Kubelet, run_until_signal


def _images() -> ImageSource:
    from ..images import ImageCatalog

    catalog: ImageSource = ImageCatalog.project()
    return catalog


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m guestbook_localcluster.kubelet")
    parser.add_argument("--server", required=True, help="kube-apiserver URL (https://...)")
    parser.add_argument(
        "--pki", type=Path, help="the cluster's PKI folder (issues the node's certificates)"
    )
    parser.add_argument("--ca-file", type=Path, help="the cluster CA (default: PKI/ca.crt)")
    parser.add_argument("--client-cert", type=Path)
    parser.add_argument("--client-key", type=Path)
    parser.add_argument("--serving-cert", type=Path)
    parser.add_argument("--serving-key", type=Path)
    parser.add_argument("--state-dir", type=Path, required=True, help="pod files and logs")
    parser.add_argument("--node-name", default=DEFAULT_NODE_NAME)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="kubelet API port (0: any)")
    parser.add_argument("--pod-start-delay", type=float, default=0.0, metavar="SECONDS")
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


def config_from(args: argparse.Namespace) -> KubeletConfig:
    """The config the options describe; SystemExit with a sentence when incomplete."""
    options = {
        "node_name": args.node_name,
        "port": args.port,
        "pod_start_delay": args.pod_start_delay,
    }
    if args.pki is not None:
        return KubeletConfig.from_pki(Pki(args.pki), args.server, args.state_dir, **options)
    files = (args.ca_file, args.client_cert, args.client_key, args.serving_cert, args.serving_key)
    if any(f is None for f in files):
        raise SystemExit(
            "error: give --pki DIR, or all of --ca-file, --client-cert, --client-key, "
            "--serving-cert and --serving-key"
        )
    return KubeletConfig.from_credentials(
        args.server,
        args.ca_file,
        KeyPair(args.client_cert, args.client_key),
        KeyPair(args.serving_cert, args.serving_key),
        args.state_dir,
        **options,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    config = config_from(args)
    kubelet = Kubelet(config, _images())
    run_until_signal(
        kubelet,
        lambda: print(
            f"kubelet of node {config.node_name} ready, API on "
            f"https://{config.address}:{kubelet.port}",
            file=sys.stderr,
            flush=True,
        ),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
