"""Patient search benchmark: the reads people make when they look a patient up.

Seeds N patients (default 100,000; names with accents, an ideographic group
for some) into its own database, then times, 40 runs each after one warm-up,
the selectors the pages call: a name search (folded words in the search
column), an ideographic name search, an MRN search, and manual order entry's
candidates (MRN, and name with birth date). Prints median and 95th percentile.

Usage: bench/patient_search.py [N]
The database is BENCH_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/ris_bench),
else var/bench-search.sqlite3; never DATABASE_URL, so it cannot touch real patients.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["DATABASE_URL"] = (
    os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{ROOT / 'var' / 'bench-search.sqlite3'}"
)
(ROOT / "var").mkdir(exist_ok=True)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from ris import selectors  # noqa: E402
from ris.models import Patient  # noqa: E402

FAMILIES = ["Müller", "Meyer", "Schmidt", "García", "Dupont", "Rossi", "Novák", "Yamada", "Smith", "Øster"]
GIVEN = ["Hans", "José", "Zoë", "Anna", "Tarou", "Marie", "Jan", "Lucía", "Björn", "Eva"]


def seed(size: int) -> None:
    if Patient.objects.count() == size:
        return
    Patient.objects.all().delete()
    random.seed(1)
    rows = []
    for i in range(size):
        family = random.choice(FAMILIES) + (str(i % 997) if i % 3 else "")
        patient = Patient(
            patient_id=f"B{i}",
            issuer="HOSP",
            name=f"{family.upper()}^{random.choice(GIVEN)}",
            name_ideographic="山田^太郎" if family.startswith("Yamada") else "",
            birth_date=dt.date(1930, 1, 1) + dt.timedelta(days=random.randrange(30000)),
        )
        rows.append(patient.with_search_name())
        if len(rows) == 5000:
            Patient.objects.bulk_create(rows)
            rows = []
    Patient.objects.bulk_create(rows)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE ris_patient")


def timed(read, runs: int = 40) -> tuple[float, float]:
    read()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        read()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


READS = {
    "name 'muller hans'": lambda: list(selectors.patient_search(name="muller hans")),
    "name '山田'": lambda: list(selectors.patient_search(name="山田")),
    "MRN 'B4242'": lambda: list(selectors.patient_search(mrn="B4242")),
    "entry candidates (MRN; name + birth date)": lambda: selectors.patient_candidates(
        patient_id="B77", issuer="HOSP", name="jose garcia", birth_date=dt.date(1970, 1, 1)
    ),
}


def main() -> None:
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    call_command("migrate", verbosity=0)
    seed(size)
    print(f"{connection.vendor}, {size:,} patients")
    print("| read | median ms | p95 ms |\n|---|---:|---:|")
    for label, read in READS.items():
        median, p95 = timed(read)
        print(f"| {label} | {median:.1f} | {p95:.1f} |")


if __name__ == "__main__":
    main()
