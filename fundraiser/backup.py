"""`flask --app fundraiser backup PATH` and `restore PATH`: the whole database
(gifts, payments and their history, stored webhook events, the match ledger,
appeals, images, staff accounts and the audit log) in one file.

SQLite uses its online backup API (`sqlite3.Connection.backup`), which copies a
consistent snapshot while the app keeps running, WAL included. PostgreSQL uses
`pg_dump -Fc` and `pg_restore --clean --if-exists` (the client tools must be
the server's major version or newer). A backup is written to a temporary file
beside PATH and renamed, so a half-written file never has the final name."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import tempfile
from contextlib import closing

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.engine import make_url

from .extensions import db

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


class BackupError(Exception):
    """Something a person can fix; the message says what."""


def _kind(url: str) -> str:
    name = make_url(url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise BackupError(f"backups of {name} databases are not supported")
    return name


def _sqlite_path(url: str) -> str:
    path = make_url(url).database
    if not path or path == ":memory:":
        raise BackupError("this SQLite database lives in memory; there is no file to back up")
    return path


def _libpq_url(url: str) -> str:
    """The SQLAlchemy URL as pg_dump reads it (no '+psycopg' driver part)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _file_kind(path: str) -> str:
    if not os.path.exists(path):
        raise BackupError(f"{path}: no such file")
    if not os.path.isfile(path):
        raise BackupError(f"{path}: not a file")
    with open(path, "rb") as f:
        head = f.read(16)
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_DUMP_MAGIC):
        return "postgresql"
    raise BackupError(f"{path}: not a Fundraiser backup (neither an SQLite database nor a "
                      "pg_dump custom-format file)")


def _run(args: list[str], env_url: str) -> None:
    try:
        done = subprocess.run(args + ["--dbname", env_url], capture_output=True, text=True,
                              timeout=3600)
    except FileNotFoundError as exc:
        raise BackupError(f"{args[0]} was not found: install the PostgreSQL client tools "
                          "(the server's major version or newer)") from exc
    if done.returncode != 0:
        raise BackupError(f"{args[0]} failed: {done.stderr.strip()[-2000:]}")


def _temp_beside(path: str) -> str:
    fd, tmp = tempfile.mkstemp(prefix=".backup-", dir=os.path.dirname(os.path.abspath(path)))
    os.close(fd)
    return tmp


def backup(url: str, path: str, *, force: bool = False) -> str:
    """Write a backup of the database at `url` to `path`. Returns its kind."""
    kind = _kind(url)
    if os.path.exists(path) and not force:
        raise BackupError(f"{path} exists; give --force to replace it")
    if os.path.isdir(path):
        raise BackupError(f"{path} is a directory; give a file name")
    if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        raise BackupError(f"{os.path.dirname(os.path.abspath(path))}: no such directory")
    tmp = _temp_beside(path)
    try:
        if kind == "sqlite":
            source = _sqlite_path(url)
            if not os.path.exists(source):
                raise BackupError(f"{source}: the database file does not exist")
            with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(tmp)) as dest:
                src.backup(dest)
                # One self-contained file (no -wal beside it) for the copy.
                dest.execute("PRAGMA journal_mode = DELETE")
        else:
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                  "--file", tmp], _libpq_url(url))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return kind


def _has_schema_sqlite(path: str) -> bool:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        return conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                            "AND name = 'alembic_version'").fetchone()[0] > 0


def _holds_data() -> bool:
    from sqlalchemy import inspect

    return "alembic_version" in inspect(db.engine).get_table_names()


def restore(url: str, path: str, *, force: bool = False) -> str:
    """Replace the database at `url` with the backup at `path`."""
    kind = _kind(url)
    found = _file_kind(path)
    if found != kind:
        raise BackupError(f"{path} is a backup of a {found} database; this app uses {kind}")
    if kind == "sqlite" and not _has_schema_sqlite(path):
        raise BackupError(f"{path}: an SQLite file, but not a Fundraiser database")
    if kind == "postgresql":
        listing = subprocess.run(["pg_restore", "--list", path], capture_output=True,
                                 text=True)
        if listing.returncode != 0 or not re.search(r"TABLE public alembic_version\b",
                                                     listing.stdout):
            raise BackupError(f"{path}: not a readable Fundraiser dump "
                              f"{listing.stderr.strip()[-500:]}".rstrip())
    db.session.remove()  # end this process's own transaction before looking
    if _holds_data() and not force:
        raise BackupError("this database already holds data; give --force to replace it "
                          "with the backup")
    db.engine.dispose()  # no pooled connection may keep the old data open
    if kind == "sqlite":
        target = _sqlite_path(url)
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as src, \
                closing(sqlite3.connect(target)) as dest:
            src.backup(dest)
    else:
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges",
              "--single-transaction", "--exit-on-error", path], _libpq_url(url))
    db.engine.dispose()
    return kind


def _url() -> str:
    return current_app.config["SQLALCHEMY_DATABASE_URI"]


@click.command("backup")
@with_appcontext
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="replace PATH if it exists")
def backup_command(path, force):
    """Back up the whole database to PATH (SQLite copy or pg_dump custom format)."""
    try:
        kind = backup(_url(), path, force=force)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"backed up the {kind} database to {path} ({os.path.getsize(path)} bytes)")


@click.command("restore")
@with_appcontext
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True,
              help="replace a database that already holds data (everything in it is lost)")
def restore_command(path, force):
    """Replace the database with the backup at PATH."""
    try:
        kind = restore(_url(), path, force=force)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"restored the {kind} database from {path}")

