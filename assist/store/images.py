"""Photos customers send: a row per photo (kefu_images) and its file in a directory beside the store
(data_dir/images by default), named by the photo's id.

The id is random (32 url-safe characters): a web-chat customer fetches a photo with their session id
and its id, an agent behind their session. The bytes stored are already re-encoded without EXIF
(console/images.py); this module only keeps them and forgets them with the customer's other data
(`forget_conversations` on erasure, `forget_before` on retention).
"""
from __future__ import annotations

import os
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .db import now
from .schema import OPEN, cases, images

CHUNK = 500


class Images:
    def __init__(self, engine: Engine, directory: Path):
        self.engine = engine
        self.directory = Path(directory)

    def path(self, image_id: str) -> Path:
        if not image_id or not all(c.isalnum() or c in "-_" for c in image_id):
            raise ValueError("not an image id")
        return self.directory / image_id

    def save(self, conversation_id: str, data: bytes, content_type: str, width: int, height: int,
             at: Optional[datetime] = None) -> Dict[str, Any]:
        """Keep a photo (the file first, then its row: a row never names a missing file)."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        image_id = secrets.token_urlsafe(24)
        target = self.path(image_id)
        draft = target.with_name(f".{image_id}.part")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(draft, target)
        row = {"id": image_id, "conversation_id": conversation_id, "content_type": content_type,
               "width": width, "height": height, "size": len(data), "at": at or now()}
        try:
            with self.engine.begin() as db:
                db.execute(images.insert().values(**row))
        except Exception:
            target.unlink(missing_ok=True)
            raise
        return row

    def get(self, image_id: str, conversation_id: Optional[str] = None) -> Optional[Dict[str, Any]]:
        """The photo's row; with `conversation_id`, only when it belongs to that conversation."""
        query = sa.select(images).where(images.c.id == image_id)
        if conversation_id is not None:
            query = query.where(images.c.conversation_id == conversation_id)
        with self.engine.connect() as db:
            row = db.execute(query).first()
        return dict(row._mapping) if row else None

    def read(self, image_id: str) -> Optional[bytes]:
        try:
            return self.path(image_id).read_bytes()
        except (OSError, ValueError):
            return None

    def sent_since(self, conversation_id: str, since: datetime) -> int:
        with self.engine.connect() as db:
            return db.execute(sa.select(sa.func.count()).select_from(images).where(
                images.c.conversation_id == conversation_id, images.c.at >= since)).scalar_one()

    def _delete(self, where) -> int:
        with self.engine.begin() as db:
            ids = db.execute(sa.select(images.c.id).where(where)).scalars().all()
            for start in range(0, len(ids), CHUNK):
                db.execute(images.delete().where(images.c.id.in_(ids[start:start + CHUNK])))
        for image_id in ids:  # after the rows: a failure leaves a file nobody can name, never a row without its file
            self.path(image_id).unlink(missing_ok=True)
        return len(ids)

    def forget_conversations(self, conversation_ids: Sequence[str]) -> int:
        """Every photo of these conversations (an erasure request); how many."""
        gone = 0
        for start in range(0, len(conversation_ids), CHUNK):
            gone += self._delete(images.c.conversation_id.in_(list(conversation_ids[start:start + CHUNK])))
        return gone

    def forget_before(self, cutoff: datetime) -> int:
        """Photos sent before `cutoff`, except in a conversation a person still owes an answer (open case)."""
        still_open = sa.select(cases.c.conversation_id).where(cases.c.state == OPEN)
        return self._delete(sa.and_(images.c.at < cutoff, images.c.conversation_id.not_in(still_open)))

    def count_before(self, cutoff: datetime) -> int:
        still_open = sa.select(cases.c.conversation_id).where(cases.c.state == OPEN)
        with self.engine.connect() as db:
            return db.execute(sa.select(sa.func.count()).select_from(images).where(
                images.c.at < cutoff, images.c.conversation_id.not_in(still_open))).scalar_one()

    def of_conversations(self, conversation_ids: Iterable[str]) -> List[str]:
        ids = list(conversation_ids)
        with self.engine.connect() as db:
            return db.execute(sa.select(images.c.id).where(images.c.conversation_id.in_(ids))).scalars().all() if ids else []
