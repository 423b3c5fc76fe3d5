"""Pictures a WeChat customer sends while a person has their case: fetched through WeChat's media API,
checked and re-encoded like the web chat's uploads (console/images.py: the bytes decide the type, no
EXIF survives, decompression bombs refused), kept with the store's photos and handed to Rasa as the
stand-in `[图片]` with the photo's id in the metadata — the agent sees it in the case.

With no case open the channel keeps its honest answer (utter_wechat_image: the bot cannot look at
pictures). The photo directory must be the console's (the same KEFU_DATA_DIR, or a shared one).
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Optional

from assist.integrations.wechat_api import WeChatApi, WeChatRefused
from assist.settings import Settings
from assist.store import SuggestionStore
from assist.store.db import now
from console.images import BadImage, clean

logger = logging.getLogger(__name__)
PHOTO_TEXT = "[图片]"


class WeChatPhotos:
    def __init__(self, store: SuggestionStore, api: WeChatApi, settings: Settings):
        self.store, self.api = store, api
        self.max_bytes, self.max_pixels = settings.image_max_bytes, settings.image_max_pixels
        self.per_minute = settings.images_per_minute

    def keep(self, openid: str, media_id: str) -> Optional[str]:
        """The kept photo's id, or None: no case open, too many a minute, or WeChat or the picture refused."""
        if self.store.cases.open_case_for(openid) is None:
            return None
        if self.store.images.sent_since(openid, now() - timedelta(minutes=1)) >= self.per_minute:
            logger.info("a WeChat picture from %s not kept: over KEFU_IMAGES_PER_MINUTE", openid)
            return None
        try:
            picture = clean(self.api.media(media_id, self.max_bytes), self.max_bytes, self.max_pixels)
        except (WeChatRefused, BadImage) as error:
            logger.warning("a WeChat picture from %s not kept: %s", openid, error)
            return None
        return self.store.images.save(openid, picture.data, picture.content_type, picture.width, picture.height)["id"]
