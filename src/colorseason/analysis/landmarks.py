"""Face & landmarks: MediaPipe Face Mesh (478 points with irises), the largest face of the photo.

Face Mesh's own detector is short-range and misses faces under ~30–50 % of the frame; when it
finds nothing, the bundled full-range detector (``FaceDetection(model_selection=1)``) locates the
faces, and Face Mesh runs again on a crop around the largest one.

MediaPipe graphs are built lazily, one per thread: a graph built before a fork deadlocks in the
child, and one graph is not safe to share between threads.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import threading
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from colorseason.errors import NoFaceError

MAX_FACES = 5
# A face box is grown by this factor (around its centre) before the crop handed to Face Mesh.
_CROP_GROWTH = 2.2
_MIN_DETECTION_CONFIDENCE = 0.5


@dataclass(frozen=True)
class FaceLandmarks:
    """The analysed face: 478 landmarks in working-image pixels, and how many faces were seen."""

    points: np.ndarray  # float32 (478, 3): x, y in pixels of the working image; z in pixel units
    face_count: int
    used_full_range: bool  # found by the full-range detector (a small face in the frame)

    @property
    def box(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of the landmarks."""
        x0, y0 = self.points[:, :2].min(axis=0)
        x1, y1 = self.points[:, :2].max(axis=0)
        return float(x0), float(y0), float(x1), float(y1)

    @property
    def width(self) -> float:
        x0, _, x1, _ = self.box
        return x1 - x0


class _DeferredModule(types.ModuleType):
    """Stands in for a module until an attribute is used, then imports the real one."""

    def __getattr__(self, attribute: str) -> object:
        return getattr(importlib.import_module(self.__name__), attribute)


def _import_mediapipe_solutions() -> types.ModuleType:
    """Import ``mediapipe.python.solutions`` without paying for matplotlib.pyplot.

    ``import mediapipe`` imports ``matplotlib.pyplot`` (about 1 s) only for its drawing helpers,
    which this service never calls. While mediapipe imports, the two matplotlib names are stand-ins
    that import the real modules on first use; afterwards they are removed again, so any later
    ``import matplotlib`` by other code is an ordinary import. The analyze image does not install
    matplotlib at all (functions/analyze/Dockerfile): there, this is what lets mediapipe import.
    """
    deferred = [name for name in ("matplotlib", "matplotlib.pyplot") if name not in sys.modules]
    for name in deferred:
        sys.modules[name] = _DeferredModule(name)
    if len(deferred) == 2:  # ``import matplotlib.pyplot as plt`` reads the parent's attribute
        sys.modules["matplotlib"].pyplot = sys.modules["matplotlib.pyplot"]
    try:
        from mediapipe.python import solutions
    finally:
        for name in deferred:
            if isinstance(sys.modules.get(name), _DeferredModule):
                del sys.modules[name]
    return solutions


_solutions = _import_mediapipe_solutions()
_graphs = threading.local()


@contextlib.contextmanager
def _native_logs_silenced() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null while MediaPipe sets a graph up.

    MediaPipe and TFLite write C++ log lines (XNNPACK, absl warnings) straight to fd 2 when a graph
    is built and first run; no setting turns them off, and they would break the one-JSON-object-
    per-line logs of the functions. Only graph set-up is silenced, once per thread.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _graph(name: str, build: Callable[[], Any]) -> Any:
    """This thread's graph ``name``, built and run once on a blank frame the first time."""
    graph = getattr(_graphs, name, None)
    if graph is None:
        with _native_logs_silenced():
            graph = build()
            graph.process(np.zeros((192, 192, 3), np.uint8))
        setattr(_graphs, name, graph)
    return graph


def _face_mesh() -> Any:
    return _graph(
        "mesh",
        lambda: _solutions.face_mesh.FaceMesh(
            static_image_mode=True,
            max_num_faces=MAX_FACES,
            refine_landmarks=True,
            min_detection_confidence=_MIN_DETECTION_CONFIDENCE,
        ),
    )


def _face_detector() -> Any:
    return _graph(
        "detector",
        lambda: _solutions.face_detection.FaceDetection(
            model_selection=1, min_detection_confidence=_MIN_DETECTION_CONFIDENCE
        ),
    )


def warm_up() -> None:
    """Build this thread's graphs now, so the first photo pays no set-up cost."""
    _face_mesh()
    _face_detector()


def _mesh_points(rgb: np.ndarray) -> list[np.ndarray]:
    mesh = _face_mesh()
    if getattr(_graphs, "seen_face", False):
        result = mesh.process(rgb)
    else:  # the landmark stage logs once, on the first face it sees
        with _native_logs_silenced():
            result = mesh.process(rgb)
        _graphs.seen_face = bool(result.multi_face_landmarks)
    faces = []
    height, width = rgb.shape[:2]
    for face in result.multi_face_landmarks or []:
        points = np.array([(p.x * width, p.y * height, p.z * width) for p in face.landmark])
        faces.append(points.astype(np.float32))
    return faces


def _largest(faces: list[np.ndarray]) -> np.ndarray:
    def area(points: np.ndarray) -> float:
        span = points[:, :2].max(axis=0) - points[:, :2].min(axis=0)
        return float(span[0] * span[1])

    return max(faces, key=area)


def detect(bgr: np.ndarray) -> FaceLandmarks:
    """Landmarks of the largest face in ``bgr``, or ``NoFaceError``."""
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    faces = _mesh_points(rgb)
    if faces:
        return FaceLandmarks(_largest(faces), len(faces), used_full_range=False)

    detections = _face_detector().process(rgb).detections or []
    if not detections:
        raise NoFaceError(
            "No face was found. Use a well-lit, front-facing photo with the whole face visible."
        )
    height, width = rgb.shape[:2]
    boxes = [d.location_data.relative_bounding_box for d in detections]
    box = max(boxes, key=lambda b: b.width * b.height)
    side = max(box.width * width, box.height * height) * _CROP_GROWTH
    centre_x = (box.xmin + box.width / 2) * width
    centre_y = (box.ymin + box.height / 2) * height
    x0 = int(max(0, centre_x - side / 2))
    y0 = int(max(0, centre_y - side / 2))
    x1 = int(min(width, centre_x + side / 2))
    y1 = int(min(height, centre_y + side / 2))
    crop_faces = _mesh_points(np.ascontiguousarray(rgb[y0:y1, x0:x1]))
    if not crop_faces:
        raise NoFaceError(
            "A face was detected but its features could not be located. "
            "Move closer to the camera and face it directly."
        )
    points = _largest(crop_faces)
    points[:, 0] += x0
    points[:, 1] += y0
    return FaceLandmarks(points, len(detections), used_full_range=True)
