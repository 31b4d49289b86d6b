"""The wire protocol codec: golden messages both ways, every kind of bad input, round trips."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signaling import limits
from signaling import protocol as p
from signaling.errors import ProtocolError

GOLDEN = Path(__file__).parent / "golden"
VALID = sorted(GOLDEN.glob("*.json"))
INVALID = [json.loads(line) for line in (GOLDEN / "invalid.jsonl").read_text().splitlines()]


# The foundation's messages (session, pairing, relay); the queue's are tested with the queue.
FOUNDATION = {"hello", "welcome", "status", "ok", "error", "capacity", "service_request", "pair",
              "release", "offer", "answer", "ice"}


def test_there_is_a_golden_file_for_every_foundation_message_type() -> None:
    assert {f.stem for f in VALID} == FOUNDATION
    assert set(p.MESSAGE_TYPES) >= FOUNDATION


@pytest.mark.parametrize("path", VALID, ids=lambda f: f.stem)
def test_golden_message_parses_and_encodes_to_the_same_bytes(path: Path) -> None:
    raw = path.read_text().strip()
    msg = p.parse(raw)
    assert path.stem == msg.TYPE
    assert p.encode(msg) == raw
    assert json.loads(raw)["v"] == p.PROTOCOL_VERSION


@pytest.mark.parametrize("case", INVALID, ids=lambda c: c["case"])
def test_invalid_message_is_refused_with_a_precise_reason(case: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError) as info:
        p.parse(case["input"])
    assert info.value.code == case["code"]
    assert info.value.detail == case["detail"]
    assert info.value.ref == case["ref"]
    # The reply built from it is itself a valid message.
    reply = p.error_reply(info.value)
    assert p.parse(p.encode(reply)) == reply


def test_error_reply_names_the_message_it_answers() -> None:
    with pytest.raises(ProtocolError) as info:
        p.parse('{"v":1,"type":"capacity","id":"h1-9","slots":"six"}')
    reply = p.to_dict(p.error_reply(info.value))
    assert reply["type"] == "error"
    assert reply["code"] == "bad_message"
    assert reply["ref"] == "h1-9"
    assert reply["detail"] == "field 'slots' must be an integer, got str"


def test_frame_over_the_named_limit_is_refused_before_decoding() -> None:
    raw = json.dumps({"v": 1, "type": "status", "id": "m1", "state": "x" * limits.MAX_FRAME_BYTES})
    with pytest.raises(ProtocolError, match=f"larger than {limits.MAX_FRAME_BYTES} bytes"):
        p.parse(raw)
    with pytest.raises(ProtocolError, match="larger than 100 bytes"):
        p.parse('{"v":1,"type":"ok","id":"m1"}' + " " * 100, max_bytes=100)


def test_deeply_nested_json_is_a_bad_message_not_a_recursion_crash() -> None:
    with pytest.raises(ProtocolError, match=r"nested too deeply|not valid JSON"):
        p.parse("[" * 100_000 + "]" * 100_000, max_bytes=10**6)


def test_bytes_that_are_not_utf8_are_a_bad_message() -> None:
    with pytest.raises(ProtocolError, match="not valid JSON"):
        p.parse(b'{"v":1,"type":"ok","id":"m1","x":"\xff\xfe"}')


def test_valid_sdp_passes_and_text_with_unicode_survives() -> None:
    sdp = "v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nt=0 0\nm=audio 9 UDP/TLS/RTP/SAVPF 111\n"
    offer = p.parse(json.dumps({"v": 1, "type": "offer", "id": "m1", "peer": "hub-01",
                                "pairing": "p-1", "sdp": sdp}))
    assert isinstance(offer, p.Offer) and offer.sdp == sdp
    status = p.parse('{"v":1,"type":"status","id":"m2","state":"kamera mati \\u2013 caf\\u00e9"}')
    assert p.parse(p.encode(status)) == status


def test_optional_fields_take_their_defaults_and_null_where_allowed() -> None:
    ice = p.parse('{"v":1,"type":"ice","id":"m1","peer":"hub-01","pairing":"p-1",'
                  '"sdp_mid":null}')
    assert ice == p.Ice(id="m1", peer="hub-01", pairing="p-1")
    release = p.parse('{"v":1,"type":"release","id":"m2","pairing":"p-1"}')
    assert isinstance(release, p.Release) and release.reason == "done"


def test_register_refuses_a_duplicate_type() -> None:
    with pytest.raises(ValueError, match="already registered"):
        p.register(p.Ok)


def test_new_ids_are_unique_and_valid() -> None:
    ids = {p.new_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(p.ID_RE.match(i) for i in ids)


# --- round trips of generated messages ---------------------------------------------------

_device = st.from_regex(p.DEVICE_ID_RE, fullmatch=True)
_mid = st.from_regex(p.ID_RE, fullmatch=True)
_text = st.text(max_size=60)
_sdp = st.lists(st.from_regex(r"[a-z]=[ -~]{0,30}", fullmatch=True), max_size=5).map(
    lambda lines: "\r\n".join(["v=0", *lines, "m=video 9 UDP/TLS/RTP/SAVPF 96", ""])
)


def _strategy(cls: type[p.Message]) -> st.SearchStrategy[p.Message]:
    fields: dict[str, st.SearchStrategy[Any]] = {"id": _mid, "ref": st.none() | _mid}
    for spec in p._specs(cls):
        meta = spec.meta
        if "choices" in meta:
            s: st.SearchStrategy[Any] = st.sampled_from(meta["choices"])
        elif spec.kind is bool:
            s = st.booleans()
        elif spec.kind is int:
            s = st.integers(meta.get("min", -(2**31)), meta.get("max", 2**31))
        elif spec.kind is float:
            s = st.floats(meta.get("min", -1e9), 1e9, allow_nan=False)
        elif spec.kind is list:
            s = st.lists(st.text(min_size=1, max_size=10), max_size=4)
        elif spec.kind is dict:
            s = st.dictionaries(st.text(max_size=10), _text, max_size=4)
        elif meta.get("sdp"):
            s = _sdp
        elif meta.get("pattern") is p.DEVICE_ID_RE:
            s = _device
        elif meta.get("pattern") is p.ID_RE:
            s = _mid
        else:
            s = st.text(max_size=min(60, meta.get("max", 60)))
        if spec.optional:
            s = st.none() | s
        fields[spec.name] = s
    return st.builds(cls, **fields)


_messages = st.sampled_from(sorted(p.MESSAGE_TYPES.values(), key=lambda c: c.TYPE)).flatmap(
    _strategy
)


@given(_messages)
def test_every_message_survives_encode_then_parse(msg: p.Message) -> None:
    again = p.parse(p.encode(msg))
    assert again == msg
    assert dataclasses.asdict(again) == dataclasses.asdict(msg)


@given(st.text(max_size=300) | st.binary(max_size=300))
def test_arbitrary_text_either_parses_or_raises_protocol_error(data: str | bytes) -> None:
    try:
        msg = p.parse(data)
    except ProtocolError as exc:
        assert exc.code in set(p.ErrorCode)
        assert exc.detail
    else:
        assert isinstance(msg, p.Message)
