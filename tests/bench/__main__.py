"""Run the benchmarks, write bench-out/bench.json and print it as a table.

Each benchmark runs in a child process so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import shutil
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tests.bench.cases import BENCHMARKS, SCALES, run_child


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.bench")
    ap.add_argument("--scale", default="default", choices=sorted(SCALES))
    ap.add_argument("--out", default="bench-out", type=Path)
    ap.add_argument("--only", action="append", help="Run only this benchmark (repeatable).")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    names = args.only or list(BENCHMARKS)
    ctx = mp.get_context("spawn")
    results: list[dict] = []
    failed: list[str] = []
    console = Console(stderr=True)
    for name in names:
        work = args.out / "work" / name
        shutil.rmtree(work, ignore_errors=True)  # every run starts from nothing
        work.mkdir(parents=True)
        q: mp.Queue = ctx.Queue()
        p = ctx.Process(target=run_child, args=(name, args.scale, str(work), q))
        console.print(f"running {name} at scale {args.scale} ...")
        p.start()
        res = q.get()
        p.join()
        if "error" in res:
            # Recorded, and the others still run: a long run keeps what it measured.
            console.print(f"[red]{name} failed: {res['error']}[/red]")
            failed.append(name)
            results.append({"name": name, "scale": args.scale, "error": res["error"]})
        else:
            # A benchmark may measure several variants (e.g. page sizes): one row each.
            peak = res.pop("peak_rss_mb")
            variants = res.pop("rows", None) or [res]
            results += [
                {"name": name, "scale": args.scale, **v, "peak_rss_mb": peak} for v in variants
            ]
        (args.out / "bench.json").write_text(json.dumps(results, indent=2) + "\n")
    t = Table(title=f"bench ({args.scale})")
    for c in ("name", "scale", "ours_s", "baseline", "baseline_s", "ratio", "peak_rss_mb"):
        t.add_column(c)
    for r in results:
        t.add_row(
            *(
                str(r.get(c, "failed"))
                for c in (
                    "name",
                    "scale",
                    "ours_s",
                    "baseline",
                    "baseline_s",
                    "ratio",
                    "peak_rss_mb",
                )
            )
        )
    Console().print(t)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
