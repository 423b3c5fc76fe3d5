"""A customer's photo made safe to keep and show: the type read from the bytes (Pillow), never from
the name or the Content-Type; pictures too large, too many pixels (decompression bombs) or broken
refused with a clear code; the kept copy re-encoded from its pixels alone, so no EXIF (GPS, the
phone's serial), XMP or text chunk survives.

JPEG, PNG and WebP are taken and kept as they came; HEIC/HEIF (iPhones' default) is read with
pillow-heif (a pinned binary wheel with libheif inside, nothing downloaded at run time) and kept as a
JPEG, which every browser shows.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

register_heif_opener()  # Pillow reads HEIC/HEIF from here on (process-wide, idempotent)

FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "HEIF": "image/jpeg"}
KEPT_AS = {"HEIF": "JPEG"}  # a format browsers cannot all show is kept as one they can
QUALITY = 90


class BadImage(ValueError):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    content_type: str
    width: int
    height: int


def clean(data: bytes, max_bytes: int, max_pixels: int) -> CleanImage:
    """The photo re-encoded without metadata, or BadImage (status, code, message)."""
    if not data:
        raise BadImage(400, "empty", "no picture was sent (the request body is empty)")
    if len(data) > max_bytes:
        raise BadImage(413, "too_large", f"the picture is {len(data)} bytes; at most {max_bytes} (KEFU_IMAGE_MAX_BYTES)")
    Image.MAX_IMAGE_PIXELS = max_pixels  # Pillow checks it when it reads the header: over 2× it raises
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)  # over 1×: refused too
            with Image.open(io.BytesIO(data), formats=list(FORMATS)) as probe:
                kind = probe.format
                _pixels_allowed(probe.size, max_pixels)
                probe.verify()  # a broken file fails here, before any decoding
            with Image.open(io.BytesIO(data), formats=[kind]) as picture:
                picture.load()
                upright = ImageOps.exif_transpose(picture)  # as the camera held it; the EXIF goes below
                return _reencoded(upright, KEPT_AS.get(kind, kind))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadImage(400, "too_many_pixels", f"the picture has more than {max_pixels} pixels (KEFU_IMAGE_MAX_PIXELS)") from None
    except BadImage:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise BadImage(415, "not_an_image", "this is not a JPEG, PNG, WebP or HEIC picture (its bytes say so, whatever its name)") from None


def _pixels_allowed(size, max_pixels: int) -> None:
    width, height = size
    if width < 1 or height < 1 or width * height > max_pixels:
        raise BadImage(400, "too_many_pixels", f"the picture has {width}×{height} pixels; at most {max_pixels} in all "
                       "(KEFU_IMAGE_MAX_PIXELS)")


def _reencoded(picture: Image.Image, kind: str) -> CleanImage:
    """Pixels only: a fresh image carries no info, EXIF, XMP or text chunks of the upload."""
    alpha = picture.mode in ("RGBA", "LA", "PA") or (picture.mode == "P" and "transparency" in picture.info)
    mode = "RGBA" if alpha and kind != "JPEG" else "RGB"
    pixels = picture.convert(mode)
    fresh = Image.frombytes(mode, pixels.size, pixels.tobytes())
    out = io.BytesIO()
    if kind == "JPEG":
        fresh.save(out, "JPEG", quality=QUALITY, exif=b"")
    elif kind == "PNG":
        fresh.save(out, "PNG")
    else:
        fresh.save(out, "WEBP", quality=QUALITY, exif=b"")
    return CleanImage(out.getvalue(), FORMATS[kind], fresh.width, fresh.height)
