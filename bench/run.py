"""Modality Worklist benchmark: our SCP against dcmtk's wlmscpfs.

For each size N the same worklist is served by our SCP (`manage.py dicomscp`
on DATABASE_URL, PostgreSQL for real figures) and by `wlmscpfs` reading one
.wl file per item, written from the same rows. dcmtk's `findscu -W` is the
client for both (TCP_NODELAY=1). Measured, medians:

- association: connect, one C-FIND, release (one findscu run), for a
  modality-style query (station AE + today, about 20 matches) and a
  patient-ID query (one match);
- in association: one more C-FIND inside an open association
  (findscu --repeat, (t(1+R) - t(1)) / R);
- 8 clients: C-FINDs per second with 8 findscu loops at once.

Usage: bench/run.py [N ...]   (default: BENCH_SIZES or 100 1000 10000)

The benchmark empties and refills the worklist tables of its own database:
BENCH_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/ris_bench, for
the figures in docs/benchmarks.md), else var/bench.sqlite3. It never uses
DATABASE_URL, so that it cannot wipe a real worklist.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("TCP_NODELAY", "1")
os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{ROOT / 'var' / 'bench.sqlite3'}"
(ROOT / "var").mkdir(exist_ok=True)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from bench import clients, seed  # noqa: E402

DEFAULT_SIZES = (100, 1000, 10000)


def sizes() -> list[int]:
    given = sys.argv[1:] or os.environ.get("BENCH_SIZES", "").split()
    return [int(n.replace(",", "").replace("_", "")) for n in given] or list(DEFAULT_SIZES)


def measure(size: int, workdir: Path) -> dict:
    layout = seed.seed(size)
    files = seed.write_worklist_files(workdir / f"wl{size}" / clients.CALLED_AE)
    connection.close()
    queries = clients.queries(layout)
    with clients.our_scp() as ours, clients.wlmscpfs(workdir / f"wl{size}") as theirs:
        return {"size": size, "files": files, **clients.compare(ours, theirs, queries, size)}


def table(rows: list[dict]) -> str:
    head = ("| N | measure | ours | wlmscpfs | ours/wlmscpfs |", "|---:|---|---:|---:|---:|")
    lines = list(head)
    for row in rows:
        for name, (ours, theirs, unit) in row["figures"].items():
            lines.append(
                f"| {row['size']:,} | {name} | {ours:.1f} {unit} | {theirs:.1f} {unit} | {ours / theirs:.2f} |"
            )
    return "\n".join(lines)


def main() -> None:
    print(f"database: {connection.vendor}; dcmtk findscu -W, TCP_NODELAY=1")
    call_command("migrate", verbosity=0)
    rows = []
    with tempfile.TemporaryDirectory(prefix="mwl-bench-") as workdir:
        for size in sizes():
            rows.append(measure(size, Path(workdir)))
            print(table(rows[-1:]), flush=True)
    print()
    print(table(rows))


if __name__ == "__main__":
    main()
