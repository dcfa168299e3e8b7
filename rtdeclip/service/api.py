"""The REST API, shaped like the AllGo platform's (``/api/v1/jobs``).

    POST /api/v1/jobs                       -> {"avg_time": s, "id": N, "url": ".../api/v1/jobs/N"}
    GET  /api/v1/jobs/N                     -> {"id": N, "status": s, "N": {file name: URL}}
    GET  /api/v1/jobs/N/events?offset=K     -> JSON lines: {"status"}, {"logs"}, {"eof"}, {}
    GET  /api/v1/jobs/N/files/NAME          -> the file

Every call needs ``Authorization: Token token=<token>`` (401 without);
another user's job is 404, exactly like a job that does not exist.
"""
import asyncio
import errno
import json
import mimetypes
import os
import shlex
import shutil
import time

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.security import APIKeyHeader
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from rtdeclip.errors import RtdeclipError
from rtdeclip.service import execute
from rtdeclip.service.auth import token_from_header
from rtdeclip.service.db import FINISHED, QUEUES
from rtdeclip.service.upload import StreamingForm, UploadError

# the A-SPADE web application's id on the AllGo platform, and its names
WEBAPP_ID = 134
WEBAPP_NAMES = ("aspade", "a-spade")
KEEPALIVE_S = 10.0
POLL_S = 0.25

router = APIRouter()
api_key = APIKeyHeader(name="Authorization", auto_error=False, scheme_name="Token",
                       description="Token token=<token> (rtdeclip serve --create-token NAME)")


class ApiError(Exception):
    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status, self.headers = status, headers


def current_user(request: Request, authorization: str | None = Depends(api_key)):
    token = token_from_header(authorization)
    user = request.app.state.store.user_for_token(token) if token else None
    if user is None:
        raise ApiError(401, "missing or invalid token: send the header "
                            "'Authorization: Token token=<token>'",
                       {"WWW-Authenticate": 'Token realm="rtdeclip"'})
    return user


def _own_job(request, job_id, user):
    """The job if it exists and belongs to this user; 404 otherwise (the
    same answer, so ids of other users' jobs cannot be probed)."""
    jid = int(job_id) if job_id.isascii() and job_id.isdigit() and len(job_id) < 19 else None
    job = request.app.state.store.get_job(jid) if jid is not None else None
    if job is None or job["user_id"] != user["id"]:
        raise ApiError(404, f"no job {job_id}")
    return job


def _base(request):
    public = request.app.state.public_url
    return public.rstrip("/") if public else str(request.base_url).rstrip("/")


def job_url(request, jid):
    return f"{_base(request)}/api/v1/jobs/{jid}"


_FILE_PART = {"type": "string", "format": "binary"}
CREATE_BODY = {
    "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object",
        "properties": {
            "job[webapp_id]": {"type": "string", "description": "134, or the name aspade",
                               "example": "134"},
            "job[webapp_name]": {"type": "string", "description": "aspade (alternative)"},
            "job[webapp]": {"type": "string", "description": "aspade (AllGo's newer name)"},
            "job[param]": {"type": "string", "example": "-c clipped.wav -o original.wav -p Fastest",
                           "description": "rtdeclip aspade's arguments; files by upload name"},
            "job[queue]": {"type": "string", "enum": list(QUEUES), "default": "standard"},
            "job[version]": {"type": "string", "description": "ignored"},
            **{f"files[{i}]": _FILE_PART for i in range(4)},
        }}}}},
}
ERR = {"content": {"application/json": {"schema": {
    "type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}}}}
ERRORS = {str(c): {"description": d, **ERR} for c, d in (
    (400, "bad request"), (401, "missing or invalid token"), (404, "no such job (or not yours)"),
    (413, "upload or audio too large"), (429, "too many unfinished jobs"))}


@router.post("/api/v1/jobs", openapi_extra=CREATE_BODY, tags=["jobs"],
             summary="Submit a job (AllGo compatible)",
             responses={200: {"description": "the new job", "content": {"application/json": {
                 "schema": {"type": "object", "properties": {
                     "avg_time": {"type": "integer"}, "id": {"type": "integer"},
                     "url": {"type": "string"}}}}}}, **ERRORS})
async def create_job(request: Request, user=Depends(current_user)):
    st = request.app.state
    limits = st.limits
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limits.max_upload_bytes:
        raise ApiError(413, f"upload of {int(length) / 1048576:.1f} MB is larger than this "
                            f"server's limit of {limits.max_upload_mb:g} MB")
    if st.store.unfinished_count(user["id"]) >= limits.max_queued:
        raise ApiError(429, f"you have {limits.max_queued} unfinished jobs, this server's "
                            f"limit: wait for some to finish", {"Retry-After": "30"})
    staging = st.runner.staging_dir()
    try:
        form = None
        try:
            form = StreamingForm(request.headers.get("content-type"), staging,
                                 limits.max_upload_bytes, limits.max_files, limits.max_fields)
            async for chunk in request.stream():
                form.write(chunk)
            form.finish()
        except UploadError as e:
            raise ApiError(e.status, str(e)) from None
        except ClientDisconnect:
            raise ApiError(400, "the client went away during the upload") from None
        except OSError as e:
            if e.errno == errno.ENOSPC:
                raise ApiError(507, "the server is out of disk space; try later") from None
            raise
        finally:
            if form is not None:
                form.close()
        queue, param, spec = job_spec(form)
        await run_in_threadpool(_check_duration, os.path.join(staging, spec["clipped"]),
                                limits.max_duration_s)
        jid = st.store.create_job(user["id"], queue, param, spec)
        try:
            # published by a rename: the job folder is complete or absent
            folder = st.runner.job_dir(jid)
            if os.path.exists(folder):   # left by a database that was reset
                shutil.rmtree(folder)
            os.replace(staging, folder)
        except BaseException:
            st.store.delete_job(jid)
            raise
        st.store.set_status(jid, "waiting")
        st.runner.wake()
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return {"avg_time": st.store.avg_time(), "id": jid, "url": job_url(request, jid)}


def job_spec(form):
    """The form's fields -> (queue, param, spec), or ApiError(400)."""
    f = form.fields
    app = (f.get("job[webapp_id]") or f.get("job[webapp_name]") or f.get("job[webapp]")
           or str(WEBAPP_ID)).strip()
    if app != str(WEBAPP_ID) and app.lower() not in WEBAPP_NAMES:
        raise ApiError(400, f"unknown webapp {app!r}: this server runs A-SPADE "
                            f"(job[webapp_id]={WEBAPP_ID} or aspade)")
    queue = (f.get("job[queue]") or "standard").strip().lower()
    if queue not in QUEUES:
        raise ApiError(400, f"job[queue] must be one of {', '.join(QUEUES)}, got {queue!r}")
    uploads = [name for name, _ in form.files.values()]
    if not uploads:
        raise ApiError(400, "no file uploaded: send the clipped file as files[0]")
    param = f.get("job[param]", "").strip()
    if not param:   # the page's default: first file clipped, second the reference
        param = shlex.join(["-c", uploads[0]] + (["-o", uploads[1]] if len(uploads) > 1 else []))
    try:
        argv = shlex.split(param)
    except ValueError as e:
        raise ApiError(400, f"job[param]: {e}") from None
    from rtdeclip.cli.file import aspade_parser
    try:
        args = aspade_parser().parse_args(argv)
    except RtdeclipError as e:
        raise ApiError(400, f"job[param]: {e}") from None
    for opt in ("output", "report", "plot"):
        if getattr(args, opt):
            raise ApiError(400, f"job[param]: --{opt} is not available here: the job's "
                                f"results are its files")
    for opt, name in (("-c", args.clipped), ("-o", args.original)):
        if name is not None and name not in uploads:
            raise ApiError(400, f"job[param]: {opt} {name}: no uploaded file has that name "
                                f"(uploaded: {', '.join(uploads)})")
    reserved = set(execute.OUTPUTS) | {execute.output_name(args.clipped)}
    for name in uploads:
        if name in reserved:
            raise ApiError(400, f"{name}: an upload may not have the name of a result file")
    _check_options(args)
    spec = {"clipped": args.clipped, "original": args.original, "preset": args.preset_,
            "algorithm": args.algorithm, "threshold": args.threshold, "format": args.format,
            "source_rate": args.source_rate}
    return queue, param, spec


def _check_options(args):
    """What declip_file would refuse, refused now (400) instead of as a failed job."""
    from rtdeclip.files.pipeline import check_options
    try:
        check_options(args.preset_, args.algorithm, args.threshold, args.format,
                      args.source_rate)
    except RtdeclipError as e:
        raise ApiError(400, f"job[param]: {e}") from None


def _check_duration(path, limit):
    """413 for audio longer than the limit, when its header tells; an
    unreadable file is left to the job, which fails with rtdeclip's message."""
    from rtdeclip.files.audio_io import AudioSource
    try:
        src = AudioSource(path)
    except Exception:
        return
    if src.declared_frames and src.sample_rate:
        seconds = src.declared_frames / src.sample_rate
        if seconds > limit:
            raise ApiError(413, f"{os.path.basename(path)} lasts {seconds:.1f} s, longer than "
                                f"this server's limit of {limit:g} s")


def _files(folder):
    try:
        names = sorted(os.listdir(folder))
    except FileNotFoundError:
        return []
    return [n for n in names if not n.startswith(".") and os.path.isfile(os.path.join(folder, n))]


@router.get("/api/v1/jobs/{job_id}", tags=["jobs"], summary="A job's status and files",
            responses={200: {"description": "status; files as a map under the job id",
                             "content": {"application/json": {"schema": {"type": "object"}}}},
                       **ERRORS})
def get_job(job_id: str, request: Request, user=Depends(current_user)):
    job = _own_job(request, job_id, user)
    jid = job["id"]
    url = job_url(request, jid)
    folder = request.app.state.runner.job_dir(jid)
    body = {"id": jid, "status": job["status"],
            str(jid): {n: f"{url}/files/{n}" for n in _files(folder)}}
    if job["status"] == "error" and job["error"]:
        body["error"] = job["error"]
    return body


@router.get("/api/v1/jobs/{job_id}/files/{name}", tags=["jobs"], summary="Download a job's file",
            responses={200: {"description": "the file", "content": {"application/octet-stream": {}}},
                       **ERRORS})
def get_file(job_id: str, name: str, request: Request, user=Depends(current_user)):
    job = _own_job(request, job_id, user)
    folder = request.app.state.runner.job_dir(job["id"])
    if name not in _files(folder):
        raise ApiError(404, f"job {job['id']} has no file {name!r}")
    # uploads are the user's own bytes: served as data, never as a page of this site
    kind = mimetypes.guess_type(name)[0] or ""
    if not (kind.startswith(("audio/", "video/")) or kind in ("image/png", "application/json")):
        kind = "text/plain" if name.endswith(".log") else "application/octet-stream"
    return FileResponse(os.path.join(folder, name), media_type=kind,
                        headers={"X-Content-Type-Options": "nosniff"})


@router.get("/api/v1/jobs/{job_id}/events", tags=["jobs"], summary="Follow a job (JSON lines)",
            responses={200: {"description": "line-delimited JSON: {\"status\": s}, "
                             "{\"logs\": text}, {\"logs\": \"\"} at the end of the log, "
                             "{\"progress\": fraction} (rtdeclip), {} keepalive, {\"eof\": null}",
                             "content": {"application/x-ndjson": {}}}, **ERRORS})
async def job_events(job_id: str, request: Request,
                     offset: int = Query(0, ge=-1, le=2 ** 62,
                                         description="log offset in bytes; -1: no logs"),
                     user=Depends(current_user)):
    job = _own_job(request, job_id, user)
    st = request.app.state
    folder = st.runner.job_dir(job["id"])

    async def lines():
        last_status, last_progress, pos = None, None, offset
        last_sent = time.monotonic()
        logs = offset >= 0
        while True:
            cur = st.store.get_job(job["id"])
            out = []
            status = cur["status"] if cur else "error"
            if status != last_status:
                out.append({"status": status})
                last_status = status
            if status == "running":
                try:
                    with open(os.path.join(folder, execute.PROGRESS)) as f:
                        p = float(f.read() or 0)
                except (OSError, ValueError):
                    p = 0.0
                if p != last_progress:
                    out.append({"progress": p})
                    last_progress = p
            finished = cur is None or status in FINISHED
            if logs and finished:   # allgo.log is written once, at the job's end
                try:
                    with open(os.path.join(folder, "allgo.log"), "rb") as f:
                        f.seek(pos)
                        data = f.read()
                except OSError:
                    data = b""
                if data:
                    out.append({"logs": data.decode("utf-8", errors="replace")})
                    pos += len(data)
                out.append({"logs": ""})
            if finished:
                out.append({"eof": None})
            now = time.monotonic()
            if not out and now - last_sent > KEEPALIVE_S:
                out.append({})
            if out:
                last_sent = now
                yield "".join(json.dumps(m) + "\n" for m in out)
            if finished or await request.is_disconnected():
                return
            await asyncio.sleep(POLL_S)

    return StreamingResponse(lines(), media_type="application/x-ndjson")


def error_response(status, message, headers=None):
    return JSONResponse({"error": message}, status_code=status, headers=headers)
