"""The signaling client booth agents and hubs use, against a real branch server."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest

from bilik.backoff import Backoff
from signaling import protocol as p
from signaling.client import (
    ClientError,
    ClientState,
    NotConnected,
    Refused,
    RequestFailed,
    SignalingClient,
)
from tests.signaling.conftest import Branch, BranchFactory, wait_until


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Recorder:
    def __init__(self) -> None:
        self.messages: list[p.Message] = []
        self.states: list[ClientState] = []

    async def on_message(self, msg: p.Message) -> None:
        self.messages.append(msg)

    def on_state(self, state: ClientState) -> None:
        self.states.append(state)

    def of(self, cls: type[p.Message]) -> list[p.Message]:
        return [m for m in self.messages if isinstance(m, cls)]


@pytest.fixture
async def clients() -> AsyncIterator[list[SignalingClient]]:
    made: list[SignalingClient] = []
    yield made
    for client in made:
        await client.close()


def _client(branch: Branch, clients: list[SignalingClient], role: str, device: str,
            rec: Recorder, token: str | None = None) -> SignalingClient:
    client = SignalingClient(
        branch.ws_url, token or branch.token(role, device), on_message=rec.on_message,
        on_state=rec.on_state, software="test", backoff=Backoff(0.05, 0.2), heartbeat_s=1.0,
    )
    clients.append(client)
    return client


async def test_client_connects_requests_and_gets_pushed_messages(
    branch: Branch, clients: list[SignalingClient]
) -> None:
    hub_rec, booth_rec = Recorder(), Recorder()
    hub = _client(branch, clients, "hub", "hub-01", hub_rec)
    booth = _client(branch, clients, "booth", "booth-01", booth_rec)
    await hub.start()
    await booth.start()
    welcome = await hub.wait_connected(10)
    assert (welcome.device_id, welcome.role, welcome.resumed) == ("hub-01", "hub", False)
    await booth.wait_connected(10)
    assert isinstance(await hub.request(p.Capacity(slots=1)), p.Ok)
    assert isinstance(await booth.request(p.ServiceRequest()), p.Ok)
    await wait_until(lambda: booth_rec.of(p.Pair) and hub_rec.of(p.Pair), "pair on both")
    assert hub_rec.states[:2] == [ClientState.CONNECTING, ClientState.CONNECTED]


async def test_request_raises_request_failed_on_an_error_reply(
    branch: Branch, clients: list[SignalingClient]
) -> None:
    booth = _client(branch, clients, "booth", "booth-01", Recorder())
    await booth.start()
    await booth.wait_connected(10)
    with pytest.raises(RequestFailed) as info:
        await booth.request(p.Capacity(slots=3))
    assert info.value.code == "forbidden"
    assert info.value.detail == "a booth may not send 'capacity'"
    with pytest.raises(RequestFailed) as info:
        await booth.request(p.Release(pairing="p-nothing"))
    assert info.value.code == "not_paired"
    assert booth.connected  # an error reply does not cost the connection


@pytest.mark.parametrize("kind", ["expired", "wrong-role", "forged"])
async def test_rejected_token_stops_the_client_with_the_reason(
    branch: Branch, clients: list[SignalingClient], kind: str
) -> None:
    from signaling import tokens

    if kind == "expired":
        token = branch.token("booth", "booth-01", now=branch.server.clock() - 7200, ttl_s=60)
    elif kind == "wrong-role":
        token = branch.token("admin", "ops-1")
    else:
        token = tokens.issue(b"\x01" * 32, "booth-01", "booth", now=branch.server.clock(),
                             ttl_s=60)
    rec = Recorder()
    client = _client(branch, clients, "booth", "booth-01", rec, token=token)
    await client.start()
    with pytest.raises(ClientError, match="refused this device"):
        await client.wait_connected(10)
    assert client.state is ClientState.REJECTED
    expected = {"expired": "expired", "wrong-role": "may not connect as a device",
                "forged": "signature does not match"}[kind]
    assert expected in client.rejected_reason
    assert client.connects == 0
    assert rec.states.count(ClientState.CONNECTING) == 1  # not retried
    with pytest.raises(NotConnected):
        await client.send(p.Status(state="idle"))


@pytest.mark.parametrize(("device_id", "role", "why"), [
    ("booth-02", p.Role.BOOTH, "the token is for device 'booth-01', but this booth is "
                               "configured as 'booth-02'"),
    ("booth-01", p.Role.KIOSK, "the token is for a booth, not a kiosk"),
])
async def test_a_token_naming_another_device_stops_the_client(
    branch: Branch, clients: list[SignalingClient], device_id: str, role: p.Role, why: str
) -> None:
    """The identity check of every agent (booth, hub, kiosk, display), once in the client:
    a device must not serve as another, so the client stops, says why and does not retry."""
    rec = Recorder()
    client = SignalingClient(
        branch.ws_url, branch.token("booth", "booth-01"), on_state=rec.on_state,
        device_id=device_id, role=role, backoff=Backoff(0.05, 0.2),
    )
    clients.append(client)
    await client.start()
    with pytest.raises(Refused) as refused:
        await client.wait_connected(10)
    assert str(refused.value) == why == client.rejected_reason
    assert client.state is ClientState.REJECTED and not client.connected
    assert rec.states.count(ClientState.CONNECTING) == 1  # not retried
    with pytest.raises(NotConnected):
        await client.send(p.Status(state="idle"))


async def test_a_token_naming_this_device_connects(
    branch: Branch, clients: list[SignalingClient]
) -> None:
    client = SignalingClient(branch.ws_url, branch.token("hub", "hub-01"), device_id="hub-01",
                             role=p.Role.HUB)
    clients.append(client)
    await client.start()
    assert (await client.wait_connected(10)).device_id == "hub-01"


async def test_client_reconnects_after_a_server_restart_and_resumes(
    start_branch: BranchFactory, clients: list[SignalingClient]
) -> None:
    port = _free_port()
    first = await start_branch(port=port, resume_window_s=60.0)
    hub_rec, booth_rec = Recorder(), Recorder()
    hub = _client(first, clients, "hub", "hub-01", hub_rec)
    booth = _client(first, clients, "booth", "booth-01", booth_rec)
    await hub.start()
    await booth.start()
    await hub.wait_connected(10)
    await booth.wait_connected(10)
    await hub.request(p.Capacity(slots=1))
    await booth.request(p.ServiceRequest())
    await wait_until(lambda: booth_rec.of(p.Pair), "pair")
    pairing = booth_rec.of(p.Pair)[0]

    await first.stop()
    await wait_until(lambda: booth.state in (ClientState.BACKOFF, ClientState.CONNECTING),
                     "the client noticing")
    assert not booth.connected
    second = await start_branch(port=port, resume_window_s=60.0)
    welcome = await booth.wait_connected(20)
    await hub.wait_connected(20)
    assert welcome.resumed is True
    assert booth.connects == 2
    assert ClientState.BACKOFF in booth_rec.states
    await wait_until(lambda: len(booth_rec.of(p.Pair)) >= 2, "pair again after restart")
    again = booth_rec.of(p.Pair)[-1]
    assert isinstance(again, p.Pair) and isinstance(pairing, p.Pair)
    assert again.pairing == pairing.pairing
    # The relay works again through the new server process.
    await booth.send(p.Ice(peer="hub-01", pairing=pairing.pairing, candidate=""))
    await wait_until(lambda: hub_rec.of(p.Ice), "ice at the hub")
    assert second.server.health()["pairings"] == 1


async def test_request_while_disconnected_raises_not_connected() -> None:
    client = SignalingClient(f"ws://127.0.0.1:{_free_port()}/ws", "bk1.x.y",
                             backoff=Backoff(0.05, 0.2))
    with pytest.raises(NotConnected):
        await client.request(p.Status(state="idle"), timeout=1)
    await client.start()
    with pytest.raises(NotConnected):
        await client.wait_connected(0.3)
    await client.close()
    assert client.state is ClientState.CLOSED


async def test_a_typed_reply_answers_a_request_and_an_error_keeps_its_text_key(
    start_branch: BranchFactory,
) -> None:
    branch = await start_branch()
    hub = await branch.connect("hub-01", "hub")
    assert (await hub.request({"type": "capacity", "slots": 6}))["type"] == "ok"
    kiosk = SignalingClient(branch.ws_url, branch.token("kiosk", "kiosk-01"))
    await kiosk.start()
    try:
        await kiosk.wait_connected(10)
        info = await kiosk.request(p.TicketRequest(service="jht"))
        assert isinstance(info, p.TicketInfo) and info.number == "A001"
        with pytest.raises(RequestFailed) as refused:
            await kiosk.request(p.TicketRequest(service="nope"))
        assert refused.value.code == "unknown_service"
        assert refused.value.text_key == "queue.unknown_service"
    finally:
        await kiosk.close()
