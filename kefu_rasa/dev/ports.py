"""Is a loopback port free, and if not, which process holds it (Linux /proc, no extra package).

`make run` checks its three ports before it starts anything, so a leftover from an earlier run is
named instead of answering the new run's health checks in its place.
"""
from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Set

from assist.logs import scrub

LISTEN = "0A"


def is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Could a server bind `host:port` now? (SO_REUSEADDR, as servers bind: TIME_WAIT is no obstacle.)"""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _listening_inodes(port: int, proc: Path) -> Set[str]:
    inodes = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (proc / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def _pids(proc: Path) -> Iterator[str]:
    for entry in proc.iterdir():
        if entry.name.isdigit():
            yield entry.name


def holders(port: int, proc: Path = Path("/proc")) -> List[int]:
    """The processes with a socket listening on `port` (those this user may look into)."""
    inodes = {f"socket:[{inode}]" for inode in _listening_inodes(port, proc)}
    found = []
    if not inodes:
        return found
    for pid in _pids(proc):
        try:
            fds = list((proc / pid / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) in inodes:
                    found.append(int(pid))
                    break
            except OSError:
                continue
    return sorted(found)


def command_line(pid: int, proc: Path = Path("/proc"), limit: int = 160) -> str:
    """What `pid` runs, secrets hidden (a leftover Rasa has --auth-token on its command line)."""
    try:
        raw = (proc / str(pid) / "cmdline").read_bytes()
    except OSError:
        return "?"
    parts = [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]
    # Absolute paths shortened to their last name: a deep checkout must not push the
    # arguments that tell one process from another past the limit.
    text = scrub(" ".join(_short(part) for part in parts))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short(part: str) -> str:
    return "…/" + os.path.basename(part.rstrip("/")) if part.startswith("/") and part.count("/") > 1 else part


def who_holds(port: int, host: str = "127.0.0.1") -> Optional[str]:
    """None when `port` is free; else a sentence naming the process that holds it."""
    if is_free(port, host):
        return None
    pids = holders(port)
    if not pids:
        return f"port {port} is in use (by a process this user cannot see)"
    return f"port {port} is in use by " + "; ".join(f"pid {pid} ({command_line(pid)})" for pid in pids)


def busy(ports: Dict[str, int], host: str = "127.0.0.1") -> List[str]:
    """One line per busy port: `rasa: port 5005 is in use by pid 4242 (python -m rasa run …)`."""
    lines = []
    for name, port in ports.items():
        holder = who_holds(port, host)
        if holder:
            lines.append(f"{name}: {holder}")
    return lines
