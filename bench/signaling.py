"""Benchmark of the branch server: N authenticated devices, paired, heartbeating, relaying ICE.

    .venv/bin/python bench/signaling.py [--devices 2000] [--workers 2] [--seconds 10] [--rate 1]
                                        [--tls]

Starts ``bilik server`` as a separate process on an ephemeral loopback port, then
``--workers`` load-generator processes that between them open ``--devices`` WebSockets
(half booths, half hubs), each saying hello with its own signed token. Every hub
announces a capacity of one and every booth asks for service, so the server pairs them
one to one. For ``--seconds`` each device then sends ``--rate`` Ice messages a second
to its peer through the server (aiohttp heartbeats run throughout, both ways). Each Ice
carries its send time on the system-wide monotonic clock; the receiver, possibly in
another process, computes the one-way relay latency.

Prints one JSON object: connect and pairing times, relay latency percentiles and loss,
the server's CPU (cores: CPU seconds per wall second) and resident memory, the load
generators' CPU (to show whether they, not the server, were the limit) and the machine.
Every phase has a deadline; the run stops by itself and kills what it started.

Without ``--tls`` the server runs with the development switch (plain ws://), as before. With
``--tls`` it runs as on a branch: a branch CA is made (``signaling.ca``), every device gets
its own certificate from it (signed directly, not through enrolment codes, which are not
what is measured) and connects over wss:// with mutual TLS, verifying the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import multiprocessing.synchronize
import os
import platform
import random
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bilik.agent.settings import DeviceSettings  # noqa: E402
from bilik.tls import client_context  # noqa: E402
from signaling import ca, tokens  # noqa: E402
from signaling.protocol import Role  # noqa: E402

PHASE_TIMEOUT_S = 180.0  # any phase taking longer aborts the run
CONNECT_CONCURRENCY = 100  # handshakes in flight per worker
HEARTBEAT_S = 5.0  # the devices' and the server's WebSocket ping period
DRAIN_S = 2.0  # after the last send, time for in-flight relays to arrive


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def machine() -> dict[str, Any]:
    model = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "memory_mb": round(psutil.virtual_memory().total / 2**20),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- load generator (one process each) ---------------------------------------------------


class Fleet:
    """The devices of one worker process."""

    def __init__(self, url: str, devices: list[tuple[str, str, str]]) -> None:
        self.url = url
        self.devices = devices
        # --tls: a credential "tls:DIR" is the device's certificate and key in DIR.
        self.contexts = {d: _context(cred) for d, _r, cred in devices if cred.startswith("tls:")}
        self.ws: dict[str, Any] = {}
        self.peer: dict[str, tuple[str, str]] = {}  # device -> (peer, pairing)
        self.latencies: list[float] = []
        self.sent_at: list[float] = []  # monotonic send time of each received relay
        self.sent = 0
        self.errors: dict[str, int] = {}
        self.readers: list[asyncio.Task[None]] = []
        self.paired = asyncio.Event()

    async def connect(self, session: Any) -> None:
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def one(device_id: str, role: str, token: str) -> None:
            async with gate:
                context = self.contexts.get(device_id)
                ws = await session.ws_connect(self.url, heartbeat=HEARTBEAT_S,
                                              ssl=context if context is not None else True)
                token = "" if context is not None else token
                await ws.send_str(json.dumps({"v": 1, "type": "hello", "id": f"{device_id}-h",
                                              "token": token}))
                reply = json.loads((await ws.receive(timeout=PHASE_TIMEOUT_S)).data)
                if reply["type"] != "welcome":
                    raise RuntimeError(f"{device_id} refused: {reply}")
                self.ws[device_id] = ws
                # Read at once: a socket nobody reads answers no ping, and the server closes
                # it after one heartbeat. A connect phase longer than that (TLS handshakes on
                # a busy machine) would lose the first devices.
                self.readers.append(asyncio.get_running_loop().create_task(self.read(device_id)))

        await asyncio.gather(*(one(*d) for d in self.devices))

    async def read(self, device_id: str) -> None:
        ws = self.ws[device_id]
        async for raw in ws:
            msg = json.loads(raw.data)
            kind = msg["type"]
            if kind == "ice":
                sent_at = float(msg["candidate"].split()[1])
                self.latencies.append(time.monotonic() - sent_at)
                self.sent_at.append(sent_at)
            elif kind == "pair":
                peer = msg["hub"] if msg["booth"] == device_id else msg["booth"]
                self.peer[device_id] = (peer, msg["pairing"])
                if len(self.peer) == len(self.devices):
                    self.paired.set()
            elif kind == "error":
                self.errors[msg["code"]] = self.errors.get(msg["code"], 0) + 1

    async def announce(self, role: str, message: dict[str, Any]) -> None:
        for n, (device_id, r, _token) in enumerate(self.devices):
            if r == role:
                await self.ws[device_id].send_str(json.dumps({"v": 1, "id": f"{device_id}-a{n}",
                                                              **message}))

    async def relay(self, seconds: float, rate: float) -> None:
        period = 1.0 / rate
        end = time.monotonic() + seconds

        async def talk(device_id: str) -> None:
            peer, pairing = self.peer[device_id]
            ws = self.ws[device_id]
            await asyncio.sleep(random.random() * period)
            n = 0
            while time.monotonic() < end:
                n += 1
                await ws.send_str(json.dumps({
                    "v": 1, "type": "ice", "id": f"{device_id}-i{n}", "peer": peer,
                    "pairing": pairing, "candidate": f"bench {time.monotonic():.6f}",
                }))
                self.sent += 1
                await asyncio.sleep(period)

        await asyncio.gather(*(talk(d) for d in self.ws))

    async def close(self) -> None:
        await asyncio.gather(*(ws.close() for ws in self.ws.values()), return_exceptions=True)
        for task in self.readers:
            task.cancel()
        await asyncio.gather(*self.readers, return_exceptions=True)


async def _work(url: str, devices: list[tuple[str, str, str]],
                barrier: multiprocessing.synchronize.Barrier, seconds: float, rate: float
                ) -> dict[str, Any]:
    import aiohttp

    loop = asyncio.get_running_loop()

    async def sync() -> None:
        await loop.run_in_executor(None, barrier.wait, PHASE_TIMEOUT_S)

    fleet = Fleet(url, devices)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        try:
            await sync()  # 0: everyone ready
            started = time.monotonic()
            await fleet.connect(session)
            connect_s = time.monotonic() - started
            await sync()  # 1: all connected
            await fleet.announce("hub", {"type": "capacity", "slots": 1})
            await sync()  # 2: hubs announced
            await fleet.announce("booth", {"type": "service_request"})
            try:
                await asyncio.wait_for(fleet.paired.wait(), PHASE_TIMEOUT_S)
            except TimeoutError:
                raise RuntimeError(
                    f"pairing timed out: {len(fleet.peer)} of {len(fleet.devices)} devices "
                    f"paired; errors {fleet.errors}") from None
            await sync()  # 3: all paired
            await fleet.relay(seconds, rate)
            await asyncio.sleep(DRAIN_S)
            await sync()  # 4: relay over
        finally:
            await fleet.close()
    return {"connect_s": connect_s, "latencies": fleet.latencies, "sent_at": fleet.sent_at,
            "sent": fleet.sent, "errors": fleet.errors}


def worker(url: str, devices: list[tuple[str, str, str]],
           barrier: multiprocessing.synchronize.Barrier, seconds: float, rate: float,
           out: Any) -> None:
    raise_fd_limit()
    try:
        out.send(asyncio.run(_work(url, devices, barrier, seconds, rate)))
    except BaseException as exc:  # report, never hang the parent
        barrier.abort()
        out.send({"error": repr(exc)})


# --- orchestration -----------------------------------------------------------------------


def _context(cred: str) -> Any:
    home = Path(cred[len("tls:"):])
    return client_context(DeviceSettings(ca_file=home.parent / "ca.pem",
                                      cert_file=home / "device.pem", key_file=home / "device.key"))


def _certificates(data: Path, root: Path, devices: list[tuple[str, str]]
                  ) -> list[tuple[str, str, str]]:
    """--tls: the branch CA, and a certificate for every device (mutual TLS)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    files = ca.CaFiles.of(data)
    ca.init(files, branch="bench", names=list(ca.DEFAULT_NAMES))
    homes = root / "devices"
    homes.mkdir(parents=True, exist_ok=True)
    (homes / "ca.pem").write_bytes(files.ca_cert.read_bytes())
    now = datetime.datetime.now(datetime.UTC)
    creds = []
    for device, role in devices:
        key = ec.generate_private_key(ec.SECP256R1())
        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, device)]))
               .sign(key, hashes.SHA256()))
        pem, _identity = ca.sign_device(files, csr.public_bytes(serialization.Encoding.PEM),
                                        device, Role(role), now)
        home = homes / device
        ca.write_private(home / "device.key", key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        (home / "device.pem").write_bytes(pem)
        creds.append((device, role, f"tls:{home}"))
    return creds


def _health(tls: bool, root: Path, port: int, *, timeout: float) -> Any:
    """``/healthz`` of the server (https:// verified against the branch CA with --tls)."""
    if not tls:
        return urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=timeout)
    import ssl

    context = ssl.create_default_context(cafile=str(root / "devices" / "ca.pem"))
    return urllib.request.urlopen(f"https://127.0.0.1:{port}/healthz", timeout=timeout,
                                  context=context)


def run(n_devices: int, n_workers: int, seconds: float, rate: float, root: Path,
        profile: Path | None = None, tls: bool = False) -> dict[str, Any]:
    fd_limit = raise_fd_limit()
    if fd_limit < n_devices + 100:
        raise SystemExit(f"bench/signaling.py: open-file limit {fd_limit} is too low "
                         f"for {n_devices} devices")
    data = root / "server"
    secret = tokens.load_or_create_secret(data)
    now = time.time()
    pairs = n_devices // 2
    devices = [(f"hub-{i:05d}", "hub") for i in range(pairs)] + [
        (f"booth-{i:05d}", "booth") for i in range(pairs)]
    if tls:
        creds = _certificates(data, root, devices)
    else:
        creds = [(d, r, tokens.issue(secret, d, r, now=now, ttl_s=3600)) for d, r in devices]
    random.Random(1).shuffle(creds)
    shares = [creds[i::n_workers] for i in range(n_workers)]

    port = free_port()
    # Every device is on 127.0.0.1 here, unlike a branch LAN: lift the per-address limit.
    env = {**{k: v for k, v in os.environ.items() if not k.endswith("INSECURE_PLAINTEXT")},
           "BILIK_SERVER_INSECURE_PLAINTEXT": "false" if tls else "true",
           "BILIK_SERVER_HEARTBEAT_S": str(HEARTBEAT_S),
           "BILIK_SERVER_RESUME_WINDOW_S": "60",
           "BILIK_SERVER_MAX_CONNECTIONS_PER_ADDRESS": str(2 * n_devices + 100)}
    log = open(root / "server.log", "wb")  # noqa: SIM115 - owned by the server process
    profiler = ["-m", "cProfile", "-o", str(profile)] if profile else []
    server = subprocess.Popen(
        [sys.executable, *profiler, "-m", "bilik.cli", "--log-level", "warning", "server",
         "--data-dir", str(data), "--port", str(port)],
        stdout=log, stderr=log, env=env, cwd=ROOT,
    )
    log.close()
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(n_workers + 1)
    procs: list[Any] = []
    pipes = []
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with _health(tls, root, port, timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("bench/signaling.py: the server did not start: "
                                     + (root / "server.log").read_text()[-2000:]) from None
                time.sleep(0.2)
        ps = psutil.Process(server.pid)
        url = f"{'wss' if tls else 'ws'}://127.0.0.1:{port}/ws"
        for share in shares:
            recv, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=worker, args=(url, share, barrier, seconds, rate, send),
                               name="bench-load")
            proc.start()
            procs.append(proc)
            pipes.append(recv)
        barrier.wait(PHASE_TIMEOUT_S)  # 0
        t0 = time.monotonic()
        barrier.wait(PHASE_TIMEOUT_S)  # 1
        connect_s = time.monotonic() - t0
        with _health(tls, root, port, timeout=10) as r:
            health = json.loads(r.read())
        rss_connected = ps.memory_info().rss
        barrier.wait(PHASE_TIMEOUT_S)  # 2
        t1 = time.monotonic()
        barrier.wait(PHASE_TIMEOUT_S)  # 3
        pairing_s = time.monotonic() - t1
        with _health(tls, root, port, timeout=10) as r:
            paired_health = json.loads(r.read())
        cpu0, w0 = ps.cpu_times(), time.monotonic()
        load_cpu0 = sum(sum(psutil.Process(p.pid).cpu_times()[:2]) for p in procs)
        barrier.wait(PHASE_TIMEOUT_S + seconds)  # 4
        cpu1, w1 = ps.cpu_times(), time.monotonic()
        load_cpu1 = sum(sum(psutil.Process(p.pid).cpu_times()[:2]) for p in procs)
        rss_end = ps.memory_info().rss
        results = [pipe.recv() for pipe in pipes]
    except BaseException:
        barrier.abort()
        reports = [pipe.recv() for pipe in pipes if pipe.poll(10)]
        crashed = [r["error"] for r in reports if "error" in r]
        try:
            with _health(tls, root, port, timeout=10) as r:
                crashed.append(f"server: {json.loads(r.read())}")
        except OSError as exc:
            crashed.append(f"server /healthz: {exc}")
        if crashed:
            raise SystemExit(f"bench/signaling.py: a load generator failed: {crashed}") from None
        raise
    finally:
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
                proc.join()
        # SIGINT lets cProfile write its file; the server shuts down cleanly either way.
        server.send_signal(signal.SIGINT if profile else signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    failed = [r["error"] for r in results if "error" in r]
    if failed:
        raise SystemExit(f"bench/signaling.py: a load generator failed: {failed}")
    latencies = [x * 1000 for r in results for x in r["latencies"]]
    timeline = per_second_p99(
        [t for r in results for t in r["sent_at"]], latencies)
    sent = sum(r["sent"] for r in results)
    errors: dict[str, int] = {}
    for r in results:
        for code, count in r["errors"].items():
            errors[code] = errors.get(code, 0) + count
    relay_wall = w1 - w0
    return {
        "devices": len(creds),
        "booths": pairs,
        "hubs": pairs,
        "workers": n_workers,
        "connected_at_server": health["devices"],
        "pairings_at_server": paired_health["pairings"],
        "connect_s": round(connect_s, 2),
        "connect_per_s": round(len(creds) / connect_s, 1),
        "pairing_s": round(pairing_s, 2),
        "relay": {
            "seconds": seconds,
            "rate_per_device_hz": rate,
            "sent": sent,
            "received": len(latencies),
            "lost": sent - len(latencies),
            "messages_per_s": round(len(latencies) / seconds, 1),
            "latency_ms": {
                "p50": round(percentile(latencies, 0.50), 2),
                "p90": round(percentile(latencies, 0.90), 2),
                "p99": round(percentile(latencies, 0.99), 2),
                "max": round(max(latencies, default=float("nan")), 2),
                "mean": round(statistics.fmean(latencies), 2) if latencies else None,
            },
            "errors": errors,
            # p99 of the messages sent in each second of the relay phase: shows whether slow
            # relays cluster (a backlog at the start) or are spread out.
            "p99_ms_by_second": timeline,
        },
        "server": {
            "pid": server.pid,
            "cpu_cores_during_relay": round(
                (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / relay_wall, 3),
            "rss_mb_connected": round(rss_connected / 2**20, 1),
            "rss_mb_end": round(rss_end / 2**20, 1),
        },
        "load_generators_cpu_cores_during_relay": round((load_cpu1 - load_cpu0) / relay_wall, 3),
        "tls": tls,
        "targets": {"devices": 2000, "relay_p99_ms": 20.0 if tls else 5.0},
        "machine": machine(),
    }


def per_second_p99(sent_at: list[float], latencies_ms: list[float]) -> list[float]:
    if not sent_at:
        return []
    start = min(sent_at)
    buckets: dict[int, list[float]] = {}
    for t, ms in zip(sent_at, latencies_ms, strict=True):
        buckets.setdefault(int(t - start), []).append(ms)
    return [round(percentile(buckets[s], 0.99), 1) if s in buckets else 0.0
            for s in range(max(buckets) + 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=2000,
                        help="devices to connect, half booths and half hubs (default 2000)")
    parser.add_argument("--workers", type=int, default=2,
                        help="load-generator processes (default 2)")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="relay phase length (default 10)")
    parser.add_argument("--rate", type=float, default=1.0,
                        help="Ice messages a second each device sends its peer (default 1)")
    parser.add_argument("--tls", action="store_true",
                        help="as on a branch: wss:// with mutual TLS against a branch CA")
    parser.add_argument("--keep", type=Path, help="keep the data dir and server log here")
    parser.add_argument("--profile", type=Path,
                        help="run the server under cProfile and write its stats here")
    args = parser.parse_args()
    if args.devices < 2 or args.workers < 1 or args.seconds <= 0 or args.rate <= 0:
        parser.error("need --devices >= 2, --workers >= 1, --seconds > 0, --rate > 0")
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        result = run(args.devices, args.workers, args.seconds, args.rate, args.keep,
                     args.profile, tls=args.tls)
    else:
        with tempfile.TemporaryDirectory(prefix="bilik-bench-signaling-") as tmp:
            result = run(args.devices, args.workers, args.seconds, args.rate, Path(tmp),
                         args.profile, tls=args.tls)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
