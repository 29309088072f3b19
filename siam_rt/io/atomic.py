"""Atomic writes, the one way every siam-rt writer puts a file or a folder in place.

A writer fills a temporary file (or folder) beside its target; when it is complete, the file is flushed to disk
(fsync), given the mode a new file gets under the umask (mkstemp makes it private), and renamed over the target
in one step. A failure or Ctrl-C on the way removes the temporary, so a target is always either its old self or
the finished new one, never half-written. No other module renames into place (a test checks).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from siam_rt.errors import SiamError


def file_mode(folder: bool = False) -> int:
    """The mode a plain new file (or ``folder``) gets under the current umask (temporaries are made private)."""
    mask = os.umask(0)
    os.umask(mask)
    return (0o777 if folder else 0o666) & ~mask


def temporary_beside(target: str | os.PathLike, suffix: str = ".part") -> Path:
    """A new empty temporary file in ``target``'s folder (made if missing), named after it and hidden."""
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    except OSError as exc:
        raise SiamError(f"{target}: cannot write there ({exc.strerror or exc})") from None
    os.close(fd)
    return Path(tmp)


def commit(tmp: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Put the finished temporary file ``tmp`` in place of ``target``: fsync, the umask's mode, one rename."""
    tmp, target = Path(tmp), Path(target)
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.chmod(tmp, file_mode())
    os.replace(tmp, target)
    return target


@contextmanager
def atomic_path(target: str | os.PathLike, suffix: str = ".part") -> Iterator[Path]:
    """``with atomic_path(out) as tmp:`` write ``tmp``; on leaving the block it replaces ``out`` (``commit``),
    and on an exception it is removed and ``out`` is untouched."""
    tmp = temporary_beside(target, suffix)
    try:
        yield tmp
        commit(tmp, target)
    except OSError as exc:  # a full disk, a folder that went away: the user's to fix, not a traceback
        tmp.unlink(missing_ok=True)
        raise SiamError(f"{target}: cannot write ({exc.strerror or exc})") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def commit_folder(new: str | os.PathLike, out: str | os.PathLike) -> None:
    """Put the finished folder ``new`` in place of ``out`` (replacing a folder there) by renames only, so ``out``
    is either the old folder or the new one."""
    new, out = Path(new), Path(out)
    if not out.exists():
        os.replace(new, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
    os.replace(out, old / "previous")
    try:
        os.replace(new, out)
    except BaseException:
        os.replace(old / "previous", out)
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)
