"""Contain what a template may do to the machine: nothing outside the folder it renders into.

An engine writes the files itself, so a check of the names it was given is not enough: a
Cookiecutter file name is Jinja that may render to `../../.bashrc` or `/etc/...`, a
`_copy_without_render` folder is deleted and copied wherever its rendered name points, and a
symlink in a template copies whatever it points at. Three guards stop that where it happens:

- `confined(roots)`: while an untrusted render runs, every write, delete, rename, link and mode
  change Python performs is checked against the folders it may touch, with symlinks resolved,
  *before* it happens (a `sys.addaudithook` hook sees each one). Anything else is refused, as is
  starting a program. The render ends in one line naming the first path it tried.
- `render_limits()`: a render gets a budget of CPU time and memory, so `range(10**9)`-style
  loops and `'x' * 10**10` end in one line instead of a hung or killed process.
- `refuse_links_out(folder, ...)`: a template or a rendered project may hold symlinks, but none
  that leads out of its own folder (pocgen never follows one, and never ships one).
"""

from __future__ import annotations

import errno
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pocgen.errors import PocgenError

# Seconds of CPU time and bytes of memory above what pocgen already uses that one render may
# take. A large honest template renders in a second or two and a few MiB.
RENDER_CPU_SECONDS = 60
RENDER_MEMORY_BYTES = 2 * 1024**3

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
# Events that start another program: an untrusted render never needs one.
PROCESS_EVENTS = {
    "os.exec",
    "os.fork",
    "os.forkpty",
    "os.posix_spawn",
    "os.spawn",
    "os.startfile",
    "os.system",
    "pty.spawn",
    "subprocess.Popen",
}


class OutsideDestination(PermissionError):
    """Raised by the audit hook in place of an operation outside the allowed folders."""


class RenderTooCostly(Exception):
    """The render used up its CPU budget."""


@dataclass
class _Confinement:
    roots: tuple[str, ...]  # real paths, no trailing separator
    refused: list[str] = field(default_factory=list)  # what was stopped ("write /x"), in order


_active: _Confinement | None = None
_hook_installed = False


def _fd_path(fd: int) -> str | None:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None


def _real(path: Any, follow: bool, dir_fd: Any = None) -> str | None:
    """Where an operation on `path` lands, symlinks resolved; None when it cannot be known.

    `follow=False` is for operations on the entry itself (delete, rename, mkdir): its parent
    folders are resolved, the last name is not.
    """
    if isinstance(path, int):
        return _fd_path(path)
    path = os.fsdecode(path)
    base = os.getcwd()
    if dir_fd is not None and not os.path.isabs(path):
        found = _fd_path(dir_fd)
        if found is None:
            return None
        base = found
    full = os.path.normpath(os.path.join(base, path))
    if follow:
        return os.path.realpath(full)
    parent, name = os.path.split(full)
    return os.path.join(os.path.realpath(parent), name) if name else os.path.realpath(full)


def _inside(real: str | None, roots: tuple[str, ...]) -> bool:
    if real is None:
        return False
    return any(real == root or real.startswith(root + os.sep) for root in roots)


def _open_writes(args: tuple[Any, ...]) -> bool:
    _, mode, flags = args
    if isinstance(mode, str):
        return any(letter in mode for letter in "wax+")
    return bool(flags & WRITE_FLAGS)


# event -> the (argument index, follows a final symlink, dir_fd argument index) it touches
TOUCHES: dict[str, list[tuple[int, bool, int | None]]] = {
    "open": [(0, True, None)],
    "os.mkdir": [(0, False, 2)],
    "os.mkfifo": [(0, False, 2)],
    "os.mknod": [(0, False, 3)],
    "os.remove": [(0, False, 1)],
    "os.rmdir": [(0, False, 1)],
    "os.rename": [(0, False, 2), (1, False, 3)],  # os.replace too
    "os.link": [(0, True, 2), (1, False, 3)],  # a hard link to an outside file copies it in
    "os.symlink": [(1, False, 2)],  # where the link goes is checked separately
    "os.truncate": [(0, True, None)],
    "os.chmod": [(0, True, 2)],
    "os.chown": [(0, True, 3)],
    "os.utime": [(0, True, 3)],
    "os.chflags": [(0, True, None)],
    "os.lchflags": [(0, False, None)],
    "os.setxattr": [(0, True, None)],
    "os.removexattr": [(0, True, None)],
    "shutil.rmtree": [(0, False, 1)],
    "shutil.copyfile": [(1, True, None)],
    "shutil.copymode": [(1, True, None)],
    "shutil.copystat": [(1, True, None)],
    "shutil.copytree": [(1, False, None)],
    "shutil.move": [(0, False, None), (1, False, None)],
}


def _audit(event: str, args: tuple[Any, ...]) -> None:
    confinement = _active
    if confinement is None:
        return
    if event in PROCESS_EVENTS:
        confinement.refused.append(f"run a program ({event})")
        raise OutsideDestination(errno.EPERM, "pocgen: an untrusted render runs no program")
    touches = TOUCHES.get(event)
    if touches is None or (event == "open" and not _open_writes(args)):
        return
    for index, follow, fd_index in touches:
        dir_fd = args[fd_index] if fd_index is not None else None
        real = _real(args[index], follow, dir_fd)
        if event == "os.symlink" and _inside(real, confinement.roots) and real is not None:
            target = os.fsdecode(args[0])
            real = os.path.realpath(os.path.join(os.path.dirname(real), target))
        if not _inside(real, confinement.roots):
            shown = real or repr(args[index])
            confinement.refused.append(f"write {shown}, outside the project folder")
            raise OutsideDestination(errno.EPERM, "pocgen: outside the project", shown)


@contextmanager
def confined(*roots: Path, template: str) -> Iterator[None]:
    """Inside the block, Python may change files only under `roots`, and start no program.

    An attempt raises `OutsideDestination` where it happens (nothing is written), and the block
    ends in one `PocgenError` even when the engine caught that error and carried on.
    """
    global _active, _hook_installed
    if not _hook_installed:
        sys.addaudithook(_audit)  # hooks cannot be removed; inactive, it returns at once
        _hook_installed = True
    confinement = _Confinement(tuple(os.path.realpath(root) for root in roots))
    bytecode = sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # an import inside the render must not write a .pyc elsewhere
    _active = confinement
    try:
        yield
    except BaseException:
        if not confinement.refused:
            raise
    finally:
        _active = None
        sys.dont_write_bytecode = bytecode
    if confinement.refused:  # whatever the engine made of the refused operation, this is why
        raise PocgenError(
            f"template {template} tried to {confinement.refused[0]}; pocgen refused it, and "
            "nothing outside the project was touched. Do not use this template, or ask its "
            "author to fix it."
        )


def _cpu_exhausted(signum: int, frame: Any) -> None:
    raise RenderTooCostly(f"more than {RENDER_CPU_SECONDS} s of CPU time")


@contextmanager
def render_limits(template: str) -> Iterator[None]:
    """A CPU-time and memory budget for one render, where the platform offers them (the
    main thread on Linux and macOS); over budget, one line names the template."""
    try:
        import resource
    except ImportError:  # Windows: no limits to set
        yield
        return
    undo: list[Callable[[], None]] = []
    try:
        if hasattr(signal, "SIGVTALRM") and _main_thread():
            previous = signal.signal(signal.SIGVTALRM, _cpu_exhausted)
            signal.setitimer(signal.ITIMER_VIRTUAL, RENDER_CPU_SECONDS)
            undo.append(lambda: signal.setitimer(signal.ITIMER_VIRTUAL, 0))
            undo.append(lambda: signal.signal(signal.SIGVTALRM, previous))
        size = _address_space()
        if size is not None:
            soft, hard = resource.getrlimit(resource.RLIMIT_AS)
            wanted = size + RENDER_MEMORY_BYTES
            if soft == resource.RLIM_INFINITY or soft > wanted:
                limit = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
                resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
                undo.append(lambda: resource.setrlimit(resource.RLIMIT_AS, (soft, hard)))
        yield
    except (MemoryError, RenderTooCostly) as error:
        reason = str(error) or f"more than {RENDER_MEMORY_BYTES // 1024**3} GiB of memory"
        raise PocgenError(
            f"template {template} needs {reason} to render, which no template needs; refused. "
            "Do not use this template, or ask its author to fix it."
        ) from None
    except (OverflowError, RecursionError) as error:
        raise PocgenError(
            f"template {template} asks for more than the sandbox allows ({error}); refused. "
            "Do not use this template, or ask its author to fix it."
        ) from None
    finally:
        for step in reversed(undo):
            step()


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _address_space() -> int | None:
    """This process's virtual memory size in bytes (Linux), or None where it is not known."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            pages = int(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def links_out(folder: Path, skip: tuple[str, ...] = (".git",)) -> list[tuple[str, str]]:
    """Every symlink under `folder` whose target lies outside it: (relative path, target).

    A link inside a folder that is itself a link out is not listed twice: the walk does not
    follow links.
    """
    root = os.path.realpath(folder)
    found = []
    for current, folders, files in os.walk(folder):
        folders[:] = sorted(name for name in folders if name not in skip)
        for name in sorted(folders + files):
            path = Path(current) / name
            if path.is_symlink():
                target = os.path.realpath(path)
                if not _inside(target, (root,)):
                    found.append((path.relative_to(folder).as_posix(), os.readlink(path)))
        folders[:] = [name for name in folders if not (Path(current) / name).is_symlink()]
    return found


def refuse_links_out(folder: Path, what: str, fix: str) -> None:
    """One line naming the first symlink that leads out of `folder`, if there is one."""
    found = links_out(folder)
    if found:
        name, target = found[0]
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise PocgenError(
            f"{what} has a symlink {name} that leads outside it (to {target}){more}; pocgen "
            f"never follows a link out. {fix}"
        )
