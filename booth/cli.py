"""``bilik booth``: run the booth agent (registered by :mod:`bilik.cli`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path
from typing import Any

# OpenCV before PyAV: PyAV's wheel bundles its own libxcb, and if it is loaded first,
# OpenCV's Qt window (--screen window) hangs for ever in its first call (PyAV #978,
# #1050). booth.replay, just below, imports av.
import cv2  # noqa: F401 - must precede every import of av

from bilik import config as cfg
from bilik import cvthreads
from bilik.agent.serve import serve
from bilik.agent.settings import add_connection_flags, connection_overrides
from bilik.agent.token import device_credential
from booth import limits
from booth.config import BoothConfig
from booth.replay import encode_loop, small_loop_path
from signaling import enrolclient
from signaling.client import NotConnected

log = logging.getLogger(__name__)


def register(sub: Any, name: str) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help="run the booth agent (camera, call to the officer)",
        description=(
            "Run the booth agent: the participant's side from ticket to receipt (flow = "
            "ticket), or a booth that asks for any officer at once (flow = direct: demo, "
            "benchmarks). Camera and microphone go to the paired hub, the officer comes "
            "back on the booth screen (--screen off|window|DIR). Runs until Ctrl-C or SIGTERM. "
            "Settings come from --config (section [booth]), BILIK_BOOTH_* variables and flags."
        ),
    )
    parser.add_argument("--config", type=Path, help="booth.toml (section [booth])")
    add_connection_flags(parser)
    parser.add_argument("--source", choices=("testpattern", "replay"), help="video source")
    parser.add_argument("--replay-file", type=Path, help="VP8 loop (IVF) for --source replay")
    parser.add_argument("--fps", type=int, help="frames a second (default 15)")
    parser.add_argument("--flow", choices=("direct", "ticket"),
                        help="ticket: claim ticket QRs through the queue; direct: any officer")
    parser.add_argument("--camera", help="booth camera: testpattern or an OpenCV device")
    parser.add_argument("--microphone", help="silence or alsa:<device>")
    parser.add_argument("--ice-addresses", help="interfaces, addresses or networks ICE may "
                        "use for calls, comma-separated (e.g. eth0 or 192.168.10.0/24)")
    parser.add_argument("--document-camera",
                        help="none, an OpenCV device, or a directory of images (emulator)")
    parser.add_argument("--printer", help="receipt printer address (serial:..., tcp:...)")
    parser.add_argument("--reader", help="ticket QR reader serial port or pyserial URL")
    parser.add_argument("--data-dir", type=Path, help="state file and document spool")
    parser.add_argument("--screen", help="off, window, or a directory for PNG snapshots")
    parser.add_argument("--theme", choices=("standard", "high_contrast"),
                        help="colours of the booth screen")
    parser.add_argument("--text-size", choices=("normal", "large", "largest"),
                        help="text size of the booth screen's instructions")
    parser.add_argument("--no-read-aloud", action="store_true",
                        help="do not read the instructions aloud")
    parser.add_argument("--hand-button", help="serial hand button (path or pyserial URL)")
    parser.set_defaults(func=run)
    inner = parser.add_subparsers(dest="booth_command", metavar="SUBCOMMAND")
    make = inner.add_parser(
        "make-replay",
        help="write the test-pattern loop as pre-encoded VP8 (IVF) for --source replay",
        description=(
            "Write the test-pattern loop as pre-encoded VP8 (IVF) for --source replay: the "
            "full picture at PATH and the out-of-focus picture beside it (loop.ivf -> "
            "loop.small.ivf). Give the booth PATH; it finds the other."
        ),
    )
    make.add_argument("path", type=Path, help="output file, e.g. loop.ivf")
    make.add_argument("--fps", type=int, default=15, help="frames a second (default 15)")
    make.set_defaults(func=make_replay)
    enrolclient.add_command(inner, "booth", "booth", load_config)
    conf = inner.add_parser("config", help="print the default booth.toml with every setting")
    conf.set_defaults(func=lambda args: print(cfg.describe(BoothConfig, "booth")) or 0)


def load_config(args: argparse.Namespace) -> BoothConfig:
    return cfg.load(
        BoothConfig,
        "booth",
        path=args.config,
        overrides={
            **connection_overrides(args),
            "source": args.source,
            "replay_file": args.replay_file,
            "fps": args.fps,
            "flow": args.flow,
            "camera": args.camera,
            "microphone": args.microphone,
            "document_camera": args.document_camera,
            "ice_addresses": args.ice_addresses,
            "printer": args.printer,
            "reader": args.reader,
            "data_dir": args.data_dir,
            "screen": args.screen,
            "theme": args.theme,
            "text_size": args.text_size,
            "read_aloud": False if args.no_read_aloud else None,
            "hand_button": args.hand_button,
        },
    )


def make_replay(args: argparse.Namespace) -> int:
    frames = encode_loop(args.path, fps=args.fps)
    print(f"wrote {frames} VP8 frames to {args.path} and, out of focus, to "
          f"{small_loop_path(args.path)}")
    return 0


def run(args: argparse.Namespace) -> int:
    config = load_config(args)
    token = device_credential(config, config.token, config.token_file, config.server, "booth")
    asyncio.run(_serve(config, token))
    return 0


async def _serve(config: BoothConfig, token: str) -> None:
    from booth.agent import BoothAgent  # aiortc is imported only when the agent runs

    cvthreads.single_threaded()
    # An unattended booth keeps trying; the client reconnects by itself.
    await serve(BoothAgent(config, token), "booth agent", connect_timeout=limits.CONNECT_TIMEOUT_S,
                still_trying=NotConnected)
