"""Pictures people send, made fit for a model: their dimensions checked before any pixel is
decoded, then decoded and scaled down to a JPEG no side of which exceeds the limit.

A picture declaring 60000×60000 pixels is a few hundred bytes on disk and gigabytes decoded:
its header is read first (Pillow opens lazily) and a picture over `max_pixels` is refused
unread. A JPEG is decoded at a reduced scale straight away (`draft`), others in full and then
scaled. This runs in the child process of `file_worker.py`, under its memory and time limits.
"""

from __future__ import annotations

import io
import warnings
from enum import StrEnum
from typing import TYPE_CHECKING

from common.features.documents import FileUnreadable

if TYPE_CHECKING:
    from PIL.Image import Image as PilImage

#: JPEG quality of what goes to the model: indistinguishable to it, a fifth of the bytes.
JPEG_QUALITY = 85


class PictureProblem(StrEnum):
    UNREADABLE = "unreadable"
    #: More pixels than `IMAGE_MAX_PIXELS`, declared or decoded.
    TOO_MANY_PIXELS = "too_many_pixels"


class PictureUnreadable(FileUnreadable):
    problem: PictureProblem

    def __init__(self, problem: PictureProblem, detail: str = "") -> None:
        super().__init__(problem, detail)


def scaled_picture(data: bytes, max_pixels: int, max_side: int) -> bytes:
    """`data` as a JPEG no side of which exceeds `max_side`; `PictureUnreadable` when it is
    not a picture Pillow reads or has more than `max_pixels` pixels."""
    from PIL import Image  # on first use, in the child process only

    Image.MAX_IMAGE_PIXELS = max_pixels  # Pillow's own bomb check, on the same limit
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            picture: PilImage = Image.open(io.BytesIO(data))
            _check_pixels(picture.size, max_pixels)  # declared: nothing decoded yet
            picture.draft("RGB", (max_side, max_side))  # JPEG: decode at 1/2, 1/4 or 1/8
            picture.load()
        _check_pixels(picture.size, max_pixels)  # as decoded
        if picture.mode not in ("RGB", "L"):
            picture = _on_white(picture)
        picture.thumbnail((max_side, max_side))
        out = io.BytesIO()
        picture.convert("RGB").save(out, format="JPEG", quality=JPEG_QUALITY)
        return out.getvalue()
    except PictureUnreadable:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PictureUnreadable(PictureProblem.TOO_MANY_PIXELS, str(exc)[:200]) from exc
    except MemoryError:
        raise
    except Exception as exc:  # Pillow raises many types on malformed input; all mean unreadable
        raise PictureUnreadable(PictureProblem.UNREADABLE, f"{exc!r}"[:300]) from exc


def _check_pixels(size: tuple[int, int], max_pixels: int) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise PictureUnreadable(PictureProblem.UNREADABLE, f"{width}x{height}")
    if width * height > max_pixels:
        raise PictureUnreadable(PictureProblem.TOO_MANY_PIXELS, f"{width}x{height}")


def _on_white(picture: PilImage) -> PilImage:
    """A picture with transparency or a palette, flattened on white (JPEG has no alpha)."""
    from PIL import Image

    rgba = picture.convert("RGBA")
    flat = Image.new("RGB", rgba.size, (255, 255, 255))
    flat.paste(rgba, mask=rgba.getchannel("A"))
    return flat
