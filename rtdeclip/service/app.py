"""The FastAPI application: the REST API, the page at /, JSON errors.

Every error is a JSON object ``{"error": "one line"}`` with a 4xx status;
a bug still answers JSON (500, "internal error"), never a traceback.
"""
import logging
import os
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from rtdeclip.service.api import ApiError, error_response, router
from rtdeclip.service.db import Store
from rtdeclip.service.jobs import Runner
from rtdeclip.service.limits import Limits

log = logging.getLogger("rtdeclip.service")
STATIC = str(resources.files("rtdeclip.service") / "static")


def create_app(data, workers=1, client=None, limits=None, public_url=None, run_jobs=True):
    """The application serving ``data`` (SQLite + job folders).  Jobs run
    in ``workers`` child processes, or on the Dask cluster of ``client``."""
    limits = limits or Limits()
    os.makedirs(data, exist_ok=True)
    store = Store(os.path.join(data, "rtdeclip.sqlite3"))
    runner = Runner(store, data, workers, client, limits)

    @asynccontextmanager
    async def lifespan(app):
        if run_jobs:
            runner.start()
        try:
            yield
        finally:
            if run_jobs:
                runner.stop()

    app = FastAPI(title="rtdeclip service", version="1",
                  description="A-SPADE declipping jobs; the AllGo platform's /api/v1/jobs API. "
                              "Authorization: Token token=<token> on every /api call.",
                  lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.store, app.state.runner, app.state.limits = store, runner, limits
    app.state.public_url = public_url

    @app.exception_handler(ApiError)
    async def _api_error(request, exc):
        return error_response(exc.status, str(exc), exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request, exc):
        return error_response(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request, exc):
        errs = exc.errors()
        first = errs[0] if errs else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return error_response(400, f"{where}: {first.get('msg', 'invalid request')}")

    @app.exception_handler(Exception)
    async def _bug(request, exc):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "internal error")

    app.include_router(router)

    @app.get("/", include_in_schema=False)
    def page():
        return FileResponse(os.path.join(STATIC, "index.html"))

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
