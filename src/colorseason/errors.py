"""Every error a caller can see, with its stable code and HTTP status.

The codes are API: clients switch on them, so never rename one. The pipeline raises these;
every HTTP server of the project (the functions, the local broker) answers them as problem+json
(RFC 9457, :meth:`ColorseasonError.to_problem`) and the CLI as
``{"ok": false, "error": {"code", "message"}}``. A traceback never reaches a caller.
"""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_TYPE_BASE = "https://colorseason.dev/problems/"
"""Base of a problem's ``type`` URI; the error's ``code`` completes it."""


class ColorseasonError(Exception):
    """An error with a stable machine-readable ``code`` and a human ``message``."""

    code: ClassVar[str] = "internal_error"
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.title
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        """The ``{"code", "message"}`` shape used by the CLI, events and job state."""
        return {"code": self.code, "message": self.message}

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        """RFC 9457 problem details (``application/problem+json``) of the request ``instance``
        names (its path); ``code`` is the stable machine-readable part."""
        problem: dict[str, Any] = {
            "type": PROBLEM_TYPE_BASE + self.code,
            "title": self.title,
            "status": self.status,
            "detail": self.message,
            "code": self.code,
        }
        if instance:
            problem["instance"] = instance
        return problem


# Caller mistakes about the image (4xx): never retried.


class UnsupportedMediaTypeError(ColorseasonError):
    code = "unsupported_media_type"
    status = 415
    title = "Unsupported media type"


class CorruptImageError(ColorseasonError):
    code = "corrupt_image"
    status = 422
    title = "The image could not be decoded"


class ImageTooLargeError(ColorseasonError):
    code = "image_too_large"
    status = 413
    title = "The image is too large"


class ImageTooSmallError(ColorseasonError):
    code = "image_too_small"
    status = 422
    title = "The image is too small to analyse"


class NoFaceError(ColorseasonError):
    code = "no_face"
    status = 422
    title = "No face was found in the photo"


class FaceTooSmallError(ColorseasonError):
    code = "face_too_small"
    status = 422
    title = "The face is too small to measure"


class FaceNotFoundError(ColorseasonError):
    """The caller asked for a face number the photo does not have."""

    code = "face_not_found"
    status = 422
    title = "No such face in the photo"


class FaceHiddenError(ColorseasonError):
    code = "face_hidden"
    status = 422
    title = "Part of the face is hidden"


# Caller mistakes about the request or event (4xx).


class BadRequestError(ColorseasonError):
    code = "bad_request"
    status = 400
    title = "Bad request"


class TooManyPhotosError(ColorseasonError):
    """More photos in one upload than one diagnosis combines (analysis.person.MAX_PHOTOS)."""

    code = "too_many_photos"
    status = 400
    title = "Too many photos"


class PayloadTooLargeError(ColorseasonError):
    code = "payload_too_large"
    status = 413
    title = "Request body too large"


class InvalidEventError(ColorseasonError):
    code = "invalid_event"
    status = 400
    title = "Invalid CloudEvent"


class NotFoundError(ColorseasonError):
    code = "not_found"
    status = 404
    title = "Not found"


class MethodNotAllowedError(ColorseasonError):
    code = "method_not_allowed"
    status = 405
    title = "Method not allowed"


class NotAcceptableError(ColorseasonError):
    code = "not_acceptable"
    status = 406
    title = "Not acceptable"


class ImageExpiredError(ColorseasonError):
    code = "image_expired"
    status = 410
    title = "The uploaded image is no longer available"


# Our outages (5xx): a broker retries these.


class StoreUnavailableError(ColorseasonError):
    code = "store_unavailable"
    status = 503
    title = "A backing store is unavailable"


class BrokerUnavailableError(ColorseasonError):
    code = "broker_unavailable"
    status = 503
    title = "The event broker is unavailable"


class DeliveryFailedError(ColorseasonError):
    """A job's event could not be delivered after every retry (its dead letter reached status)."""

    code = "delivery_failed"
    status = 502
    title = "The job could not be delivered to its processor"


class ResultUnavailableError(ColorseasonError):
    """A job was analysed but results never stored the diagnosis (its ``completed`` was
    dead-lettered after the whole retry budget): reported instead of a ``completed`` whose
    ``result_url`` would answer 404."""

    code = "result_unavailable"
    status = 502
    title = "The diagnosis was made but could not be stored"
