"""A real branch server (in this process, on a real socket) that decides claims, for the
store-and-forward tests."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import aiohttp

from bilik.evidence import keys
from signaling.config import ServerConfig
from tests.signaling.conftest import Branch, Device


async def start_branch(http: aiohttp.ClientSession, data_dir: Path, **settings: Any) -> Branch:
    settings.setdefault("port", 0)
    config = dataclasses.replace(ServerConfig(), data_dir=data_dir, **settings)
    return await Branch(config, http).start()


def branch_key_pem(data_dir: Path) -> bytes:
    """The branch's public key (made now if the server has not started yet: the same file)."""
    return keys.public_pem(keys.load_or_create(data_dir)).encode()


class Desk:
    """A hub with a signed-in officer that decides one claim per booth it is paired with."""

    def __init__(self, branch: Branch) -> None:
        self.branch = branch
        self.hub: Device | None = None
        self.booths = 0

    async def open(self) -> Desk:
        admin = self.branch.token("admin", "ops-1")
        async with self.branch.http.post(
                self.branch.url("/api/cases/officers"), json={"id": "officer-1", "pin": "2468"},
                headers={"Authorization": f"Bearer {admin}"}) as reply:
            assert reply.status == 201, await reply.text()
        self.hub = await self.branch.connect("hub-01", "hub")
        assert (await self.hub.request({"type": "capacity", "slots": 6}))["type"] == "ok"
        signed = await self.hub.request({"type": "officer_sign_in", "officer": "officer-1",
                                         "pin": "2468"})
        assert signed["type"] == "ok", signed
        return self

    async def decide(self, outcome: str = "referred") -> str:
        """Pair a new booth, decide its claim; the claim reference."""
        assert self.hub is not None
        self.booths += 1
        booth_id = f"booth-{self.booths:02d}"
        booth = await self.branch.connect(booth_id, "booth")
        assert (await booth.request({"type": "service_request"}))["type"] == "ok"
        pairing = (await booth.expect("pair"))["pairing"]
        await self.hub.expect("pair", booth=booth_id)
        sent = await self.hub.send({"type": "decision", "booth": booth_id,
                                    "ticket": f"pairing:{pairing}", "outcome": outcome})
        verdict = await self.hub.expect("verdict", ref=sent)
        return str(verdict["reference"])
