"""Developer tool: findings against truth.json for a synthetic tenant, per subkind.

    .venv/bin/python -m tests.truth_diff --seed 3 --people 1000 --apps 16 [--kind drift]
        [--idp entra]

The tenant is generated and synced once into a cache folder (re-used while the generator's
output is the same); every call detects on a fresh copy of that store, so edited detections
are picked up without re-syncing. Exits 1 when any compared subkind differs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

from connectors.synthetic import generate_tenant
from connectors.synthetic.tenant import IDPS
from evidence.config import load_config
from evidence.detections.runner import detect
from evidence.store.db import open_store
from evidence.sync import sync_sources

CACHE = Path(tempfile.gettempdir()) / "scim-evidence-truth"


def _tenant(seed: int, people: int, apps: int, idp: str = "okta") -> Path:
    out = CACHE / f"{idp}-s{seed}-p{people}-a{apps}"
    if not (out / "synced.duckdb").exists():
        shutil.rmtree(out, ignore_errors=True)
        generate_tenant(out, seed=seed, people=people, apps=apps, idp=idp)
        cfg = load_config(out / "evidence.toml")
        con = open_store(out / "synced.duckdb")
        try:
            if not all(o.ok for o in sync_sources(con, cfg)):
                raise SystemExit("sync failed")
        finally:
            con.close()
    return out


def diff(seed: int, people: int, apps: int, kinds: set[str] | None, idp: str = "okta") -> int:
    out = _tenant(seed, people, apps, idp)
    cfg = load_config(out / "evidence.toml")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "e.duckdb"
        shutil.copy(out / "synced.duckdb", db)
        con = open_store(db)
        try:
            detect(con, cfg.policy)
            rows = con.execute(
                "SELECT kind, subkind, app, account, entitlement, rule, status FROM findings"
            ).fetchall()
        finally:
            con.close()
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    want = Counter(
        (
            f["kind"],
            f["subkind"],
            f["app"],
            f["account"],
            f.get("entitlement"),
            f.get("rule"),
            f.get("status", "open"),
        )
        for f in truth
        if kinds is None or f["kind"] in kinds
    )
    got = Counter(r for r in rows if kinds is None or r[0] in kinds)
    bad = 0
    for sub in sorted({k[:2] for k in want} | {k[:2] for k in got}):
        w = Counter({k: n for k, n in want.items() if k[:2] == sub})
        g = Counter({k: n for k, n in got.items() if k[:2] == sub})
        missing, extra = w - g, g - w
        print(
            f"{sub[0]}/{sub[1]}: truth {sum(w.values())}, found {sum(g.values())}"
            + ("" if not (missing or extra) else "  <-- differs")
        )
        for k in sorted(missing, key=str):
            print("   missing", k[2:])
        for k in sorted(extra, key=str):
            print("   extra  ", k[2:])
        bad += bool(missing or extra)
    return bad


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--people", type=int, default=400)
    ap.add_argument("--apps", type=int, default=12)
    ap.add_argument("--kind", action="append", help="compare only this kind (repeatable)")
    ap.add_argument("--idp", choices=IDPS, default="okta", help="the tenant's identity provider")
    a = ap.parse_args()
    kinds = set(a.kind) if a.kind else None
    sys.exit(1 if diff(a.seed, a.people, a.apps, kinds, a.idp) else 0)


if __name__ == "__main__":
    main()
