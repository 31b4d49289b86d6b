"""Consent at the booth and the session's recording, through the real parts: the branch
server, booth agents (their own peer connections, a replayed camera, the microphone's
silence) and the hub, on loopback. A participant who accepts is recorded and the file
reaches the server through the resumable upload; one who refuses is not, and the hub is
told as the branch is set."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bilik.catalogue import text
from bilik.catalogue.consent import CURRENT_WORDING, WORDINGS
from booth.agent import SPACE, BoothAgent
from booth.config import BoothConfig
from officer import console
from officer.hub import Hub
from officer.recording import probe
from officer.recordings import RecordingState
from signaling.consent import consent_of
from signaling.documentrecords import blob_path, list_documents
from tests.officer.conftest import Branch, stopped, until

pytestmark = pytest.mark.slow

QUESTION = text(WORDINGS[CURRENT_WORDING])


async def start_branch(tmp_path: Path, loop_file: Path, recording: str) -> Branch:
    branch = Branch(tmp_path / "server", loop_file)
    branch.config = dataclasses.replace(branch.config, recording=recording)
    await branch.start()
    return branch


@pytest.fixture
async def optional(tmp_path: Path, loop_file: Path) -> AsyncIterator[Branch]:
    branch = await start_branch(tmp_path, loop_file, "optional")
    try:
        yield branch
    finally:
        await branch.close()
        await branch.stop()


@pytest.fixture
async def required(tmp_path: Path, loop_file: Path) -> AsyncIterator[Branch]:
    branch = await start_branch(tmp_path, loop_file, "required")
    try:
        yield branch
    finally:
        await branch.close()
        await branch.stop()


async def booth_agent(branch: Branch, device: str, tmp_path: Path) -> BoothAgent:
    config = BoothConfig(server=branch.url, id=device, flow="direct", consent=True,
                         read_aloud=False, source="replay", replay_file=branch.loop_file,
                         data_dir=tmp_path / device)
    agent = BoothAgent(config, branch.token(device, "booth"))
    await agent.start()
    await agent.wait_connected(30.0)
    return agent


async def recording_hub(branch: Branch, tmp_path: Path) -> Hub:
    return await branch.hub(inspect_video=False, recording_dir=tmp_path / "recordings")


async def test_accepted_is_recorded_and_uploaded_refused_is_not(
        optional: Branch, tmp_path: Path) -> None:
    branch = optional
    await branch.add_officer()
    hub = await recording_hub(branch, tmp_path)
    one = await booth_agent(branch, "booth-01", tmp_path)
    two = await booth_agent(branch, "booth-02", tmp_path)
    try:
        # Before the officer joins, each participant is asked, in both languages.
        for agent in (one, two):
            await until(lambda a=agent: a.view().lines[:1] == (QUESTION,),  # type: ignore[misc]
                        f"the consent question at {agent.config.id}")
            assert agent.view().lines[1] == text("consent.keys")
            assert not agent.view().show_officer
        await until(lambda: hub.peer_of("booth-01") is not None
                    and hub.peer_of("booth-02") is not None, "both booths at the hub")
        p1, p2 = hub.peer_of("booth-01"), hub.peer_of("booth-02")
        assert p1 is not None and p2 is not None
        assert p1.recording is None and p1.consent is None  # nothing before the answer
        await hub.desk.sign_in("siti", "246810")

        one.press(SPACE)  # the hand button
        two.press(ord("2"))
        await until(lambda: p1.recording is not None, "booth-01 recorded")
        await until(lambda: p2.consent is not None, "booth-02's refusal at the hub")
        started = time.monotonic()
        assert p2.recording is None and p2.consent["accepted"] is False
        assert p2.consent["required"] is False
        assert one.view().lines[0] == text("consent.accepted")
        assert two.view().lines[0] == text("consent.refused")
        # The answers are kept with the case, with the words' version and the time.
        db = branch.branch.db
        first = await db.call(consent_of, db.sync, f"pairing:{p1.pairing}")
        second = await db.call(consent_of, db.sync, f"pairing:{p2.pairing}")
        assert first is not None and second is not None
        assert (first.accepted, first.wording, first.booth, first.hub) == (
            True, CURRENT_WORDING, "booth-01", "hub-01")
        assert (second.accepted, second.booth) == (False, "booth-02")
        assert abs(first.at - time.time()) < 60
        assert set(first.to_json()) == {"ticket", "booth", "wording", "accepted", "at",
                                        "required"}
        # The officer attends booth-01 (the synthetic officer is sent and recorded).
        await hub.focus("booth-01")
        recording = p1.recording
        assert recording is not None
        await until(lambda: recording.writer.last_ms >= 4000, "four seconds recorded")
        assert hub.health()["recordings"] == {"active": 1, "waiting_upload": 0,
                                              "dropped_packets": 0, "errors": []}
        # The participant leaves: the call ends, the file is closed and uploaded.
        await stopped(one.stop(), "booth-01")
        await until(lambda: hub.peer_of("booth-01") is None, "booth-01's slot freed")
        lasted = time.monotonic() - started
        entry = next(e for e in hub.recordings.entries if e.info.booth == "booth-01")
        await until(lambda: entry.state is RecordingState.UPLOADED, "the recording uploaded")
        assert not entry.path.exists()  # the hub keeps no copy once the server has it
        assert not any(e.info.booth == "booth-02" for e in hub.recordings.entries)
    finally:
        await stopped(one.stop(), "booth-01")
        await stopped(two.stop(), "booth-02")

    records = await db.call(list_documents, db.sync, f"pairing:{p1.pairing}")
    stored = [r for r in records if r.kind == "recording"]
    assert len(stored) == 1
    record = stored[0]
    assert (record.booth, record.uploaded_by, record.content_type) == (
        "booth-01", "hub-01", "video/webm")
    info = probe(blob_path(branch.data_dir / "documents", record.sha256))
    tracks = {t["title"]: t for t in info["tracks"]}
    assert set(tracks) == {"booth-video", "booth-audio", "officer-video", "officer-audio"}
    for title in ("booth-video", "booth-audio", "officer-video"):
        assert tracks[title]["packets"] > 20, title
    assert tracks["officer-audio"]["packets"] > 5  # the officer's tone once in focus
    assert info["tags"]["booth"] == "booth-01" and info["tags"]["officer"] == "siti"
    assert info["tags"]["ticket"] == f"pairing:{p1.pairing}"
    # About the call's length: from the consent to the end (the hub notices a booth gone
    # within a second or two).
    assert lasted - 4.0 <= info["duration_s"] <= lasted + 1.0


async def test_a_required_recording_refused_is_the_officers_to_decide(
        required: Branch, tmp_path: Path) -> None:
    branch = required
    hub = await recording_hub(branch, tmp_path)
    agent = await booth_agent(branch, "booth-01", tmp_path)
    try:
        await until(lambda: agent.view().lines[:1] == (QUESTION,), "the consent question")
        await until(lambda: hub.peer_of("booth-01") is not None, "booth-01 at the hub")
        peer = hub.peer_of("booth-01")
        assert peer is not None
        agent.press(ord("n"))
        await until(lambda: peer.consent is not None, "the refusal at the hub")
        tile = console.state(hub)["booths"][0]
        assert tile["consent"]["accepted"] is False and tile["consent"]["required"] is True
        assert tile["recording"] is False and peer.recording is None
        db = branch.branch.db
        record = await db.call(consent_of, db.sync, f"pairing:{peer.pairing}")
        assert record is not None and record.required and not record.accepted
        # A key pressed after the answer is no answer: the hand goes up as always.
        agent.press(SPACE)
        await until(lambda: peer.hand["raised"] is True, "the hand raised at the hub")
        assert peer.recording is None
    finally:
        await stopped(agent.stop(), "booth-01")


async def test_a_restarted_hub_goes_on_recording_a_consented_session(
        optional: Branch, tmp_path: Path) -> None:
    """The hub goes away mid-session: its file is kept and uploaded when it is back, and
    the session, paired again, is recorded again from the consent the server keeps."""
    branch = optional
    hub = await recording_hub(branch, tmp_path)
    booth = await branch.booth("booth-01", queue=True)
    booth.consent = True  # the participant accepts at the booth
    await branch.book("BK-REC1", time.time() + 30)
    info = await branch.check_in("BK-REC1")
    await until(lambda: any(c.ticket == info.ticket for c in booth.called), "the call")
    await booth.claim(info.qr)
    await until(lambda: (peer := hub.peer_of("booth-01")) is not None
                and peer.recording is not None, "booth-01 recorded")
    first = hub.peer_of("booth-01")
    assert first is not None and first.recording is not None
    recording = first.recording
    await until(lambda: recording.writer.last_ms >= 2000, "two seconds recorded")

    await stopped(hub.stop(), "the hub")
    branch.hubs.remove(hub)
    again = await recording_hub(branch, tmp_path)  # the same hub, back
    await until(lambda: (peer := again.peer_of("booth-01")) is not None
                and peer.recording is not None, "the session recorded again")
    peer = again.peer_of("booth-01")
    assert peer is not None and peer.consent is not None and peer.consent["accepted"]
    await until(lambda: any(e.info.ticket == info.ticket and e.state is RecordingState.UPLOADED
                            for e in again.recordings.entries),
                "the first file uploaded by the hub back")
