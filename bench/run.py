"""``make bench``: run every ``bench/bench_*.py`` module's ``main(quick)``, in name order.

    python -m bench.run            full run (20,000 patients)
    python -m bench.run --quick    small run (2,000 patients), to check the benchmarks work
    python -m bench.run gate mmrm  only bench_gate.py and bench_mmrm.py

A module that fails is reported and the others still run; the exit status is 1 if any failed.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover(only: list[str] | None = None) -> list[str]:
    """Module names ``bench.bench_<x>`` of the benchmarks, optionally only the named ``<x>``."""
    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if only:
        names = [n for n in names if n.removeprefix("bench_") in only or n in only]
    return [f"bench.{n}" for n in names]


def run_one(name: str, quick: bool) -> None:
    module = importlib.import_module(name)
    main = getattr(module, "main", None)
    if main is None:
        raise SystemExit(f"{name} has no main(quick: bool)")
    if "quick" in inspect.signature(main).parameters:
        main(quick=quick)
    else:
        main()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small run (2,000 patients)")
    parser.add_argument("only", nargs="*", help="run only these benchmarks (e.g. ingest gate)")
    args = parser.parse_args(argv)
    failed = []
    for name in discover(args.only):
        print(f"== {name}", flush=True)
        start = time.perf_counter()
        try:
            run_one(name, args.quick)
        except Exception:  # one broken benchmark must not hide the others' figures
            traceback.print_exc()
            failed.append(name)
        print(f"== {name}: {time.perf_counter() - start:.1f} s", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
