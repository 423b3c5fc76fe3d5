"""Files only this user may read: customers' words, the generated secret, the logs."""
from __future__ import annotations

import os
import secrets
from pathlib import Path


def private_dir(path: Path, tighten: bool = False) -> Path:
    """A directory only this user can enter (0700) when it is made here: the data, the secret, the
    logs. `tighten`: an existing one is made so too (KEFU_DATA_DIR, kefu's own; before this
    version it was 0755) — never a shared sticky directory such as /tmp."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    mode = path.stat().st_mode
    if tighten and mode & 0o077 and not mode & 0o1000:
        path.chmod(0o700)
    return path


def private_files() -> None:
    """What this process creates is readable by its user only (0600 files, 0700 directories):
    the SQLite stores hold customers' words. Called first by every kefu entry point."""
    os.umask(0o077)


def _secret_file(path: Path) -> str:
    """A secret generated once and readable by this user only. Processes starting together (Rasa
    and the console) agree on it: the first link wins, the others read what it wrote."""
    if not path.exists():
        private_dir(path.parent)
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()
