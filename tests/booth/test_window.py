"""The booth screen's real window (``--screen window``) on an X server.

Xvfb (a real X server drawing into memory) runs on a display number it picks itself
(``-displayfd``), at 1920x1080, larger than the booth's 1280x720 picture. The booth agent
runs as a process (``bilik booth --screen window``) against a real branch server, so its
Qt HighGUI window is the production one. The test grabs the X screen (Pillow) and checks
what a participant would see: the whole screen, edge to edge, is the welcome screen,
matching the off-screen renderer's picture of it. When the booth stops, its window goes.
"""

from __future__ import annotations

import asyncio
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import ImageGrab

from bilik.processes import ProcessGroup
from booth.screen import Window, render
from booth.state import Booth
from booth.view import BANNER_BGR, ScreenName, compose
from tests.booth.branch import Branch

pytestmark = pytest.mark.slow

SCREEN = (1920, 1080)
START_S = 90.0  # a booth process importing aiortc and Qt on a shared two-core machine
MATCH_LEVELS = 6.0  # mean absolute difference (0-255) between grab and render when shown


@pytest.fixture
def xvfb() -> Iterator[str]:
    """A private X server; yields its display (":N"), killed and reaped afterwards."""
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24",
         "-nolisten", "tcp"],
        pass_fds=(write_fd,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    os.close(write_fd)
    try:
        number = b""
        deadline = time.monotonic() + 30
        while not number.endswith(b"\n"):
            ready, _, _ = select.select([read_fd], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(read_fd, 16) if ready else b""
            if not chunk:
                raise RuntimeError(f"Xvfb gave no display number (exit code {proc.poll()})")
            number += chunk
        yield f":{int(number)}"
    finally:
        os.close(read_fd)
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def grab(display: str) -> np.ndarray:
    """The whole X screen as BGR."""
    return np.asarray(ImageGrab.grab(xdisplay=display).convert("RGB"))[:, :, ::-1]


def difference(screen: np.ndarray, expected: np.ndarray) -> float:
    h, w = expected.shape[:2]
    scaled = cv2.resize(screen, (w, h), interpolation=cv2.INTER_AREA)
    return float(np.abs(scaled.astype(np.int16) - expected.astype(np.int16)).mean())


async def test_the_booth_window_fills_the_screen_with_the_welcome_screen(
    branch: Branch, tmp_path: Path, xvfb: str,
) -> None:
    token = tmp_path / "booth.token"
    token.write_text(branch.token("booth-01", "booth"))
    welcome, _ = render(compose(Booth(online=True)))
    before = await asyncio.to_thread(grab, xvfb)
    assert before.shape[:2] == (SCREEN[1], SCREEN[0])
    assert difference(before, welcome) > 4 * MATCH_LEVELS  # an empty X screen is not it

    group = ProcessGroup(tmp_path / "logs", env={"DISPLAY": xvfb})
    try:
        proc = group.bilik("booth", "booth", "--server", branch.url, "--token-file", str(token),
                           "--id", "booth-01", "--flow", "ticket",
                           "--data-dir", str(tmp_path / "booth"), "--screen", "window")
        deadline = time.monotonic() + START_S
        screen = before
        while difference(screen, welcome) > MATCH_LEVELS:
            log = group.log_path("booth").read_text(errors="replace")
            assert proc.poll() is None, f"the booth exited ({proc.returncode}):\n{log[-3000:]}"
            if time.monotonic() > deadline:
                cv2.imwrite(str(tmp_path / "screen.png"), screen)
                pytest.fail(f"no welcome screen after {START_S} s (difference "
                            f"{difference(screen, welcome):.1f}; the screen: "
                            f"{tmp_path / 'screen.png'}):\n{log[-3000:]}")
            await asyncio.sleep(0.5)
            screen = await asyncio.to_thread(grab, xvfb)

        # Edge to edge: the banner's colour in both top corners, the background at the
        # bottom corners: the window covers the screen, it does not sit in a corner.
        banner = np.array(BANNER_BGR[ScreenName.WELCOME])
        for x in (2, SCREEN[0] - 3):
            assert np.abs(screen[5, x].astype(int) - banner).max() <= 12, screen[5, x]
            assert np.abs(screen[SCREEN[1] - 3, x].astype(int) - welcome[-2, 1]).max() <= 12
    finally:
        group.close()
    assert proc.returncode == 0, group.log_path("booth").read_text(errors="replace")[-3000:]
    after = await asyncio.to_thread(grab, xvfb)
    assert difference(after, welcome) > 4 * MATCH_LEVELS  # the window went with the booth




def test_pyav_loaded_before_opencv_is_refused_with_the_reason(xvfb: str) -> None:
    """The known hang (PyAV's bundled libxcb breaks OpenCV's Qt): said, not suffered."""
    script = ("import av, cv2\n"
              "from booth.screen import Window\n"
              "w = Window('t')\n"
              "w.close()\n"
              "print(w.error)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**os.environ, "DISPLAY": xvfb}, timeout=120, check=True)
    assert "PyAV was imported before OpenCV" in done.stdout, done.stdout + done.stderr


def test_no_display_is_said_without_touching_the_gui(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    window = Window("t")
    window.close()
    assert window.error is not None and "no display" in window.error
