"""Write a set of files into a folder as one unit: all new or all old, never a mix.

Used for the evaluation report (--out). `probe_folder` proves the folder writable with a real
write before any work; `replace_files` writes every file into a hidden staging folder inside the
target, then swaps them in, moving each old file aside first and moving them all back if any step
fails. Staging inside the target, not beside it: only the target must be writable (a read-only
parent is fine), and files there that are not in the set are never touched, so the target may be
a folder that holds other things. Renaming the whole folder would need neither of those to hold.
A process killed (SIGKILL, power cut) in the middle of the swap can still leave a mix; the old
files are then in the leftover `.eval-tmp-*/old` folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from assistant.errors import OutputFolderError

STAGING_PREFIX = ".eval-tmp-"  # hidden, inside the target; left behind only by a killed run


def probe_folder(out_dir: Path, names: Sequence[str]) -> None:
    """Prove that `out_dir` can take files `names` by really writing a file there.

    os.access is not proof: it says yes to root, and nothing about a full or read-only disk. Folders
    created for the test are removed again, so a run stopped later (a bad question file, no model)
    leaves nothing behind.

    Raises:
        OutputFolderError: what is in the way, and what to do.
    """
    out_dir = Path(out_dir).absolute()
    _check_targets(out_dir, names)
    created = _missing_folders(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=STAGING_PREFIX + "probe-", dir=out_dir)
        try:
            os.write(handle, b"can a report be written here?\n")
            os.fsync(handle)
        finally:
            os.close(handle)
            os.unlink(probe)
    except OSError as exc:
        raise OutputFolderError(
            f"Cannot write a report into {out_dir}: {_os_reason(exc)}. Nothing was run; "
            "pick another --out or make that folder writable."
        ) from None
    finally:
        _remove_empty(created)


def replace_files(out_dir: Path, names: Sequence[str], write: Callable[[Path], None]) -> list[Path]:
    """Let `write` create files `names` in a staging folder, then swap them into `out_dir` as one unit.

    Raises:
        OutputFolderError: the files could not be written or swapped in; the old ones, if any, are unchanged.
    """
    out_dir = Path(out_dir).absolute()
    _check_targets(out_dir, names)
    created = _missing_folders(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out_dir))
    except OSError as exc:
        _remove_empty(created)
        raise OutputFolderError(f"Cannot write a report into {out_dir}: {_os_reason(exc)}.") from None
    keep_staging = False
    try:
        new, old = staging / "new", staging / "old"
        new.mkdir()
        old.mkdir()
        write(new)
        for name in names:  # on disk before the swap: a crash after it must not leave empty files
            with open(new / name, "rb") as handle:
                os.fsync(handle.fileno())
        keep_staging = not _swap_in(new, old, out_dir, names)
    except OSError as exc:
        raise OutputFolderError(
            f"Cannot write a report into {out_dir}: {_os_reason(exc)}. The previous report, if any, is unchanged."
        ) from None
    finally:
        if not keep_staging:
            shutil.rmtree(staging, ignore_errors=True)
            _remove_empty(created)
    if keep_staging:
        raise OutputFolderError(
            f"The report in {out_dir} could not be replaced and the previous one could not be put back; "
            f"its files are in {old}."
        )
    return [out_dir / name for name in names]


def _swap_in(new: Path, old: Path, out_dir: Path, names: Sequence[str]) -> bool:
    """Move the new files into `out_dir`, the old ones aside into `old`; undo it all if a step fails.

    Returns False only when undoing failed too (the old files are then left in `old`); re-raises the
    first failure otherwise.
    """
    moved_aside: list[str] = []  # names whose old file is now in `old`
    placed: list[str] = []  # names whose new file is now in `out_dir`
    try:
        for name in names:
            target = out_dir / name
            if target.is_symlink() or target.exists():
                os.replace(target, old / name)
                moved_aside.append(name)
            os.replace(new / name, target)
            placed.append(name)
    except BaseException:  # also Ctrl-C: a half-swapped report is what this function exists to prevent
        restored = True
        for name in placed:
            if name not in moved_aside:  # no such file before this run; the others are overwritten below
                try:
                    (out_dir / name).unlink()
                except OSError:
                    restored = False
        for name in moved_aside:
            try:
                os.replace(old / name, out_dir / name)
            except OSError:
                restored = False
        if not restored:
            return False
        raise
    return True


def _check_targets(out_dir: Path, names: Sequence[str]) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputFolderError(f"--out {out_dir} is a file; pass a folder for the report.")
    above = next((p for p in out_dir.parents if p.exists()), None)
    if above is not None and not above.is_dir():
        raise OutputFolderError(f"--out {out_dir} is inside {above}, which is a file; pass a folder for the report.")
    for name in names:
        target = out_dir / name
        if target.exists() and not target.is_file():
            raise OutputFolderError(
                f"{target} is not a file, and the report writes a file of that name; "
                "move it away or pass another --out."
            )


def _missing_folders(folder: Path) -> list[Path]:
    """`folder` and its parents that do not exist yet, deepest first."""
    return [p for p in (folder, *folder.parents) if not p.exists()]


def _remove_empty(folders: Sequence[Path]) -> None:
    for folder in folders:  # deepest first; a folder something else wrote into meanwhile stays
        try:
            folder.rmdir()
        except OSError:
            return


def _os_reason(exc: OSError) -> str:
    where = f" ({exc.filename})" if exc.filename else ""
    return f"{exc.strerror or exc}{where}"
