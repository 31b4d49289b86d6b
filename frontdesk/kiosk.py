"""The ticket kiosk agent (``bilik kiosk``): takes tickets and check-ins, prints queue tickets.

A participant picks a service (and a priority) or scans a booking code; the kiosk asks
the branch server (``TicketRequest`` / ``CheckIn``, as role ``kiosk``), gets a
``TicketInfo`` and prints the ticket (number, service, expected wait, time, the QR the
server issued) on its ticket printer. A refusal (unknown service, booking too early,
too late or used) is shown with its catalogue text and nothing is printed. A print
failure is reported to the server (``Status`` health ``printer=error``) and the number
is still shown and returned, never silently lost.

Ways in, all ending in :meth:`Kiosk.take_ticket` / :meth:`Kiosk.check_in`:

- the in-process API (tests, the demo in one process);
- a console line protocol on stdin (``jht``, ``jht elderly``, ``code BK-1001``;
  :mod:`frontdesk.kiosk_cli`, which also runs the kiosk as ``bilik kiosk``);
- codes from a serial QR/barcode scanner (optional);
- the touch screen page and a small JSON API on this machine's loopback
  (:mod:`frontdesk.kiosk_control`: ``GET /``, ``POST /ticket``, ``POST /check-in``...).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bilik import __version__, themes, tls
from bilik import config as cfg
from bilik.agent.settings import DeviceSettings
from bilik.backoff import Backoff
from bilik.catalogue import Message, text
from bilik.devicehealth import DeviceHealth
from bilik.tasks import TaskSet
from frontdesk import limits
from frontdesk.kiosk_commands import (
    CommandError,
    booking_code,
    priority_of,
)
from frontdesk.kiosk_control import KioskControl
from frontdesk.kiosk_result import KioskResult, Outcome, refusal_text, with_print
from frontdesk.ticket_slip import TicketSlip, render_slip, wait_message
from hardware.config import SCANNER_SUFFIXES
from hardware.devicekeeper import DeviceKeeper
from hardware.errors import DeviceDisconnected, HardwareError, PrinterError, PrintJobFailed
from hardware.printing import AsyncPrinter, FailureReason, JobKind, PrintJob
from hardware.printing.limits import STATUS_TIMEOUT_S
from hardware.scanner import SerialScanner, Suffix
from signaling import protocol as p
from signaling.client import ClientError, ClientState, NotConnected, SignalingClient
from signaling.protocol import DEFAULT_SERVICES

log = logging.getLogger(__name__)

SECTION = "kiosk"

@dataclass(frozen=True)
class KioskConfig(DeviceSettings):
    printer: str = cfg.setting(
        "", "Ticket printer address (serial:/dev/ttyUSB0, tcp:HOST, socket://...); empty: none"
    )
    scanner: str = cfg.setting(
        "", "Serial QR/barcode scanner for booking codes (path or pyserial URL); empty: none"
    )
    scanner_baud: int = cfg.setting(9600, "Scanner line speed", min=1200, max=921600)
    scanner_suffix: str = cfg.setting(
        "any", "Line ending the scanner appends to each code", choices=SCANNER_SUFFIXES
    )
    services: list[str] = cfg.setting(
        list(DEFAULT_SERVICES), "Services offered on the kiosk's menu (server service keys)"
    )
    control_host: str = cfg.setting(
        "127.0.0.1", "Address of the local control endpoint (loopback only)"
    )
    control_port: int | None = cfg.setting(
        8791, "Port of the local control endpoint (POST /ticket); 0: any free port; unset: off",
        min=0, max=65535,
    )
    printer_status_timeout_s: float = cfg.setting(
        STATUS_TIMEOUT_S, "How long the printer may take to answer a status query",
        min=0.05, max=30.0,
    )
    printer_recheck_s: float = cfg.setting(
        limits.PRINTER_RECHECK_S,
        "While the printer is not ok, ask it this often whether it recovered",
        min=0.1, max=600.0,
    )
    theme: str = cfg.setting(
        themes.ThemeName.STANDARD.value, "Colours of the touch screen page",
        choices=tuple(t.value for t in themes.ThemeName),
    )
    text_size: str = cfg.setting(
        themes.TextSize.LARGE.value, "Text size of the touch screen page",
        choices=tuple(t.value for t in themes.TextSize),
    )
    help_hold_s: float = cfg.setting(
        limits.HELP_HOLD_S, "How long a call for help stays raised at the server",
        min=5.0, max=3600.0,
    )


def _local_now() -> datetime:
    return datetime.now().astimezone()


@dataclass
class _Health:
    parts: dict[str, str] = field(default_factory=dict)
    detail: str = ""


class Kiosk:
    """The kiosk agent: one signaling client, an optional printer and scanner, the control API."""

    def __init__(
        self,
        config: KioskConfig,
        token: str,
        *,
        clock: Callable[[], datetime] = _local_now,
        on_show: Callable[[KioskResult], None] | None = None,
        new_job_id: Callable[[], str] = lambda: uuid.uuid4().hex[:12],
    ) -> None:
        self.config = config
        self.clock = clock
        self.on_show = on_show
        self._new_job_id = new_job_id
        self.client = SignalingClient(
            config.server, token, on_message=self._on_message, on_state=self._on_state,
            software=f"bilik-kiosk {__version__}", device_id=config.id, role=p.Role.KIOSK,
            ssl_context=tls.client_context(config),
        )
        self.printer: AsyncPrinter | None = None
        # One keeper per device (health, failures in a row, when to try again), the same
        # bookkeeping as the hardware registry's. The scanner is reopened with a doubling
        # backoff; the printer is asked every printer_recheck_s while it is not ok (the
        # setting says "this often", so its backoff is constant), and opened at once when a
        # participant wants a ticket.
        recheck = config.printer_recheck_s
        self.printer_keeper = DeviceKeeper(
            "printer", Backoff(recheck, recheck, jitter=0.0),
            health=DeviceHealth.OK if config.printer else DeviceHealth.ABSENT)
        self.scanner_keeper = DeviceKeeper(
            "scanner", Backoff(limits.DEVICE_RETRY_MIN_S, limits.DEVICE_RETRY_MAX_S, jitter=0.0),
            health=DeviceHealth.OK)
        self.health = _Health({"printer": self.printer_keeper.health})
        if config.scanner:
            self.health.parts["scanner"] = self.scanner_keeper.health
        self.last: KioskResult | None = None
        self.failed_job: PrintJob | None = None  # the last ticket that did not print
        self.control_url: str | None = None
        self._pending: dict[str, asyncio.Future[p.Message]] = {}
        self._lock = asyncio.Lock()  # one participant at a time: tickets print in order
        self._tasks = TaskSet()
        self.control: KioskControl | None = None
        self._help_clear: asyncio.TimerHandle | None = None
        self._scanner: SerialScanner | None = None
        self._reported: tuple[str, dict[str, str]] | None = None

    # -- lifetime ---------------------------------------------------------------------------

    async def start(self) -> None:
        if self.config.printer:
            await self._open_printer()
        await self.client.start()
        if self.config.scanner:
            self._spawn(self._scan_loop(), "kiosk-scanner")
        if self.config.printer:
            self._spawn(self._printer_watch(), "kiosk-printer-watch")
        if self.config.control_port is not None:
            self.control = KioskControl(self)
            self.control_url = await self.control.start(self.config.control_host,
                                                        self.config.control_port)
            log.info("kiosk control endpoint and touch page on %s", self.control_url)

    async def wait_connected(self, timeout: float) -> str:
        """Wait for the branch server's welcome; this kiosk's device id (the client refuses
        a token of another role or naming another device)."""
        welcome = await self.client.wait_connected(timeout)
        return welcome.device_id

    async def stop(self) -> None:
        if self._help_clear is not None:
            self._help_clear.cancel()
        if self.control is not None:
            await self.control.stop()
            self.control = None
        await self._tasks.cancel_all()
        if self._scanner is not None:
            with contextlib.suppress(HardwareError):
                await self._scanner.close()
            self._scanner = None
        await self.client.close()
        if self.printer is not None:
            await self.printer.close()
            self.printer = None

    def _spawn(self, coro: Any, name: str) -> None:
        self._tasks.spawn(coro, name)

    # -- the requests -----------------------------------------------------------------------

    async def take_ticket(self, service: str, priority: str = "none") -> KioskResult:
        """Ask for a walk-in ticket and print it; see :class:`Outcome` for what can happen.

        Raises :class:`CommandError` for a priority the queue does not know (a caller bug,
        not something to show a participant).
        """
        prio = priority_of(priority)
        service = service.strip().lower()
        return await self._issue(p.TicketRequest(service=service, priority=prio), prio)

    async def check_in(self, code: str) -> KioskResult:
        """Check a booking in by its code and print its ticket; CommandError for a non-code."""
        return await self._issue(p.CheckIn(code=booking_code(code)), "none")

    async def reprint(self) -> KioskResult | None:
        """Print the last ticket that failed to print again; None when there is none."""
        async with self._lock:
            job, last = self.failed_job, self.last
            if job is None or last is None:
                return None
            outcome, detail, job_id = await self._print_job(job)
            result = with_print(last, outcome, detail, job_id)
            self._show(result)
            return result

    async def _issue(self, msg: p.TicketRequest | p.CheckIn, priority: str) -> KioskResult:
        async with self._lock:
            try:
                reply = await self._ask(msg)
            except ClientError as exc:
                result = KioskResult(Outcome.OFFLINE, text("frontdesk.offline"), detail=str(exc))
                self._show(result)
                return result
            if isinstance(reply, p.Error):
                result = KioskResult(Outcome.REFUSED, refusal_text(reply.code, reply.text_key),
                                     code=reply.code, detail=reply.detail)
                self._show(result)
                return result
            assert isinstance(reply, p.TicketInfo)
            result = await self._print_ticket(reply, priority)
            self._show(result)
            return result

    async def _ask(self, msg: p.Message) -> p.Message:
        """Send ``msg`` and wait for the TicketInfo or Error naming it."""
        future: asyncio.Future[p.Message] = asyncio.get_running_loop().create_future()
        self._pending[msg.id] = future
        try:
            await self.client.send(msg)
            return await asyncio.wait_for(future, limits.REQUEST_TIMEOUT_S)
        except TimeoutError:
            raise NotConnected(
                f"no answer to {msg.TYPE} within {limits.REQUEST_TIMEOUT_S:g} s"
            ) from None
        finally:
            self._pending.pop(msg.id, None)

    async def _on_message(self, msg: p.Message) -> None:
        future = self._pending.get(msg.ref) if msg.ref else None
        if future is not None and not future.done() and isinstance(msg, p.TicketInfo | p.Error):
            future.set_result(msg)

    def _on_state(self, state: ClientState) -> None:
        if self.control is not None:
            self.control.push("state")
        if state is ClientState.CONNECTED:
            self._reported = None  # a new session: tell the server our health again
            self._spawn(self._report(), "kiosk-report")
        else:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(NotConnected(f"connection to the server {state}"))

    # -- printing ---------------------------------------------------------------------------

    async def _print_ticket(self, info: p.TicketInfo, priority: str) -> KioskResult:
        slot = None if info.slot is None else datetime.fromtimestamp(info.slot).astimezone()
        base = KioskResult(
            Outcome.NOT_PRINTED, text("frontdesk.your_number", number=info.number),
            number=info.number, ticket=info.ticket, service=info.service, qr=info.qr,
            ahead=info.ahead, expected_wait_s=info.expected_wait_s,
            wait=wait_message(info.expected_wait_s, info.ahead), slot=info.slot,
        )
        try:
            slip = TicketSlip(info.number, info.service, self.clock(), info.qr,
                              info.expected_wait_s, info.ahead, priority, slot)
        except ValueError as exc:  # the server sent something no ticket can carry
            log.error("cannot compose ticket %s: %s", info.number, exc)
            await self._set_health("printer", self.printer_keeper.health, str(exc))
            return with_print(base, Outcome.PRINT_FAILED, str(exc), "")
        if not self.config.printer:
            return base
        job = PrintJob(self._new_job_id(), JobKind.TICKET, info.number, render_slip(slip))
        outcome, detail, job_id = await self._print_job(job)
        return with_print(base, outcome, detail, job_id)

    async def _print_job(self, job: PrintJob) -> tuple[Outcome, str, str]:
        printer = self.printer or await self._open_printer()
        if printer is None:
            self.failed_job = job
            return Outcome.PRINT_FAILED, self.health.detail, job.job_id
        try:
            done = await printer.print_job(job)
        except PrintJobFailed as exc:
            self.failed_job = exc.job
            if exc.job.reason is FailureReason.DISCONNECTED:
                await self._drop_printer()
            self.printer_keeper.failed(exc.job.describe())
            await self._device_changed(self.printer_keeper)
            return Outcome.PRINT_FAILED, exc.job.describe(), job.job_id
        self.failed_job = None
        self.printer_keeper.ok()
        await self._device_changed(self.printer_keeper)
        return Outcome.PRINTED, done.describe(), job.job_id

    async def _open_printer(self) -> AsyncPrinter | None:
        try:
            self.printer = await AsyncPrinter.open(
                self.config.printer, status_timeout=self.config.printer_status_timeout_s)
        except HardwareError as exc:
            log.warning("ticket printer not available: %s", exc)
            self.printer_keeper.failed(f"cannot open printer: {exc}")
            await self._device_changed(self.printer_keeper)
            return None
        return self.printer

    async def _drop_printer(self) -> None:
        if self.printer is not None:
            with contextlib.suppress(PrinterError):
                await self.printer.close()
            self.printer = None

    async def _printer_watch(self) -> None:
        """While the printer is not ok, ask it whether it recovered (paper refilled...)."""
        keeper = self.printer_keeper
        while True:
            await asyncio.sleep(self.config.printer_recheck_s)
            if keeper.health is DeviceHealth.OK or self._lock.locked():
                continue
            printer = self.printer or await self._open_printer()
            if printer is None:
                continue
            try:
                status = await printer.status()
            except PrinterError as exc:
                await self._drop_printer()
                keeper.failed(str(exc))
                await self._device_changed(keeper)
                continue
            if status.ok:
                log.info("ticket printer ready again")
                keeper.ok()
                await self._device_changed(keeper)

    # -- health -----------------------------------------------------------------------------

    async def _device_changed(self, keeper: DeviceKeeper) -> None:
        """Tell the touch page and the server what ``keeper``'s device is now."""
        await self._set_health(keeper.name, keeper.health, keeper.detail)

    async def _set_health(self, part: str, value: str, detail: str) -> None:
        if self.health.parts.get(part) != value:
            log.info("kiosk health", extra={"fields": {"part": part, "health": value,
                                                       "detail": detail}})
        self.health.parts[part] = value
        self.health.detail = detail
        if self.control is not None:
            self.control.push("state")
        await self._report()

    async def ask_help(self) -> Message:
        """A participant pressed "help": raised at the server (the officers get an alert)
        for ``help_hold_s``, then lowered by itself. Returns what the screen says."""
        if self._help_clear is not None:
            self._help_clear.cancel()
        await self._set_health("help", "requested", "a participant asks for help at the kiosk")
        self._help_clear = asyncio.get_running_loop().call_later(
            self.config.help_hold_s, lambda: self._spawn(self._help_lowered(), "kiosk-help"))
        return text("frontdesk.kiosk_help_called")

    async def _help_lowered(self) -> None:
        self._help_clear = None
        self.health.parts.pop("help", None)
        self._reported = None
        await self._report()

    async def _report(self) -> None:
        parts = dict(self.health.parts)
        serving = (DeviceHealth.OK, DeviceHealth.ABSENT)
        state = "ready" if all(v in serving for v in parts.values()) else "fault"
        if parts.get("help") == "requested":
            state = "help"
        if self._reported == (state, parts) or not self.client.connected:
            return
        status = p.Status(state=state, health=parts, detail=self.health.detail[:500])
        try:
            await self.client.request(status, timeout=limits.REPORT_TIMEOUT_S)
        except ClientError as exc:
            log.info("health report not delivered: %s", exc)  # sent again on reconnect
            return
        self._reported = (state, parts)

    def _show(self, result: KioskResult) -> None:
        self.last = result
        fields = {"outcome": result.outcome.value, "number": result.number,
                  "code": result.code, "detail": result.detail}
        level = logging.INFO if result.outcome is Outcome.PRINTED else logging.WARNING
        log.log(level, "kiosk: %s", result.message.both(), extra={"fields": fields})
        if self.on_show is not None:
            try:
                self.on_show(result)
            except Exception:
                log.exception("kiosk display callback failed")
        if self.control is not None:
            self.control.push("result", result)

    # -- the scanner ------------------------------------------------------------------------

    async def _scan_loop(self) -> None:
        keeper = self.scanner_keeper
        while True:
            scanner = SerialScanner(self.config.scanner, baudrate=self.config.scanner_baud,
                                    suffix=Suffix(self.config.scanner_suffix),
                                    on_error=self._scanner_garbage)
            try:
                self._scanner = await scanner.open()
                keeper.ok()
                await self._device_changed(keeper)
                async for code in scanner:
                    await self.scanned(code)
            except (DeviceDisconnected, HardwareError) as exc:
                keeper.failed(str(exc))
                await self._device_changed(keeper)
            finally:
                self._scanner = None
                with contextlib.suppress(HardwareError):
                    await scanner.close()
            # The reads end only by an error (the scanner's iterator never stops by itself).
            await asyncio.sleep(keeper.wait_s())

    def _scanner_garbage(self, exc: HardwareError) -> None:
        log.warning("scanner: %s", exc)
        self._show(KioskResult(Outcome.REFUSED, text("frontdesk.code_unreadable"),
                               code="unreadable", detail=str(exc)))

    async def scanned(self, raw: str) -> KioskResult:
        """A code read by the scanner: a booking check-in, or a clear word why not."""
        try:
            code = booking_code(raw)
        except CommandError as exc:
            key = "frontdesk.ticket_not_here" if "queue ticket" in str(exc) \
                else "frontdesk.code_unreadable"
            result = KioskResult(Outcome.REFUSED, text(key), code="not_a_booking",
                                 detail=str(exc))
            self._show(result)
            return result
        return await self.check_in(code)
