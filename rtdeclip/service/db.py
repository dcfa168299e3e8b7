"""Users and jobs in SQLite.

The database is the queue: a job is a row whose status moves
created -> waiting -> running -> done | error.  WAL journal with
synchronous=FULL, so a committed change survives the process being killed
(and the machine losing power); one connection shared by the server's
threads under a lock (every statement is short).
"""
import json
import os
import sqlite3
import threading
import time

from rtdeclip.service.auth import hash_token, new_token

# AllGo's status names; "in progress" is accepted in the schema but this
# server never sets it (see docs/service.md)
STATUSES = ("created", "waiting", "running", "in progress", "done", "error")
UNFINISHED = ("created", "waiting", "running", "in progress")
FINISHED = ("done", "error")
QUEUES = ("interactive", "standard", "batch")   # claimed in this order

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id),
    status TEXT NOT NULL,
    queue TEXT NOT NULL DEFAULT 'standard',
    param TEXT NOT NULL DEFAULT '',
    spec TEXT NOT NULL,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    started REAL,
    finished REAL
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status);
CREATE INDEX IF NOT EXISTS jobs_user ON jobs(user_id, status);
"""


class Store:
    def __init__(self, path):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.lock = threading.Lock()
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None,
                                  timeout=30)
        self.db.row_factory = sqlite3.Row
        with self.lock:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.executescript(SCHEMA)

    def close(self):
        with self.lock:
            self.db.close()

    def _one(self, sql, args=()):
        with self.lock:
            return self.db.execute(sql, args).fetchone()

    def _all(self, sql, args=()):
        with self.lock:
            return self.db.execute(sql, args).fetchall()

    def _exec(self, sql, args=()):
        with self.lock:
            cur = self.db.execute(sql, args)
            return cur.lastrowid, cur.rowcount

    # users
    def create_user(self, name):
        """A new user (or a new token for an existing one); returns the token."""
        token = new_token()
        h = hash_token(token)
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                row = self.db.execute("SELECT id FROM users WHERE name=?", (name,)).fetchone()
                if row:
                    self.db.execute("UPDATE users SET token_hash=? WHERE id=?", (h, row["id"]))
                else:
                    self.db.execute("INSERT INTO users(name, token_hash, created) VALUES (?,?,?)",
                                    (name, h, time.time()))
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        return token

    def revoke_user(self, name):
        """The user's token stops working (jobs and files stay until purged)."""
        _, n = self._exec("UPDATE users SET token_hash='revoked:' || id WHERE name=?", (name,))
        return n > 0

    def users(self):
        return [dict(r) for r in self._all(
            "SELECT id, name, created, token_hash LIKE 'revoked:%' AS revoked FROM users ORDER BY id")]

    def user_for_token(self, token):
        row = self._one("SELECT id, name FROM users WHERE token_hash=?", (hash_token(token),))
        return dict(row) if row else None

    # jobs
    def create_job(self, user_id, queue, param, spec):
        jid, _ = self._exec(
            "INSERT INTO jobs(user_id, status, queue, param, spec, created) VALUES (?,?,?,?,?,?)",
            (user_id, "created", queue, param, json.dumps(spec), time.time()))
        return jid

    def set_status(self, jid, status, error=None):
        fin = time.time() if status in FINISHED else None
        self._exec("UPDATE jobs SET status=?, error=?, finished=? WHERE id=?",
                   (status, error, fin, jid))

    def delete_job(self, jid):
        self._exec("DELETE FROM jobs WHERE id=?", (jid,))

    def get_job(self, jid):
        row = self._one("SELECT * FROM jobs WHERE id=?", (jid,))
        if not row:
            return None
        job = dict(row)
        job["spec"] = json.loads(job["spec"])
        return job

    def unfinished_count(self, user_id):
        return self._one("SELECT COUNT(*) FROM jobs WHERE user_id=? AND status IN (?,?,?,?)",
                         (user_id, *UNFINISHED))[0]

    def claim_next(self):
        """The next waiting job, marked running (atomically), or None."""
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                row = self.db.execute(
                    "SELECT id FROM jobs WHERE status='waiting' ORDER BY "
                    "CASE queue WHEN 'interactive' THEN 0 WHEN 'standard' THEN 1 ELSE 2 END, id "
                    "LIMIT 1").fetchone()
                if row:
                    self.db.execute("UPDATE jobs SET status='running', started=?, "
                                    "attempts=attempts+1 WHERE id=?", (time.time(), row["id"]))
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        return self.get_job(row["id"]) if row else None

    def requeue_interrupted(self):
        """At start-up (and shutdown): jobs that were running go back to the
        queue; returns their ids."""
        rows = self._all("SELECT id FROM jobs WHERE status IN ('running', 'in progress')")
        self._exec("UPDATE jobs SET status='waiting' WHERE status IN ('running', 'in progress')")
        return [r["id"] for r in rows]

    def jobs_with_status(self, status):
        return [r["id"] for r in self._all("SELECT id FROM jobs WHERE status=?", (status,))]

    def old_finished(self, before):
        return [r["id"] for r in self._all(
            "SELECT id FROM jobs WHERE status IN ('done','error') AND finished < ?", (before,))]

    def avg_time(self, n=20):
        """Mean run time of the last n finished jobs (AllGo's avg_time), s."""
        row = self._one("SELECT AVG(finished - started) FROM (SELECT finished, started FROM jobs "
                        "WHERE status='done' AND started IS NOT NULL ORDER BY id DESC LIMIT ?)",
                        (n,))
        return round(row[0]) if row and row[0] is not None else 0
