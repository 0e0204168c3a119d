"""Fingerprinted static assets: `url_for('static', filename=…)` adds
`?v=<content hash>`, and a request carrying the file's current hash is
served with a year-long `immutable` cache. A new release changes the hash,
so browsers and proxies fetch the new file at once and never ask again for
one they have; a request with an old or missing hash gets a short cache.
Nothing to build: the hash is read from the file, once per process.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache

from flask import Flask, request

YEAR = 365 * 24 * 3600
SHORT = 300


@lru_cache(maxsize=512)
def _digest(path: str, mtime_ns: int, size: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(65536), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def digest(app: Flask, filename: str) -> str | None:
    path = os.path.realpath(os.path.join(app.static_folder, filename))
    if not path.startswith(os.path.realpath(app.static_folder) + os.sep):
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return _digest(path, st.st_mtime_ns, st.st_size)


def init_app(app: Flask) -> None:
    @app.url_defaults
    def _fingerprint(endpoint, values):
        if endpoint == "static" and "filename" in values and "v" not in values:
            version = digest(app, values["filename"])
            if version:
                values["v"] = version

    @app.after_request
    def _cache_static(response):
        if request.endpoint == "static" and response.status_code in (200, 304):
            filename = (request.view_args or {}).get("filename", "")
            if request.args.get("v") and request.args.get("v") == digest(app, filename):
                response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
            else:
                response.headers["Cache-Control"] = f"public, max-age={SHORT}"
        return response
