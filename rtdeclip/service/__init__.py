"""``rtdeclip serve``: the A-SPADE web service, self-hosted.

    app.py      the FastAPI application (create_app)
    api.py      the REST routes, compatible with the AllGo platform's /api/v1/jobs
    upload.py   multipart uploads streamed straight to disk, with a size limit
    db.py       users and jobs in SQLite (WAL): the queue survives a SIGKILL
    auth.py     tokens (only their hashes are stored)
    jobs.py     the runner: local subprocesses or a Dask cluster
    execute.py  one job: rtdeclip file on the job's folder (top level, so Dask can ship it)
    limits.py   upload size, audio duration, queued jobs per user, purge age
    static/     the web page (plain HTML/CSS/JS)
"""
