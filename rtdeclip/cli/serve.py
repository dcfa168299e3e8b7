"""``rtdeclip serve``: the A-SPADE web service (REST API + page).

    rtdeclip serve --data DIR [--host 127.0.0.1] [--port 8000] [--workers N]
                   [--scheduler tcp://HOST:8786] [--max-upload-mb N] [--max-duration S]
                   [--max-queued N] [--purge-after-hours H]
    rtdeclip serve --data DIR --create-token NAME     # prints the token on its last line
    rtdeclip serve --data DIR --list-tokens | --revoke-token NAME
"""
import logging
import os

from rtdeclip.errors import UserError


def register(sub):
    p = sub.add_parser("serve", help="the web service: REST API (AllGo compatible) and page",
                       description="Serve the A-SPADE web service: the REST API at /api/v1/jobs "
                                   "and the page at /.")
    p.add_argument("--data", required=True, metavar="DIR",
                   help="database, uploads and results (shared storage with --scheduler)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--workers", type=int, default=None,
                   help="jobs run at once (default: 1 local; with --scheduler the cluster's threads)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run jobs on this Dask scheduler (tcp://... or tls://...) instead of "
                        "local processes")
    p.add_argument("--tls-ca-file", help="CA certificate for a tls:// scheduler")
    p.add_argument("--tls-cert", help="client certificate for a tls:// scheduler")
    p.add_argument("--tls-key", help="client key for a tls:// scheduler")
    p.add_argument("--max-upload-mb", type=float, default=200.0,
                   help="largest request body, MB (default 200; larger: 413)")
    p.add_argument("--max-duration", type=float, default=1800.0, metavar="SECONDS",
                   help="longest clipped input, seconds (default 1800; longer: 413)")
    p.add_argument("--max-queued", type=int, default=20,
                   help="unfinished jobs per user (default 20; more: 429)")
    p.add_argument("--purge-after-hours", type=float, default=168.0,
                   help="delete finished jobs and their files after this (default 168; 0: never)")
    p.add_argument("--public-url", help="base URL in job and file links (default: from the request)")
    p.add_argument("--log-level", default="info", help="uvicorn log level (default info)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--create-token", metavar="NAME",
                   help="print a new token for user NAME (made if new) and exit")
    g.add_argument("--list-tokens", action="store_true", help="list users and exit")
    g.add_argument("--revoke-token", metavar="NAME", help="disable NAME's token and exit")
    p.set_defaults(func=run_serve)


def run_serve(args):
    try:
        import fastapi  # noqa: F401
        import uvicorn
        import python_multipart  # noqa: F401
    except ImportError as e:
        raise UserError(f"rtdeclip serve needs {e.name}: pip install 'rtdeclip[service]'") from None
    if args.create_token or args.list_tokens or args.revoke_token:
        return _tokens(args)
    from rtdeclip.service.app import create_app
    from rtdeclip.service.limits import Limits
    for name, v in (("--max-upload-mb", args.max_upload_mb), ("--max-duration", args.max_duration),
                    ("--max-queued", args.max_queued)):
        if v <= 0:
            raise UserError(f"{name} must be > 0")
    if args.workers is not None and args.workers < 1:
        raise UserError("--workers must be >= 1")
    limits = Limits(max_upload_mb=args.max_upload_mb, max_duration_s=args.max_duration,
                    max_queued=args.max_queued, purge_after_h=args.purge_after_hours)
    _data_dir(args.data)
    client = _cluster(args) if args.scheduler else None
    workers = args.workers if args.workers else (None if client else 1)
    app = create_app(args.data, workers=workers, client=client, limits=limits,
                     public_url=args.public_url)
    logging.basicConfig(level=getattr(logging, args.log_level.upper(), logging.INFO),
                        format="%(levelname)s:     %(message)s")
    print(f"rtdeclip serve: http://{args.host}:{args.port}/ (data in {os.path.abspath(args.data)})",
          flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level,
                timeout_graceful_shutdown=5)
    return 0


def _cluster(args):
    """A client of the Dask cluster; every worker must see --data (shared
    storage: jobs are read and written there by path)."""
    from rtdeclip.cluster.dask_runner import connect
    client = connect(args.scheduler, (args.tls_ca_file, args.tls_cert, args.tls_key))
    data = os.path.abspath(args.data)
    try:
        seen = client.run(os.path.isdir, data)
    except Exception as e:
        client.close()
        raise UserError(f"a Dask worker cannot run rtdeclip ({type(e).__name__}); "
                        f"install rtdeclip on every worker") from None
    blind = sorted(w for w, ok in seen.items() if not ok)
    if blind:
        client.close()
        raise UserError(f"{data}: not visible on Dask worker(s) {', '.join(blind)}: "
                        f"--data must be storage shared by the server and every worker")
    return client


def _data_dir(path):
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise UserError(f"{path}: cannot create the data folder ({e.strerror})") from None
    if not os.access(path, os.W_OK):
        raise UserError(f"{path}: data folder is not writable")


def _tokens(args):
    from rtdeclip.service.db import Store
    _data_dir(args.data)
    store = Store(os.path.join(args.data, "rtdeclip.sqlite3"))
    try:
        if args.create_token:
            name = args.create_token.strip()
            if not name:
                raise UserError("--create-token needs a user name")
            token = store.create_user(name)
            print(f"token for {name} (shown once; the server keeps only its hash):")
            print(token)
        elif args.revoke_token:
            if not store.revoke_user(args.revoke_token):
                raise UserError(f"no user {args.revoke_token!r}")
            print(f"token of {args.revoke_token} revoked")
        else:
            for u in store.users():
                print(f"{u['name']}\t{'revoked' if u['revoked'] else 'active'}")
    finally:
        store.close()
    return 0
