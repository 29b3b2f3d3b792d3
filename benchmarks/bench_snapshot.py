"""Snapshot throughput: storing a file in nbrepro's object store (hash + copy) beside
``cp`` + ``sha256sum`` on the same file, measured in the same run.

    python benchmarks/bench_snapshot.py [--quick] [--size-mib N]

:meth:`nbrepro.objects.ObjectStore.put` hashes and copies in one pass (or reflinks, then
hashes the clone, where the file system can clone); the peer is ``cp SRC DST && sha256sum
DST``. The source is random data written once (so both read it from the page cache); each
repetition stores into a fresh store. Target: >= 1 GB/s on one core. Prints the medians, the
throughputs and the ratio nbrepro / peer (below 1: nbrepro is faster).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

TARGET_GBPS = 1.0


def main(argv: Sequence[str] | None = None) -> int:
    """Time both and print medians, throughputs and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repetition, 256 MiB")
    parser.add_argument("--size-mib", type=int, default=1024, help="file size (default 1024)")
    parser.add_argument("--repeat", type=int, default=5, help="repetitions (default 5)")
    args = parser.parse_args(argv)
    repeat = 1 if args.quick else max(1, args.repeat)
    size = (256 if args.quick else args.size_mib) << 20
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from nbrepro.objects import ObjectStore

    with tempfile.TemporaryDirectory(prefix="nbrepro-bench-snapshot-", dir=".") as tmp:
        root = Path(tmp)
        src = root / "input.bin"
        with open(src, "wb") as fh:
            block = os.urandom(1 << 20)
            for _ in range(size >> 20):
                fh.write(block)
        how = ""
        ours, peers = [], []
        for i in range(repeat):
            store = ObjectStore(root / f"objects-{i}")
            t0 = time.perf_counter()
            obj = store.put(src)
            ours.append(time.perf_counter() - t0)
            how = obj.how
            shutil.rmtree(store.root)
            dst = root / "copy.bin"
            t0 = time.perf_counter()
            subprocess.run(["cp", str(src), str(dst)], check=True)
            subprocess.run(["sha256sum", str(dst)], check=True, capture_output=True)
            peers.append(time.perf_counter() - t0)
            dst.unlink()
        t_ours, t_peer = statistics.median(ours), statistics.median(peers)
        gbps = size / t_ours / 1e9
        print(f"object store put ({how}) median {t_ours:6.3f} s  {gbps:5.2f} GB/s  "
              f"({size >> 20} MiB, n={repeat})")  # fmt: skip
        print(f"cp + sha256sum         median {t_peer:6.3f} s  {size / t_peer / 1e9:5.2f} GB/s")
        print(f"ratio nbrepro / cp+sha256sum: {t_ours / t_peer:.2f}")
        print(f"target >= {TARGET_GBPS} GB/s: {'met' if gbps >= TARGET_GBPS else 'NOT met'}")
        # Storing an unchanged file again costs one lookup when its hash is known.
        store = ObjectStore(root / "objects-again")
        first = store.put(src)
        t0 = time.perf_counter()
        store.put(src, first.hash)
        print(f"same file again (hash known)  {1000 * (time.perf_counter() - t0):6.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
