"""The head office's aiohttp application: signed requests from registered branches to the
receiver and the bookings; ``/healthz`` and ``/metrics`` open."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
from aiohttp import web

from bilik.evidence import keys, requestauth
from bilik.evidence.errors import KeyFileError
from headoffice import bookings, database, limits
from headoffice.blobs import Blobs
from headoffice.config import HeadOfficeConfig
from headoffice.errors import HeadOfficeError
from headoffice.metrics import HeadOfficeMetrics
from headoffice.problems import problem
from headoffice.receiver import Receiver

POOL_KEY: web.AppKey[asyncpg.Pool] = web.AppKey("headoffice_pool")
RECEIVER_KEY: web.AppKey[Receiver] = web.AppKey("headoffice_receiver")
METRICS_KEY: web.AppKey[HeadOfficeMetrics] = web.AppKey("headoffice_metrics")

BranchHandler = Callable[[web.Request, str], Awaitable[web.StreamResponse]]


def make_app(config: HeadOfficeConfig, *,
             clock: Callable[[], float] = time.time) -> web.Application:
    app = web.Application(client_max_size=config.max_chunk_bytes + 1024)
    metrics = HeadOfficeMetrics()
    app[METRICS_KEY] = metrics
    blobs = Blobs(config.blob_dir)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        try:
            await asyncio.to_thread(blobs.prepare)
        except OSError as exc:
            raise HeadOfficeError(f"blob directory {config.blob_dir} cannot be used: "
                                  f"{exc.strerror or exc}") from None
        pool = await database.connect(config.dsn, min_size=config.pool_min,
                                      max_size=max(config.pool_min, config.pool_max))
        app[POOL_KEY] = pool
        receiver = app[RECEIVER_KEY] = Receiver(pool, blobs, metrics)

        async def sweep() -> None:
            while True:
                # The database away: the next sweep will do it.
                with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                    await receiver.sweep_stale(limits.STALE_UPLOAD_S)
                await asyncio.sleep(limits.SWEEP_INTERVAL_S)

        sweeper = asyncio.get_running_loop().create_task(sweep(), name="headoffice-sweep")
        yield
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
        await pool.close()

    app.cleanup_ctx.append(lifecycle)

    def signed(handler: BranchHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """Only a registered branch's signed request reaches ``handler``, with its id."""

        async def wrapped(request: web.Request) -> web.StreamResponse:
            try:
                branch = requestauth.claimed_branch(request.headers)
                pem = await database.branch_key(app[POOL_KEY], branch[:64])
                if pem is None:
                    metrics.unauthorized.inc()
                    raise problem(403, "unknown_branch", f"branch {branch[:64]!r} is not "
                                  "registered at the head office (bilik headoffice branch add)")
                requestauth.check(request.headers, request.method, request.path_qs,
                                  keys.parse_public(pem, "the registered key"), clock())
            except (requestauth.RequestRefused, KeyFileError) as exc:
                metrics.unauthorized.inc()
                raise problem(401, "unauthorized", str(exc)) from None
            return await handler(request, branch)

        return wrapped

    async def open_upload(request: web.Request, branch: str) -> web.StreamResponse:
        return await app[RECEIVER_KEY].open(request, branch)

    async def put_chunk(request: web.Request, branch: str) -> web.StreamResponse:
        return await app[RECEIVER_KEY].put(request, branch)

    async def finish(request: web.Request, branch: str) -> web.StreamResponse:
        return await app[RECEIVER_KEY].finish(request, branch)

    async def day_bookings(request: web.Request, branch: str) -> web.StreamResponse:
        return await bookings.serve(request, app[POOL_KEY], branch)

    async def healthz(_request: web.Request) -> web.Response:
        try:
            await app[POOL_KEY].fetchval("SELECT 1")
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            return web.json_response({"ok": False, "database": str(exc)}, status=503)
        return web.json_response({"ok": True})

    async def render_metrics(_request: web.Request) -> web.Response:
        from prometheus_client.exposition import CONTENT_TYPE_LATEST

        return web.Response(body=metrics.render(), headers={"Content-Type":
                                                            CONTENT_TYPE_LATEST})

    app.router.add_post("/api/bundles", signed(open_upload))
    app.router.add_put("/api/bundles/uploads/{upload}", signed(put_chunk))
    app.router.add_post("/api/bundles/uploads/{upload}/finish", signed(finish))
    app.router.add_get("/api/bookings", signed(day_bookings))
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", render_metrics)
    return app
