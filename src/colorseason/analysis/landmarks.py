"""Face & landmarks: MediaPipe Face Mesh (478 points with irises) for one face of the photo.

Face Mesh's own detector is short-range and misses faces under ~30–50 % of the frame. Unless the
photo is a portrait (one large face), the bundled full-range detector
(``FaceDetection(model_selection=1)``) also looks, on the whole photo and on overlapping tiles: it
finds the small faces, and it confirms the mesh's faces. A face only the detector found gets its
landmarks from Face Mesh run again on a crop around it. The faces are numbered left to right; the
largest is analysed unless the caller picks another.

MediaPipe graphs are built lazily, one per thread: a graph built before a fork deadlocks in the
child, and one graph is not safe to share between threads.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import sys
import threading
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import cv2
import numpy as np

from colorseason.errors import FaceNotFoundError, NoFaceError

MAX_FACES = 5
# A face box is grown by this factor (around its centre) before the crop handed to Face Mesh.
_CROP_GROWTH = 2.2
# A lone face at least this wide (a share of the photo's width) is a portrait, where the
# full-range detector (5 ms) is not run: selfies put the face at 30-50 % of the width. Below it,
# Face Mesh's own detector may have missed a neighbour (in the development set, a man cheek to
# cheek with a woman whose face spans 15 % of the bar photo).
_PORTRAIT_FACE_FRACTION = 0.2
_MIN_DETECTION_CONFIDENCE = 0.5
# The detector's tiles: each corner tile is this share of the photo's width and height.
_TILE_FRACTION = 0.6
# The tiles look for faces too small for the detector's 192 px view of the whole photo (about a
# tenth of its width). A photo whose whole view shows one face at least this wide is a photo of
# one person, not a group: its tiles (four detector runs, ~30 ms on the development machine)
# are skipped.
_ONE_PERSON_FACE_FRACTION = 0.15


Box = tuple[float, float, float, float]
"""(x0, y0, x1, y1)."""


@dataclass(frozen=True)
class FaceLandmarks:
    """The analysed face's 478 landmarks, and where every face of the photo is."""

    points: np.ndarray  # float32 (478, 3): x, y in pixels of the working image; z in pixel units
    boxes: tuple[Box, ...]  # every face found, normalised to 0-1 of the photo, left to right
    index: int  # which of ``boxes`` the landmarks belong to

    @property
    def face_count(self) -> int:
        return len(self.boxes)

    @functools.cached_property
    def box(self) -> Box:
        """The landmarks' bounding box in working-image pixels."""
        return _box_of(self.points)

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
        vars(sys.modules["matplotlib"])["pyplot"] = sys.modules["matplotlib.pyplot"]
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


def _box_of(points: np.ndarray) -> Box:
    x0, y0 = points[:, :2].min(axis=0)
    x1, y1 = points[:, :2].max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


def _area(box: Box) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def _same_face(a: Box, b: Box) -> bool:
    """Whether two boxes frame one face: they overlap by more than half the smaller box (a
    detector box and a mesh box of one face overlap almost wholly though their sizes differ)."""
    inner = (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))
    return _area(inner) > 0.5 * max(min(_area(a), _area(b)), 1e-6)


def _unseen(boxes: list[Box], seen: list[Box]) -> list[Box]:
    """The faces of ``boxes`` that none of ``seen`` frames."""
    return [box for box in boxes if not any(_same_face(box, known) for known in seen)]


def _detections(rgb: np.ndarray, mesh_boxes: list[Box]) -> list[Box]:
    """Face boxes from the full-range detector, on the whole photo and, unless the whole photo
    shows one person (Face Mesh's ``mesh_boxes`` and the detector together see one face at
    least :data:`_ONE_PERSON_FACE_FRACTION` wide), on four overlapping corner tiles: it sees its
    input at 192 px, where a face a tenth of a group photo's width wide is a few pixels; in a
    tile it is 1.7 times larger. The tiles only add faces: a face the whole photo shows keeps
    that box, and one seen in two tiles (one of which may cut it) keeps the larger."""
    height, width = rgb.shape[:2]
    whole = _detect_in(rgb, 0, 0)
    whole_view = whole + _unseen(mesh_boxes, whole)
    lone_width = whole_view[0][2] - whole_view[0][0] if len(whole_view) == 1 else 0.0
    if lone_width >= _ONE_PERSON_FACE_FRACTION * width:
        return whole
    tile_height, tile_width = round(height * _TILE_FRACTION), round(width * _TILE_FRACTION)
    tiled: list[Box] = []
    for y in (0, height - tile_height):
        for x in (0, width - tile_width):
            tile = np.ascontiguousarray(rgb[y : y + tile_height, x : x + tile_width])
            for box in _detect_in(tile, x, y):
                same = [seen for seen in tiled if _same_face(seen, box)]
                if all(_area(box) > _area(seen) for seen in same):
                    tiled = [seen for seen in tiled if seen not in same] + [box]
    return whole + _unseen(tiled, whole)


def _detect_in(rgb: np.ndarray, x_offset: int, y_offset: int) -> list[Box]:
    height, width = rgb.shape[:2]
    boxes = []
    for detection in _face_detector().process(rgb).detections or []:
        box = detection.location_data.relative_bounding_box
        x0, y0 = x_offset + box.xmin * width, y_offset + box.ymin * height
        boxes.append((x0, y0, x0 + box.width * width, y0 + box.height * height))
    return boxes


@dataclass(frozen=True)
class _Candidate:
    box: Box
    points: np.ndarray | None  # landmarks when Face Mesh found this face in the whole photo
    confirmed: bool  # both Face Mesh and the detector see a face here


def _candidates(rgb: np.ndarray) -> list[_Candidate]:
    """Every face in the photo, found by Face Mesh and, where it may have missed faces or seen
    one that is not there, by the full-range detector too."""
    meshes = _mesh_points(rgb)
    mesh_boxes = [_box_of(points) for points in meshes]
    width = rgb.shape[1]
    largest = max((box[2] - box[0] for box in mesh_boxes), default=0.0)
    # One large face (a selfie, a portrait) needs no second opinion. Otherwise the detector
    # finds the small faces Face Mesh misses, and confirms which mesh faces are real: Face Mesh
    # alone occasionally fits a face to an arm or a pattern.
    if len(meshes) == 1 and largest >= _PORTRAIT_FACE_FRACTION * width:
        return [_Candidate(mesh_boxes[0], meshes[0], confirmed=True)]
    detections = _detections(rgb, mesh_boxes)
    found = [
        _Candidate(box, points, confirmed=any(_same_face(box, seen) for seen in detections))
        for box, points in zip(mesh_boxes, meshes, strict=True)
    ]
    if found and not any(face.confirmed for face in found):
        found = [replace(face, confirmed=True) for face in found]  # nothing to tell them apart
    for box in detections:
        if not any(_same_face(face.box, box) for face in found):
            found.append(_Candidate(box, None, confirmed=True))
    return [face for face in found if face.confirmed]


def _mesh_in_crop(rgb: np.ndarray, box: Box) -> np.ndarray | None:
    """Face Mesh on a square crop around ``box``: small faces get enough pixels there."""
    height, width = rgb.shape[:2]
    side = max(box[2] - box[0], box[3] - box[1]) * _CROP_GROWTH
    centre_x, centre_y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    x0 = int(max(0, centre_x - side / 2))
    y0 = int(max(0, centre_y - side / 2))
    x1 = int(min(width, centre_x + side / 2))
    y1 = int(min(height, centre_y + side / 2))
    faces = _mesh_points(np.ascontiguousarray(rgb[y0:y1, x0:x1]))
    if not faces:
        return None
    # The crop may hold a neighbour too: take the face nearest the crop's centre.
    points = min(
        faces,
        key=lambda p: float(np.hypot(*(p[:, :2].mean(axis=0) - [centre_x - x0, centre_y - y0]))),
    )
    points[:, 0] += x0
    points[:, 1] += y0
    return points


def detect(bgr: np.ndarray, face: int | None = None) -> FaceLandmarks:
    """Landmarks of one face in ``bgr``: face number ``face`` (faces are numbered left to right
    from 0), or the largest when ``face`` is None. Raises ``NoFaceError`` when there is no face,
    ``FaceNotFoundError`` when there is no face number ``face``."""
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    found = sorted(_candidates(rgb), key=lambda c: (c.box[0] + c.box[2]) / 2)
    if not found:
        raise NoFaceError(
            "No face was found. Use a well-lit, front-facing photo with the whole face visible."
        )
    if face is None:
        index = max(range(len(found)), key=lambda i: _area(found[i].box))
    elif 0 <= face < len(found):
        index = face
    else:
        last = f"0-{len(found) - 1}" if len(found) > 1 else "0"
        raise FaceNotFoundError(
            f"There is no face number {face}: the photo shows {len(found)} "
            f"(numbered {last} from left to right)."
        )
    chosen = found[index]
    points = chosen.points if chosen.points is not None else _mesh_in_crop(rgb, chosen.box)
    if points is None:
        raise NoFaceError(
            "A face was detected but its features could not be located. "
            "Move closer to the camera and face it directly."
        )
    height, width = rgb.shape[:2]
    boxes = tuple(_normalised(c.box, width, height) for c in found)
    return FaceLandmarks(points, boxes, index)


def _normalised(box: Box, width: int, height: int) -> Box:
    x0, y0, x1, y1 = box
    return (
        min(max(x0 / width, 0.0), 1.0),
        min(max(y0 / height, 0.0), 1.0),
        min(max(x1 / width, 0.0), 1.0),
        min(max(y1 / height, 0.0), 1.0),
    )
