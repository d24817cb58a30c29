"""``python -m vislib prefetch [profile ...]``: download what the given
profiles need (weights, class index, sample photos, flowers) into the Keras
cache, for a lecture hall without network."""

from __future__ import annotations

import sys

from .data.datasets import ensure_fashion_mnist
from .models.profiles import prefetch


def main(argv: list[str] | None = None) -> int:
    """``python -m vislib prefetch [PROFILE ...]``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("prefetch", "fashion-offline"):
        print("usage: python -m vislib prefetch [vgg16 mobilenet_v2 resnet50 efficientnet_lite0 fashion_cnn "
              "fashion_gap flowers]\n       python -m vislib.data fashion-offline", file=sys.stderr)
        return 2
    if argv[0] == "fashion-offline":
        try:
            print(f"Fashion-MNIST ready in {ensure_fashion_mnist()}")
            return 0
        except RuntimeError as err:
            print(f"vislib: {err}", file=sys.stderr)
            return 1
    try:
        report = prefetch(argv[1:] or None)
    except ValueError as err:
        print(f"vislib: {err}", file=sys.stderr)
        return 2
    failed = [k for k, v in report.items() if v != "ok"]
    print(f"prefetch: {len(report) - len(failed)} ok, {len(failed)} failed" +
          (f" ({', '.join(failed)}); those will be fetched on first use or fall back offline" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
