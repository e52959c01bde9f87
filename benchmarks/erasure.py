"""What erasure down to the byte costs at 50,000 passages, and what it finds before and after.

    python -m benchmarks.erasure [--person daan-brouns]

Takes a copy of the latency benchmark's store (``python -m benchmarks.latency`` builds it: the demo corpus
replicated to 50,000 passages, so the person is named in many copies), removes one person as a coordinator
does (``service.profiles.remove_person``) and reports, side by side in one run: the files of the data folder
that hold the name or address before and after, the seconds of the removal's scrub (what the service always
did) and of the erasure it now adds (uploads + rewriting the store's files), and search latency before and
after the rewrite (same questions, medians), since the rewritten files must serve as fast as the old ones.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks.latency import HERE, QUESTIONS, timed
from core.store.catalog import CHUNKS
from service import erasure, profiles
from service.container import Kennismakelaar
from service.coordinators import COMMAND_LINE
from service.settings import Settings
from tests.bytescan import files_holding


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--person", default="daan-brouns")
    args = parser.parse_args()
    source = HERE / ".data" / "latency-store"
    if not (source / "qdrant").is_dir():
        raise SystemExit("first: python -m benchmarks.latency (it builds the 50,000-passage store)")
    data = Path(tempfile.mkdtemp(prefix="km-erasure-")) / "data"
    subprocess.run(["cp", "-a", "--sparse=always", str(source), str(data)], check=True)
    km = Kennismakelaar(Settings.from_env({"KM_DATA_DIR": str(data)}))
    catalog = km.catalog()
    expert = catalog.expert(args.person)
    if expert is None:
        raise SystemExit(f"{args.person} is not in the store")
    name, mail = expert["name"], expert.get("email") or "-"
    print(f"{catalog.store.count(CHUNKS)} passages; removing {args.person}", flush=True)
    search = km.broker().search
    timed(search, QUESTIONS)  # warm up
    before_ms = statistics.median(timed(search, QUESTIONS * 3))
    km.store.flush()
    before = files_holding(data, name, mail)

    # the removal as before this change, then what erasure adds, timed apart
    real = erasure.erase_residue
    spent: dict[str, float] = {}

    def timed_erasure(k: Kennismakelaar) -> dict[str, int]:
        started = time.perf_counter()
        out = real(k)
        spent["erasure"] = time.perf_counter() - started
        return out

    profiles.erase_residue = timed_erasure  # type: ignore[attr-defined]
    started = time.perf_counter()
    details = profiles.remove_person(km, args.person, COMMAND_LINE)
    total = time.perf_counter() - started
    after_ms = statistics.median(timed(search, QUESTIONS * 3))
    km.close()
    after = files_holding(data, name, mail)
    print(f"removal summary: {details}")
    print(f"files holding the name or address: before {len(before)}, after {len(after)} {after or ''}")
    print(f"removal {total:.1f} s = scrub {total - spent['erasure']:.1f} s + erasure {spent['erasure']:.1f} s "
          f"(uploads + rewriting every collection)")
    print(f"search median: before {before_ms:.1f} ms, after the rewrite {after_ms:.1f} ms "
          f"({after_ms / before_ms:.2f}x)")
    subprocess.run(["rm", "-rf", str(data.parent)], check=False)


if __name__ == "__main__":
    main()
