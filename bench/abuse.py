"""The project's own load-and-abuse run of the branch server, on loopback, bounded in time.

    .venv/bin/python bench/abuse.py [--churn 500] [--churn-rounds 2] [--churn-seconds 10]
                                    [--kills 5] [--budget-s 600]

Starts ``bilik server`` as a separate process on an ephemeral 127.0.0.1 port (default
settings, except enough connections per address for the churn), seats a participant (hub
with a signed-in officer, kiosk ticket, booth claim) next to a bystander booth, then:

1. **messages**: every message type each role may send, each field in turn hostile (the
   generator of tests/signaling/test_fuzz_roles.py), over authenticated sockets; per
   type: tried, accepted, refused, unanswered; connections the server closed, by code
   (too many malformed messages is 1008 by design: the device reconnects and goes on);
2. **http**: every route x credential x hostile body (tests/signaling/test_fuzz_http.py);
   statuses by class, and any 5xx;
3. **kills**: ``kill -9`` at random moments of a resumable upload, ``--kills`` times;
   bytes acknowledged then missing after the restart, and any 500 afterwards;
4. **churn**: ``--churn`` concurrent loops of connect, hello, status, close for
   ``--churn-seconds``, ``--churn-rounds`` times; the server's RSS before, after each
   round and once everyone left; status replies slower than 10 s.

Crashes are the server process dying on its own or logging a failure. State changes are
differences in what the server holds for the bystander booth (its device row and its
standing in the queue: label, faults) before and after the abuse. Relayed messages (SDP,
ICE, hands, seats) are not answered when they are delivered: they count as unanswered.
Prints one JSON object with the machine. Every phase has a deadline; the run kills what it started.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import random
import re
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import psutil

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.signaling import machine
from signaling import tokens
from signaling.protocol import Role
from tests.signaling.conftest import Device
from tests.signaling.serverprocess import ServerProcess
from tests.signaling.test_fuzz_http import BODIES
from tests.signaling.test_fuzz_roles import messages_for

REPLY_S = 10.0
SLOW_REPLY_S = 10.0
CHUNK = 64 * 1024


class Server(ServerProcess):
    """``bilik server`` in a subprocess on loopback (tests/signaling/serverprocess.py), with
    room for every connection of the run from one address and its memory in MB."""

    def __init__(self, data: Path) -> None:
        super().__init__(data, env={"BILIK_SERVER_MAX_CONNECTIONS_PER_ADDRESS": "100000",
                                    "BILIK_SERVER_RESUME_WINDOW_S": "300",
                                    # development switch, for now (docs/security.md)
                                    "BILIK_SERVER_INSECURE_PLAINTEXT": "true"})
        tokens.load_or_create_secret(data)

    def rss_mb(self) -> float:
        assert self.proc is not None
        return round(psutil.Process(self.proc.pid).memory_info().rss / 2**20, 1)


async def connect(http: aiohttp.ClientSession, server: Server, role: str, device_id: str
                  ) -> Device:
    ws = await http.ws_connect(f"ws://127.0.0.1:{server.port}/ws", autoping=False)
    device = Device(ws, device_id)
    await device.send({"type": "hello", "token": server.token(role, device_id)})
    welcome = await device.recv()
    if welcome["type"] != "welcome":
        raise RuntimeError(f"{device_id} not welcomed: {welcome}")
    return device


async def seat(http: aiohttp.ClientSession, server: Server) -> tuple[dict[str, Device],
                                                                       dict[str, str]]:
    admin = {"Authorization": f"Bearer {server.token('admin', 'ops-1')}"}
    async with http.post(server.url("/api/cases/officers"), headers=admin,
                         json={"id": "officer-1", "pin": "2468"}) as reply:
        assert reply.status == 201, await reply.text()
    hub = await connect(http, server, "hub", "hub-01")
    await hub.request({"type": "capacity", "slots": 6})
    await hub.request({"type": "officer_sign_in", "officer": "officer-1", "pin": "2468"})
    kiosk = await connect(http, server, "kiosk", "kiosk-01")
    display = await connect(http, server, "display", "display-01")
    booth = await connect(http, server, "booth", "booth-01")
    sent = await kiosk.send({"type": "ticket_request", "service": "jht", "priority": "none"})
    info = await kiosk.expect("ticket_info", ref=sent)
    await booth.expect("called", number=info["number"])
    await booth.request({"type": "claim", "qr": info["qr"]})
    pair = await booth.expect("pair")
    known = {"booth": "booth-01", "hub": "hub-01", "peer": "hub-01", "pairing": pair["pairing"],
             "ticket": info["ticket"], "qr": info["qr"], "service": "jht",
             "officer": "officer-1", "to_hub": "hub-01"}
    return {"hub": hub, "kiosk": kiosk, "display": display, "booth": booth}, known


async def bystander_view(http: aiohttp.ClientSession, server: Server) -> dict[str, Any]:
    admin = {"Authorization": f"Bearer {server.token('admin', 'ops-1')}"}
    async with http.get(server.url("/api/queue"), headers=admin) as reply:
        queue = await reply.json()
    async with http.get(server.url("/api/devices"), headers=admin) as reply:
        devices = (await reply.json())["devices"]
    row: dict[str, Any] = next((d for d in devices if d["id"] == "booth-99"), {})
    booth = queue["booths"].get("booth-99") or {}
    # Being called for a ticket the kiosk fuzz issued is the queue working, not a change.
    return {"queue": {k: booth.get(k) for k in ("label", "faulty", "fault", "held")},
            "device": {k: row.get(k) for k in ("role", "state", "health", "connected")}}


async def messages_phase(http: aiohttp.ClientSession, server: Server) -> dict[str, Any]:
    devices, known = await seat(http, server)
    bystander = await connect(http, server, "booth", "booth-99")
    await bystander.request({"type": "status", "state": "idle", "health": {"camera": "ok"}})
    before = await bystander_view(http, server)
    per_type: dict[str, Counter[str]] = {}
    killed: Counter[str] = Counter()
    for role in (Role.BOOTH, Role.HUB, Role.KIOSK, Role.DISPLAY):
        device = devices[role.value]
        role_known = {**known, "peer": "booth-01"} if role is Role.HUB else known
        for msg in messages_for(role, role_known):
            if msg["type"] == "release" or (msg["type"] == "park" and role is Role.HUB):
                continue  # they would end the session the rest is fuzzed in
            counts = per_type.setdefault(msg["type"], Counter())
            counts["tried"] += 1
            try:
                sent = await device.send(msg)
                outcome = "unanswered"
                probe = await device.send({"type": "status", "state": "idle"})
                while True:
                    reply = await device.recv()
                    if reply.get("ref") == sent:
                        outcome = "accepted" if reply["type"] != "error" else "refused"
                    elif reply.get("ref") == probe:
                        break
                counts[outcome] += 1
            except (AssertionError, ConnectionError, aiohttp.ClientError):
                code = device.close_code or device.ws.close_code
                killed[str(code)] += 1
                counts["closed"] += 1
                await device.stop_reading()
                device = devices[role.value] = await connect(http, server, role.value,
                                                             device.device_id)
    after = await bystander_view(http, server)
    for device in [*devices.values(), bystander]:
        await device.close()
    totals: Counter[str] = Counter()
    for counts in per_type.values():
        totals.update(counts)
    return {"per_type": {k: dict(v) for k, v in sorted(per_type.items())},
            "totals": dict(totals), "connections_closed_by_server": dict(killed),
            "bystander_state_changes": sum(before[k] != after[k] for k in before),
            "bystander_before": before, "bystander_after": after}


async def http_phase(http: aiohttp.ClientSession, server: Server) -> dict[str, Any]:
    routes = ["/healthz", "/metrics", "/api/devices", "/api/pairings", "/api/audit",
              "/api/tokens", "/api/queue", "/api/stats", "/api/queue/appointments",
              "/api/cases/officers", "/api/cases/hub", "/api/cases/sign-out", "/api/documents",
              "/api/documents/uploads/u-0123456789abcdef0123",
              "/api/documents/d-0123456789abcdef", "/api/pairings/p-1/release"]
    creds = [None, "bk1.x.y", server.token("admin", "ops-1"), server.token("booth", "booth-01"),
             server.token("hub", "hub-01")]
    statuses: Counter[str] = Counter()
    server_errors = []
    for path in routes:
        for method in ("GET", "POST", "PUT", "HEAD", "DELETE"):
            for cred in creds:
                for ctype, body in BODIES:
                    headers = {"Content-Type": ctype}
                    if cred:
                        headers["Authorization"] = f"Bearer {cred}"
                    async with http.request(method, server.url(path) + "?offset=0&ticket=x",
                                            data=body, headers=headers) as reply:
                        statuses[f"{reply.status // 100}xx"] += 1
                        if reply.status >= 500:
                            server_errors.append(f"{method} {path} {ctype} -> {reply.status}")
    return {"requests": sum(statuses.values()), "by_class": dict(statuses),
            "server_errors": server_errors[:20]}


async def kills_phase(http: aiohttp.ClientSession, server: Server, kills: int,
                      rng: random.Random) -> dict[str, Any]:
    # A session of its own: the message phase may have ended the seated one.
    hub = await connect(http, server, "hub", "hub-77")
    await hub.request({"type": "capacity", "slots": 1})
    booth = await connect(http, server, "booth", "booth-77")
    await booth.request({"type": "service_request"})
    await booth.expect("pair")
    await booth.close()
    await hub.close()
    document = b"\xff\xd8\xff\xe0" + rng.randbytes(24 * CHUNK)
    sha = hashlib.sha256(document).hexdigest()
    auth = {"Authorization": f"Bearer {server.token('booth', 'booth-77')}"}
    async with http.post(server.url("/api/documents"), headers=auth,
                         json={"kind": "ktp", "size": len(document), "sha256": sha}) as r:
        upload = (await r.json())["upload"]
    progress = {"acked": 0}
    lost, after_errors = 0, 0
    status_url = server.url(f"/api/documents/uploads/{upload}")
    for _ in range(kills):
        task = asyncio.create_task(_upload(http, status_url, auth, document, progress))
        await asyncio.sleep(rng.uniform(0.0, 0.3))  # the random moment of the kill
        server.kill9()
        with contextlib.suppress(Exception):
            await task
        server.start()
        async with http.get(status_url, headers=auth) as r:
            if r.status >= 500:
                after_errors += 1
                continue
            offset = int((await r.json())["offset"])
        lost += max(0, progress["acked"] - offset)
    final = await _upload(http, status_url, auth, document, progress)
    return {"kills": kills, "bytes_acknowledged": progress["acked"],
            "bytes_lost_after_kills": lost, "server_errors_after_restart": after_errors,
            "finished": final == len(document)}


async def _upload(http: aiohttp.ClientSession, status_url: str, auth: dict[str, str],
                  document: bytes, progress: dict[str, int]) -> int:
    """Send the rest of the document a chunk at a time; ``progress`` keeps what was acked."""
    while True:
        async with http.get(status_url, headers=auth) as r:
            offset = int((await r.json())["offset"])
        if offset >= len(document):
            return offset
        async with http.put(f"{status_url}?offset={offset}", headers=auth,
                            data=document[offset:offset + CHUNK]) as r:
            if r.status >= 500:
                raise RuntimeError(f"PUT answered {r.status}")
            progress["acked"] = max(progress["acked"], int((await r.json())["offset"]))
        if progress["acked"] >= len(document):
            return progress["acked"]


async def churn_phase(server: Server, n: int, rounds: int, seconds: float) -> dict[str, Any]:
    roles = ("booth", "hub", "kiosk", "display")
    creds = {i: (roles[i % 4], f"{roles[i % 4]}-c{i:04d}") for i in range(n)}
    toks = {i: server.token(*creds[i]) for i in range(n)}
    url = f"ws://127.0.0.1:{server.port}/ws"
    out: dict[str, Any] = {"connections": n, "rss_mb_before": server.rss_mb(), "rounds": []}
    for _ in range(rounds):
        stats: Counter[str] = Counter()
        slowest = 0.0
        end = time.monotonic() + seconds
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            async def loop(i: int, end: float = end, stats: Counter[str] = stats) -> None:
                nonlocal slowest
                while time.monotonic() < end:
                    try:
                        async with http.ws_connect(url) as ws:
                            await ws.send_json({"v": 1, "type": "hello", "id": "h",
                                                "token": toks[i]})
                            await ws.receive(timeout=60)
                            asked = time.monotonic()
                            await ws.send_json({"v": 1, "type": "status", "id": "s",
                                                "state": "idle"})
                            while True:
                                msg = await ws.receive(timeout=60)
                                if msg.type is not aiohttp.WSMsgType.TEXT or json.loads(
                                        msg.data).get("ref") == "s":
                                    break
                            took = time.monotonic() - asked
                            slowest = max(slowest, took)
                            stats["slow_replies" if took > SLOW_REPLY_S else "replies"] += 1
                    except (aiohttp.ClientError, TimeoutError, ConnectionError):
                        stats["failed"] += 1

            await asyncio.gather(*(loop(i) for i in range(n)))
        out["rounds"].append({**stats, "slowest_reply_s": round(slowest, 2),
                              "rss_mb_after": server.rss_mb()})
    out["rss_mb_after_all_left"] = server.rss_mb()
    out["healthz_after"] = await asyncio.to_thread(_get_json, server.url("/healthz"))
    return out


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as reply:
        return json.loads(reply.read())


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="bilik-abuse-") as tmp:
        server = Server(Path(tmp) / "server")
        server.start()
        result: dict[str, Any] = {"benchmark": "abuse", "machine": machine()}
        try:
            async with asyncio.timeout(args.budget_s), aiohttp.ClientSession() as http:
                result["messages"] = await messages_phase(http, server)
                result["http"] = await http_phase(http, server)
                result["kills"] = await kills_phase(http, server, args.kills, rng)
                died_before_churn = not server.alive()
                result["churn"] = await churn_phase(server, args.churn, args.churn_rounds,
                                                    args.churn_seconds)
                result["crashes"] = {"server_died_on_its_own": died_before_churn
                                     or not server.alive(),
                                     "failures_logged": server.failures_logged()}
        finally:
            server.stop()
            log = server.log.read_text(errors="replace")
            result["log_lines"] = log.count("\n")
            result["log_refusal_lines"] = len(re.findall("refusing new connections", log))
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--churn", type=int, default=500, help="concurrent churning devices")
    parser.add_argument("--churn-rounds", type=int, default=2)
    parser.add_argument("--churn-seconds", type=float, default=10.0)
    parser.add_argument("--kills", type=int, default=5, help="kill -9 during an upload")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--budget-s", type=float, default=600.0, help="the whole run's limit")
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(run(args)), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
