"""The photos the service takes: their media types and the one size limit of a photo.

Apart from :mod:`decode`, which needs OpenCV, so that the HTTP edge, the event contract and the
configuration share them with the decoder in the status and results images, which have none.
"""

from __future__ import annotations

IMAGE_MEDIA_TYPES: tuple[str, ...] = ("image/jpeg", "image/png", "image/webp")
"""The formats a photo may have, by media type (the decoder sniffs which one it is)."""

FORMAT_NAMES = "JPEG, PNG or WebP"
"""How messages name :data:`IMAGE_MEDIA_TYPES`."""

MAX_IMAGE_BYTES = 15 * 1024 * 1024
"""The largest photo, 15 MiB: the default of ``MAX_UPLOAD_BYTES`` (docs/api.md) and the decoder's
limit when it is given none (the CLI). analyze hands the decoder its configured limit, so the HTTP
edge and the decoder never disagree about a photo's size."""
