"""Benchmark of the head office: simulated branches sending their day's evidence bundles.

    .venv/bin/python bench/headoffice.py [--branches 300] [--claims 150] [--processes 1,2]
        [--seconds 60] [--senders 32] [--docs 4] [--doc-kb 200] [--recording-kb 256]

Starts a throw-away PostgreSQL (headoffice.scratchdb) and, for each count in
``--processes``, a fresh database and that many ``bilik headoffice`` processes sharing it and
one blob directory. ``--branches`` simulated branches, each with its own Ed25519 key
registered at the head office, then send ``--claims`` bundles each (documents of
``--doc-kb``, a recording replaced by a small file of the same shape), through the branch's
own upload client (signaling.headofficelink: signed requests, chunks, finish), with
``--senders`` uploads in flight, spread over the processes, as fast as the head office
acknowledges them, for at most ``--seconds``.

Prints one JSON object: per process count, bundles acknowledged a second, p50/p99 of the
acknowledgement time (open to ack), PostgreSQL bytes and blob bytes per bundle, and the head
office processes' CPU (cores). Bundles are built by this process just before they are sent
(not counted in the acknowledgement time, but it shares the machine's cores).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import psutil
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bilik.evidence import bundle, keys  # noqa: E402
from headoffice import database  # noqa: E402
from headoffice.scratchdb import PostgresServer, free_port  # noqa: E402
from signaling.headofficelink import HeadOfficeLink  # noqa: E402

START_S = 60.0
JPEG_HEAD = b"\xff\xd8\xff\xe0"
WEBM_HEAD = b"\x1a\x45\xdf\xa3"


def machine() -> dict[str, Any]:
    return {"cores": os.cpu_count(), "memory_mb": round(psutil.virtual_memory().total / 2**20),
            "python": platform.python_version(), "load_avg_1m": round(os.getloadavg()[0], 2)}


class Files:
    """The documents and the recording every simulated claim carries (random bytes: they do
    not compress, like JPEG and WebM)."""

    def __init__(self, root: Path, docs: int, doc_kb: int, recording_kb: int) -> None:
        self.docs = []
        for n in range(docs):
            path = root / f"doc{n}.jpg"
            path.write_bytes(JPEG_HEAD + os.urandom(doc_kb * 1024))
            self.docs.append((path, hashlib.sha256(path.read_bytes()).hexdigest(),
                              path.stat().st_size))
        self.recording = root / "session.webm"
        self.recording.write_bytes(WEBM_HEAD + os.urandom(recording_kb * 1024))
        self.recording_sha = hashlib.sha256(self.recording.read_bytes()).hexdigest()


def claim(branch: str, n: int, files: Files) -> bundle.Claim:
    reference = f"KLM-20261207-{n:08X}"
    now = time.time()
    docs = [bundle.Document({"id": f"d-{n:08x}{i:08x}", "kind": kind, "content_type":
                             "image/jpeg", "sha256": sha, "size": size, "status": "accepted"},
                            path)
            for i, ((path, sha, size), kind) in enumerate(zip(
                files.docs, ["ktp", "kk", "kpj", "paklaring", "bank"], strict=False))]
    audit = [{"seq": n * 20 + i, "at": now - 600 + i * 30, "actor": "officer-07",
              "action": action, "subject": "booth-03", "detail": {"pairing": f"p-{n}",
                                                                  "ticket": f"t-{n}"}}
             for i, action in enumerate(["queue_ticket_issued", "queue_called", "pair",
                                         "document_uploaded", "document_uploaded",
                                         "document_status", "decision"])]
    return bundle.Claim(
        branch=branch, reference=reference, ticket=f"t-{n}", created=now,
        decision={"reference": reference, "outcome": "approved", "officer": "officer-07",
                  "ticket": f"t-{n}", "at": now, "checklist": ["ktp", "kk", "kpj"],
                  "claim": {"nik": "3171234506780001", "name": "Siti Rahayu", "bank": "BRI",
                            "account": "1234567890"}},
        documents=docs,
        readings=[{"document": docs[0].record["id"], "nik": "3171234567890001",
                   "name": "SITI RAHAYU", "confidence": 91.5}],
        audit=audit,
        consent={"ticket": f"t-{n}", "booth": "booth-03", "wording": "2026-12.1",
                 "accepted": True, "at": "2026-12-07T06:01:02.125Z", "required": False},
        recordings=[bundle.Document({"id": f"r-{n:016x}", "kind": "recording",
                                     "content_type": "video/webm", "sha256":
                                     files.recording_sha, "size":
                                     files.recording.stat().st_size}, files.recording)],
    )


def start_office(port: int, dsn: str, blob_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "bilik.cli", "--log-level", "warning",
                                 "headoffice", "--port", str(port), "--dsn", dsn,
                                 "--blob-dir", str(blob_dir)], stdout=out, stderr=out)
    deadline = time.monotonic() + START_S
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return proc
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"head office did not start: {log.read_text()[-2000:]}")
        time.sleep(0.1)


async def run_once(pg: PostgresServer, processes: int, args: argparse.Namespace,
                   files: Files, work: Path) -> dict[str, Any]:
    name = f"bench_{processes}"
    admin = await asyncpg.connect(pg.dsn())
    await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    await admin.execute(f"CREATE DATABASE {name}")
    await admin.close()
    dsn = pg.dsn(name)
    blob_dir = work / f"blobs-{processes}"
    branch_keys = {f"br-{i:03d}": Ed25519PrivateKey.generate() for i in range(args.branches)}
    pool = await database.connect(dsn)
    for branch, key in branch_keys.items():
        await database.add_branch(pool, branch, keys.public_pem(key).encode(), "bench")
    base_size = await pool.fetchval("SELECT pg_database_size(current_database())")
    ports = [free_port() for _ in range(processes)]
    offices = [start_office(port, dsn, blob_dir, work / f"ho-{processes}-{i}.log")
               for i, port in enumerate(ports)]
    watched = [psutil.Process(o.pid) for o in offices]
    cpu_before = sum(p.cpu_times().user + p.cpu_times().system for p in watched)
    acks: list[float] = []
    build_dir = work / f"build-{processes}"
    build_dir.mkdir()
    todo = [(branch, n) for n in range(args.claims) for branch in branch_keys]
    deadline = time.monotonic() + args.seconds
    started = time.monotonic()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        links = {b: [HeadOfficeLink([f"http://127.0.0.1:{p}" for p in ports[i:] + ports[:i]],
                                    b, k, session, time.time) for i in range(processes)]
                 for b, k in branch_keys.items()}

        async def sender(index: int) -> None:
            while todo and time.monotonic() < deadline:
                branch, n = todo.pop()
                target = build_dir / f"{branch}-{n}.zip"
                sha, size = await asyncio.to_thread(
                    bundle.write, claim(branch, n, files), branch_keys[branch], target)
                t0 = time.monotonic()
                await links[branch][index % processes].send(target, f"KLM-20261207-{n:08X}",
                                                           sha, size)
                acks.append(time.monotonic() - t0)
                await asyncio.to_thread(target.unlink)

        await asyncio.gather(*(sender(i) for i in range(args.senders)))
    elapsed = time.monotonic() - started
    cpu_after = sum(p.cpu_times().user + p.cpu_times().system for p in watched)
    count = await pool.fetchval("SELECT count(*) FROM bundles")
    db_size = await pool.fetchval("SELECT pg_database_size(current_database())")
    table = await pool.fetchval("SELECT pg_total_relation_size('bundles')")
    await pool.close()
    for office in offices:
        office.terminate()
    for office in offices:
        office.wait(timeout=30)
    blob_bytes = sum(f.stat().st_size for f in (blob_dir / "bundles").rglob("*.zip"))
    shutil.rmtree(blob_dir, ignore_errors=True)
    shutil.rmtree(build_dir, ignore_errors=True)
    quantiles = statistics.quantiles(acks, n=100) if len(acks) >= 2 else [0.0] * 99
    return {
        "processes": processes, "bundles": count, "seconds": round(elapsed, 2),
        "bundles_per_s": round(count / elapsed, 2) if elapsed else 0.0,
        "ack_p50_ms": round(quantiles[49] * 1000, 1), "ack_p99_ms": round(quantiles[98] * 1000, 1),
        "bundle_bytes_mean": round(blob_bytes / count) if count else 0,
        "pg_bytes_per_bundle": round((db_size - base_size) / count) if count else 0,
        "pg_bundles_table_bytes_per_bundle": round(table / count) if count else 0,
        "headoffice_cpu_cores": round((cpu_after - cpu_before) / elapsed, 2) if elapsed else 0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--branches", type=int, default=300)
    parser.add_argument("--claims", type=int, default=150, help="bundles per branch")
    parser.add_argument("--processes", default="1,2", help="head-office process counts to run")
    parser.add_argument("--seconds", type=float, default=60.0, help="cap per run")
    parser.add_argument("--senders", type=int, default=32, help="uploads in flight")
    parser.add_argument("--docs", type=int, default=4, help="documents per claim")
    parser.add_argument("--doc-kb", type=int, default=200)
    parser.add_argument("--recording-kb", type=int, default=256)
    args = parser.parse_args()
    counts = [int(c) for c in args.processes.split(",") if c.strip()]
    work = Path(tempfile.mkdtemp(prefix="bilik-bench-ho-"))
    pg = PostgresServer()
    try:
        pg.start()
        files = Files(work, args.docs, args.doc_kb, args.recording_kb)
        runs = [asyncio.run(run_once(pg, n, args, files, work)) for n in counts]
    finally:
        pg.stop()
        with contextlib.suppress(OSError):
            shutil.rmtree(work)
    print(json.dumps({"benchmark": "headoffice", "settings": vars(args), "machine": machine(),
                      "runs": runs}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
