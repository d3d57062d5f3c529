"""Where version stores live: a local directory or an object store, through fsspec.

Three primitives are all the version store needs, and each has a local and a remote form:

    write_atomic(key, data)      readers see the old bytes or the new, never a torn file
                                 local: temp file + fsync + rename; remote: one PUT (object
                                 stores publish an object whole or not at all)
    create(key, data) -> bool    write-once: False when the key already exists
                                 local: temp file + hard link (atomic and exclusive);
                                 remote: fsspec ``pipe_file(mode="create")``
    lock(name, timeout)          one writer per stack at a time
                                 local: an OS file lock (``filelock``), released by the kernel
                                 if the holder dies; remote: a lock object made with create()

Honest limits of the remote form: ``pipe_file(mode="create")`` is a conditional PUT
(``If-None-Match``) only where the fsspec backend implements it; elsewhere fsspec checks then
writes, which leaves a short race window. A remote lock left by a killed process stays until
it is deleted (the refusal message names it); roost never breaks a lock on its own.
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import filelock
import fsspec
from fsspec.implementations.local import LocalFileSystem

from placement.atomic import _fsync_dir, atomic_write_bytes
from placement.errors import InputError, RoostError

# Where a version store may live. memory:// is refused: its versions vanish with the process
# while the stack file goes on naming them.
DURABLE_PROTOCOLS = ("file", "local", "s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl")


class StoreBusyError(RoostError):
    """Another roost process holds the stack's lock (exit 1: the command was refused)."""

    exit_code = 1


class StoreLocationError(InputError):
    pass


@dataclass(frozen=True)
class LockHolder:
    user: str
    host: str
    pid: int
    since: str
    command: str

    def describe(self) -> str:
        return f"{self.user}@{self.host} pid {self.pid} since {self.since} ({self.command})"


def current_holder(command: str) -> LockHolder:
    try:
        import getpass

        user = getpass.getuser()
    except Exception:  # no user database entry (containers)
        user = "unknown"
    return LockHolder(user=user, host=socket.gethostname(), pid=os.getpid(),
                      since=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), command=command)


def check_durable(url: str) -> str:
    """``url`` if it names durable storage (a directory or an object store), else StoreLocationError."""
    protocol = url.split("://", 1)[0].lower() if "://" in url else "file"
    if protocol not in DURABLE_PROTOCOLS:
        why = " (it lives in this process's memory and vanishes when roost exits)" if protocol == "memory" else ""
        raise StoreLocationError(f"version store {url!r}: {protocol}:// cannot hold versions{why}; use a "
                                 "directory or an s3://, gs:// or az:// URL")
    return url


class Location:
    """A directory-like root (local path or ``proto://bucket/prefix``) holding the store.

    ``before_publish(key)`` is called by a local ``create`` once the data is on disk and before it
    is published under its name: a seam for fault tests that stop a writer at that moment.
    """

    def __init__(self, url: str, *, before_publish: Callable[[str], None] | None = None):
        self.url = url
        self._before_publish = before_publish
        try:
            fs, root = fsspec.core.url_to_fs(url)
        except (ImportError, ValueError) as exc:
            raise StoreLocationError(f"version store {url!r}: {exc} (object stores need their fsspec "
                                     "package, e.g. s3fs, gcsfs or adlfs)") from None
        except OSError as exc:  # a backend that connects at once (ftp://, sftp://) and cannot
            raise StoreLocationError(f"version store {url!r}: cannot connect: {exc.strerror or exc}") from None
        self.fs: fsspec.AbstractFileSystem = fs
        self.root = root.rstrip("/") or "/"
        self.local = isinstance(fs, LocalFileSystem)
        if self.local and os.path.exists(self.root) and not os.path.isdir(self.root):
            raise StoreLocationError(f"version store {url!r}: {self.root} exists and is not a directory")

    @contextlib.contextmanager
    def _io(self, *parts: str) -> Iterator[None]:
        """OS and network failures as one line naming the path (missing keys are answered by callers)."""
        try:
            yield
        except (FileNotFoundError, FileExistsError, filelock.Timeout):  # Timeout is an OSError too
            raise
        except OSError as exc:
            raise StoreLocationError(f"version store: {self.display(*parts)}: {exc.strerror or exc}") from None

    def __repr__(self) -> str:
        return f"Location({self.url!r})"

    def path(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    def display(self, *parts: str) -> str:
        """A location a person can paste: the local path, or the URL of the object."""
        if self.local:
            return self.path(*parts)
        protocol = self.fs.protocol[0] if isinstance(self.fs.protocol, tuple) else self.fs.protocol
        return f"{protocol}://{self.path(*parts).lstrip('/')}"

    # -- reads ---------------------------------------------------------------------------------
    def read(self, *parts: str) -> bytes | None:
        try:
            with self._io(*parts):
                return self.fs.cat_file(self.path(*parts))
        except FileNotFoundError:
            return None

    def list(self, *parts: str) -> list[str]:
        """Names (not paths) directly under a directory; [] when it does not exist."""
        try:
            with self._io(*parts):
                entries = self.fs.ls(self.path(*parts), detail=False)
        except FileNotFoundError:
            return []
        return sorted(str(e).rstrip("/").rsplit("/", 1)[-1] for e in entries)

    def exists(self, *parts: str) -> bool:
        with self._io(*parts):
            return self.fs.exists(self.path(*parts))

    # -- writes --------------------------------------------------------------------------------
    def write_atomic(self, data: bytes, *parts: str) -> None:
        with self._io(*parts):
            if self.local:
                atomic_write_bytes(self.path(*parts), data)
            else:
                self.fs.pipe_file(self.path(*parts), data)

    def create(self, data: bytes, *parts: str) -> bool:
        """Write ``data`` at a key that must not exist yet; False (and nothing written) if it does."""
        with self._io(*parts):
            return self._create(data, *parts)

    def _create(self, data: bytes, *parts: str) -> bool:
        target = self.path(*parts)
        if not self.local:
            # No makedirs: object stores have no directories, and s3fs would create a missing bucket.
            try:
                self.fs.pipe_file(target, data, mode="create")
            except FileExistsError:
                return False
            return True
        directory = Path(target).parent
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{Path(target).name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            if self._before_publish is not None:
                self._before_publish("/".join(parts))
            try:
                # link() publishes the fully written file under its name, and fails if the
                # name is taken: atomic and exclusive in one system call.
                os.link(tmp, target)
            except FileExistsError:
                return False
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        _fsync_dir(directory)
        return True

    def delete(self, *parts: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self.path(*parts))

    def sweep_temp_files(self, *parts: str) -> int:
        """Remove temp files a killed local writer left behind; they were never published."""
        if not self.local:
            return 0
        directory = Path(self.path(*parts))
        removed = 0
        for tmp in directory.glob(".*.tmp") if directory.is_dir() else ():
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
                removed += 1
        return removed

    # -- locking -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, *parts: str, timeout: float, command: str, what: str) -> Iterator[None]:
        """Hold the lock at ``parts`` or raise StoreBusyError after ``timeout`` seconds."""
        holder = current_holder(command)
        if self.local:
            lock_path = Path(self.path(*parts))
            with self._io(*parts):
                lock_path.parent.mkdir(parents=True, exist_ok=True)
            owner_path = lock_path.with_name(lock_path.name + ".owner")
            lock = filelock.FileLock(str(lock_path), timeout=timeout)
            try:
                with self._io(*parts):
                    lock.acquire()
            except filelock.Timeout:
                raise StoreBusyError(_busy_message(what, timeout, _read_holder(owner_path.read_bytes()
                                                                                if owner_path.exists() else None),
                                                   None)) from None
            try:
                with self._io(*parts):
                    owner_path.write_text(json.dumps(holder.__dict__))
                yield
            finally:
                with contextlib.suppress(FileNotFoundError):
                    owner_path.unlink()
                lock.release()
            return
        body = json.dumps(holder.__dict__).encode()
        deadline = time.monotonic() + timeout
        delay = 0.05
        while not self.create(body, *parts):
            if time.monotonic() >= deadline:
                raise StoreBusyError(_busy_message(what, timeout, _read_holder(self.read(*parts)),
                                                   self.display(*parts)))
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
        try:
            yield
        finally:
            self.delete(*parts)


def _read_holder(raw: bytes | None) -> LockHolder | None:
    if not raw:
        return None
    try:
        return LockHolder(**json.loads(raw))
    except (ValueError, TypeError):
        return None


def _busy_message(what: str, timeout: float, holder: LockHolder | None, remote_key: str | None) -> str:
    who = f" by {holder.describe()}" if holder else ""
    msg = f"{what} is locked{who}; gave up after waiting {timeout:g}s. Retry when that command has finished"
    if remote_key:
        msg += f"; if that process is gone, delete the lock object {remote_key} and retry"
    return msg
