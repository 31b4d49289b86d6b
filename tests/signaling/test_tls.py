"""TLS on the branch network, enrolment and revocation, over real TLS on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import stat
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bilik.agent.settings import DeviceSettings
from bilik.tls import client_context
from signaling import ca, limits
from signaling.client import ClientState, SignalingClient
from signaling.errors import EnrolmentRefused
from tests.signaling.conftest import wait_until
from tests.signaling.tlsbranch import TlsBranch


@pytest.fixture
async def tls_branch(tmp_path: Path) -> AsyncIterator[TlsBranch]:
    branch = await TlsBranch(tmp_path).start()
    try:
        yield branch
    finally:
        await branch.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_ca_init_writes_private_keys_owner_only_and_names_the_server(
        tls_branch: TlsBranch) -> None:
    files = tls_branch.files
    assert _mode(files.ca_key) == 0o600 and _mode(files.server_key) == 0o600
    assert _mode(files.directory) == 0o700
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    assert [str(a) for a in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    with pytest.raises(Exception, match="exists already"):
        ca.init(files, branch="kc-01", names=["127.0.0.1"])


async def test_a_plain_client_is_refused_with_a_clear_error(
        tls_branch: TlsBranch, http: aiohttp.ClientSession) -> None:
    async with http.get(f"http://127.0.0.1:{tls_branch.port}/healthz") as response:
        assert response.status == 400
        assert "TLS only" in await response.text()
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await http.ws_connect(f"ws://127.0.0.1:{tls_branch.port}/ws")
    assert caught.value.status == 400
    # The same port serves a verified TLS client.
    async with http.get(tls_branch.url("/healthz"),
                        ssl=client_context(tls_branch.settings("x"))) as response:
        assert response.status == 200


async def test_a_server_not_signed_by_the_branch_ca_is_not_trusted(
        tls_branch: TlsBranch, tmp_path: Path, http: aiohttp.ClientSession) -> None:
    other = ca.CaFiles(tmp_path / "other-ca")
    ca.init(other, branch="elsewhere", names=["127.0.0.1"])
    with pytest.raises(aiohttp.ClientConnectorCertificateError):
        await http.get(tls_branch.url("/healthz"), ssl=client_context(DeviceSettings(
            ca_file=other.ca_cert)))


async def test_a_device_certificate_from_another_ca_is_refused(
        tls_branch: TlsBranch, tmp_path: Path, http: aiohttp.ClientSession) -> None:
    # A whole other branch with its own CA enrols "booth-01"; its certificate is refused here.
    async with TlsBranch(tmp_path / "other") as other:
        foreign = await other.enrol("booth", "booth-01")
    assert foreign.cert_file is not None and foreign.key_file is not None
    context = client_context(tls_branch.settings("x"))
    assert context is not None
    context.load_cert_chain(foreign.cert_file, foreign.key_file)
    with pytest.raises((aiohttp.ClientError, ssl.SSLError, ConnectionError)):
        ws = await http.ws_connect(tls_branch.ws_url, ssl=context)
        # TLS 1.3: the client may learn of the refusal only when it reads.
        await ws.send_str('{"v":1,"id":"1","type":"hello","token":""}')
        msg = await ws.receive(timeout=10)
        assert msg.type is not aiohttp.WSMsgType.TEXT, msg
        raise ConnectionError("closed")
    assert "booth-01" not in tls_branch.server.connections


async def test_an_enrolled_device_is_who_its_certificate_says(
        tls_branch: TlsBranch, http: aiohttp.ClientSession) -> None:
    settings = await tls_branch.enrol("booth", "booth-01")
    assert settings.key_file is not None and _mode(settings.key_file) == 0o600
    _device, welcome = await tls_branch.hello("booth-01", settings, http)
    assert welcome["type"] == "welcome"
    assert (welcome["device_id"], welcome["role"]) == ("booth-01", "booth")
    actions = [(e["action"], e["subject"], e["actor"]) for e in tls_branch.audit()]
    assert ("enrolment_code_issued", "booth-01", "person:test") in actions
    assert ("device_enrolled", "booth-01", "booth-01") in actions


async def test_an_enrolment_code_works_once_and_not_after_its_life(
        tls_branch: TlsBranch) -> None:
    code = await tls_branch.code("booth", "booth-01")
    from signaling import enrolclient

    await enrolclient.enrol(tls_branch.ws_url, code, "booth", tls_branch.settings("a"), "booth")
    with pytest.raises(EnrolmentRefused, match="used already"):
        await enrolclient.enrol(tls_branch.ws_url, code, "booth", tls_branch.settings("b"),
                                "booth")
    old = await tls_branch.code("booth", "booth-02",
                                now=time.time() - limits.ENROLMENT_CODE_TTL_S - 1)
    with pytest.raises(EnrolmentRefused, match="expired"):
        await enrolclient.enrol(tls_branch.ws_url, old, "booth", tls_branch.settings("c"),
                                "booth")
    with pytest.raises(ValueError, match="booth-02 is a booth"):
        await tls_branch.code("hub", "booth-02")  # an id keeps the role of its first code
    hub_code = await tls_branch.code("hub", "hub-01")
    with pytest.raises(EnrolmentRefused, match="enrols a hub, not a booth"):
        await enrolclient.enrol(tls_branch.ws_url, hub_code, "booth", tls_branch.settings("d"),
                                "booth")
    assert not tls_branch.settings("b").cert_file.exists()  # type: ignore[union-attr]
    refused = [e["detail"]["reason"] for e in tls_branch.audit()
               if e["action"] == "enrolment_refused"]
    assert any("used already" in r for r in refused) and any("expired" in r for r in refused)


async def test_a_booth_certificate_cannot_act_as_a_hub(
        tls_branch: TlsBranch, http: aiohttp.ClientSession) -> None:
    settings = await tls_branch.enrol("booth", "booth-01")
    device, welcome = await tls_branch.hello("booth-01", settings, http)
    assert welcome["role"] == "booth"
    reply = await device.request({"type": "capacity", "slots": 6})
    assert reply["type"] == "error" and reply["code"] == "forbidden", reply
    # With a hub's token beside it, the certificate still decides: refused.
    hub_token = _token(tls_branch, "hub", "hub-01")
    _other, refused = await tls_branch.hello("booth-01", settings, http, token=hub_token)
    assert refused["type"] == "error" and "certificate is booth-01" in refused["detail"]
    # Over HTTP too: the hub's case view is not for a booth's certificate.
    async with http.get(tls_branch.url("/api/cases/hub"),
                        ssl=client_context(settings)) as response:
        assert response.status == 403


async def test_a_revoked_booth_is_cut_off_at_once_and_cannot_come_back(
        tls_branch: TlsBranch, http: aiohttp.ClientSession) -> None:
    settings = await tls_branch.enrol("booth", "booth-01")
    device, welcome = await tls_branch.hello("booth-01", settings, http)
    assert welcome["type"] == "welcome"
    client = SignalingClient(tls_branch.ws_url, "", ssl_context=client_context(settings))
    # The raw socket above and the client are both booth-01: the client replaces it.
    await client.start()
    try:
        await client.wait_connected(10)
        assert await device.closed() == limits.CLOSE_REPLACED
        states: list[ClientState] = []
        client.on_state = states.append
        await tls_branch.revoke("booth-01")
        await wait_until(lambda: client.state is ClientState.REJECTED,
                         "the revoked booth refused for good")
        assert "revoked" in client.rejected_reason
        assert ClientState.BACKOFF in states  # it was cut off, then tried again
    finally:
        await client.close()
    _again, reply = await tls_branch.hello("booth-01", settings, http)
    assert reply["type"] == "error" and "revoked" in reply["detail"]
    # Its old token is refused too.
    old_token = _token(tls_branch, "booth", "booth-01", now=time.time() - 60)
    _tok, reply = await tls_branch.hello("booth-01", tls_branch.settings("x"), http,
                                         token=old_token)
    assert reply["type"] == "error" and "revoked" in reply["detail"]
    revoked = [e for e in tls_branch.audit() if e["action"] == "device_revoked"]
    assert revoked and revoked[0]["actor"] == "person:test" and revoked[0]["subject"] == "booth-01"


async def test_a_revoked_connection_is_closed_with_its_own_code(
        tls_branch: TlsBranch, http: aiohttp.ClientSession) -> None:
    settings = await tls_branch.enrol("booth", "booth-01")
    device, _welcome = await tls_branch.hello("booth-01", settings, http)
    await tls_branch.revoke("booth-01")
    assert await device.closed() == limits.CLOSE_REVOKED
    assert "revoked" in device.close_reason


def _token(branch: TlsBranch, role: str, device_id: str, now: float | None = None) -> str:
    from signaling import tokens

    secret = tokens.load_or_create_secret(branch.config.data_dir)
    return tokens.issue(secret, device_id, role, now=now or time.time(), ttl_s=3600)



async def test_sockets_waiting_for_their_handshake_count_against_the_address_limit(
        tmp_path: Path) -> None:
    async with TlsBranch(tmp_path, max_connections_per_address=2) as branch:
        idle = [await asyncio.open_connection("127.0.0.1", branch.port) for _ in range(3)]
        try:
            # The third is closed at once, without a byte; the first two wait for a handshake.
            reader = idle[2][0]
            assert await asyncio.wait_for(reader.read(), 10) == b""
            assert branch.site is not None and branch.site.refused_early == 1
        finally:
            for _reader, writer in idle:
                writer.close()
                with contextlib.suppress(ConnectionError):
                    await writer.wait_closed()


async def test_enrolled_devices_are_known_on_the_http_routes_by_their_certificate(
        tls_branch: TlsBranch, http: aiohttp.ClientSession) -> None:
    hub = await tls_branch.enrol("hub", "hub-01")
    booth = await tls_branch.enrol("booth", "booth-01")
    async with http.get(tls_branch.url("/api/cases/hub"), ssl=client_context(hub)) as r:
        assert r.status == 200, await r.text()
    # The booth's upload passes the credential check and is refused only for being out of
    # session; without a certificate or token it is a 401.
    async with http.post(tls_branch.url("/api/documents"), json={"kind": "ktp"},
                         ssl=client_context(booth)) as r:
        assert r.status == 403 and (await r.json())["error"] == "not_in_session"
    async with http.post(tls_branch.url("/api/documents"), json={"kind": "ktp"},
                         ssl=client_context(tls_branch.settings("nobody"))) as r:
        assert r.status == 401
    await tls_branch.revoke("hub-01")
    await wait_until(lambda: tls_branch.server.revocations.serials,
                     "the revocation seen by the server")
    async with http.get(tls_branch.url("/api/cases/hub"), ssl=client_context(hub)) as r:
        assert r.status == 401 and "revoked" in (await r.json())["detail"]

