"""Photos in the conversation: the web chat uploads one (then sends Rasa the stand-in `[图片]` with the
photo's id in the message's metadata), the customer's page and the agents' console show it.

- POST /chat/api/sessions/<session>/images   the picture's bytes as the body (any Content-Type: the
  bytes decide); 201 {"image": {id, url, width, height, content_type}}. Refused: 413 too_large,
  415 not_an_image, 400 too_many_pixels or empty, 429 too_many_images
  (KEFU_IMAGES_PER_MINUTE per conversation).
- GET /chat/api/sessions/<session>/images/<id>   the customer's own photo: the session id (a random
  uuid4 only their page knows) and the photo's random id must both match; anything else is 404.
- GET /api/images/<id>   an agent's or supervisor's session (or bearer token), like the case itself.

Every photo is served with the type sniffed at upload, `Content-Disposition: inline` and
`X-Content-Type-Options: nosniff`: a browser never reads it as anything but a picture.
"""
from __future__ import annotations

import asyncio
from datetime import timedelta

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json, raw

from assist.store.db import now as store_now
from console.errors import ApiError
from console.images import BadImage, clean
from console.roles import EVERYONE, allow
from console.routes.chat import _session, image_url

EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}  # HEIC is kept as JPEG
RATE_WINDOW = timedelta(minutes=1)

images = Blueprint("images")


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as it passes `limit` (the console's own limit is 1 MB)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise ApiError(413, "too_large", f"the picture is {length} bytes; at most {limit} (KEFU_IMAGE_MAX_BYTES)")
    request.stream.request_max_size = limit + 1
    body = bytearray()
    while True:
        chunk = await request.stream.read()
        if chunk is None:
            return bytes(body)
        body += chunk
        if len(body) > limit:
            raise ApiError(413, "too_large", f"the picture is over {limit} bytes (KEFU_IMAGE_MAX_BYTES)")


@images.post("/chat/api/sessions/<session_id>/images", stream=True)
async def upload(request: Request, session_id: str):
    conversation_id = _session(session_id)
    settings, store = request.app.ctx.settings, request.app.ctx.store
    data = await _body(request, settings.image_max_bytes)
    sent = await asyncio.to_thread(store.images.sent_since, conversation_id, store_now() - RATE_WINDOW)
    if sent >= settings.images_per_minute:
        raise ApiError(429, "too_many_images", f"at most {settings.images_per_minute} pictures a minute; wait a moment")
    try:
        picture = await asyncio.to_thread(clean, data, settings.image_max_bytes, settings.image_max_pixels)
    except BadImage as bad:
        raise ApiError(bad.status, bad.code, bad.message) from None
    row = await asyncio.to_thread(store.images.save, conversation_id, picture.data, picture.content_type,
                                  picture.width, picture.height)
    return json({"image": {"id": row["id"], "url": image_url(conversation_id, row["id"]), "width": row["width"],
                           "height": row["height"], "content_type": row["content_type"]}}, status=201)


async def _picture(request: Request, image_id: str, conversation_id=None) -> HTTPResponse:
    store = request.app.ctx.store
    row = await asyncio.to_thread(store.images.get, image_id, conversation_id)
    data = await asyncio.to_thread(store.images.read, image_id) if row else None
    if data is None:
        raise ApiError(404, "not_found", "no such picture (or it was deleted under the retention rules)")
    name = f"{image_id}.{EXTENSIONS.get(row['content_type'], 'img')}"
    return raw(data, content_type=row["content_type"], headers={
        "Content-Disposition": f'inline; filename="{name}"', "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, max-age=3600"})


@images.get("/chat/api/sessions/<session_id>/images/<image_id>")
async def customer_picture(request: Request, session_id: str, image_id: str):
    return await _picture(request, image_id, _session(session_id))


@images.get("/api/images/<image_id>")
@allow(*EVERYONE)
async def agent_picture(request: Request, image_id: str):
    return await _picture(request, image_id)
