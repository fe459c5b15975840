"""Mixed load: 50 modality associations querying the worklist while orders
stream in over four MLLP connections, against `manage.py mllp` and
`manage.py dicomscp` running as their own processes on a throwaway test
database made from DATABASE_URL (PostgreSQL for the figures we quote).

    DATABASE_URL=postgres://... .venv/bin/python bench/mixed.py [--associations 50 --queries 10 --orders 100]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.processes import free_port, start_listener, throwaway_database  # noqa: E402


def main() -> None:
    options = _arguments()
    with throwaway_database() as database:
        from bench.load import run_load, summary

        mllp_port, dicom_port = free_port(), free_port()
        listeners = []
        try:
            listeners.append(start_listener("mllp", mllp_port, database))
            listeners.append(start_listener("dicomscp", dicom_port, database))
            result = run_load(
                mllp_port,
                dicom_port,
                associations=options.associations,
                queries=options.queries,
                mllp_connections=4,
                orders_per_connection=options.orders // 4,
            )
            _print(summary(result), options)
            for error in sorted(set(result.errors))[:10]:
                print("error:", error)
        finally:
            for proc in listeners:
                proc.terminate()
                proc.wait(timeout=20)


def _print(figures: dict, options) -> None:
    print(
        f"\nMixed load: {options.associations} associations x {options.queries} C-FINDs, "
        f"{options.orders} orders over 4 MLLP connections ({figures['errors']} errors)\n"
    )
    print("| orders/s | ACK p50 ms | ACK p95 ms | C-FINDs | C-FIND p50 ms | C-FIND p95 ms |")
    print("|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {figures['orders_per_second']:.0f} | {figures['ack_median_ms']:.1f} | {figures['ack_p95_ms']:.1f} "
        f"| {figures['queries']} | {figures['find_median_ms']:.1f} | {figures['find_p95_ms']:.1f} |"
    )


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--associations", type=int, default=50)
    parser.add_argument("--queries", type=int, default=10, help="C-FINDs per association")
    parser.add_argument("--orders", type=int, default=200, help="orders in all, over four connections")
    return parser.parse_args()


if __name__ == "__main__":
    main()
