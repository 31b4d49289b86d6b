"""The serve loop of every device agent: start, wait for the welcome, run until told to stop.

The agent connects through its signaling client, which checks the token names the configured
device and reconnects with capped, jittered backoff by itself; an unattended device that
cannot reach the server at start keeps trying. Ctrl-C and SIGTERM stop it cleanly.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Protocol

from bilik.tasks import TaskSet

log = logging.getLogger(__name__)


class DeviceAgent(Protocol):
    async def start(self) -> None: ...

    async def wait_connected(self, timeout: float) -> str:
        """Wait for the branch server's welcome; the device id it names."""
        ...

    async def stop(self) -> None: ...


async def serve(
    agent: DeviceAgent,
    name: str,
    *,
    connect_timeout: float,
    still_trying: type[Exception],
    started: Callable[[], None] | None = None,
    fields: Callable[[], Mapping[str, object]] | None = None,
    alongside: Callable[[], Coroutine[Any, Any, None]] | None = None,
) -> None:
    """Run ``agent`` until SIGINT or SIGTERM, then stop it.

    ``still_trying`` is the error ``wait_connected`` raises while the server is not reached
    yet (logged; the client keeps reconnecting); any other error ends the run. ``started``
    runs once the agent started, ``fields`` adds to the "running" log line, and
    ``alongside`` (the kiosk's console commands) runs beside the agent until it stops.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    tasks = TaskSet()
    await agent.start()
    try:
        if started is not None:
            started()
        try:
            device = await agent.wait_connected(connect_timeout)
            extra = dict(fields()) if fields is not None else {}
            log.info("%s running", name, extra={"fields": {"device": device, **extra}})
        except still_trying as exc:
            log.warning("%s; still trying", exc)  # the client keeps reconnecting
        if alongside is not None:
            tasks.spawn(alongside(), f"{name}-alongside")
        await stop.wait()
    finally:
        await tasks.cancel_all()
        await agent.stop()
