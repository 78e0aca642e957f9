"""The season model: features in, 12 season probabilities and 4 seasonal dimensions out.

The graph is ``models/<MODEL_VERSION>.onnx``, built by ``tools/build_season_model.py`` and
committed (docs/model-card.md says what it is and is not). It is loaded once per process, on first
use or by ``load()`` at warm-up, with one intra-op and one inter-op thread: the graph is a few
hundred flops, so threads only add scheduling cost and fight gunicorn workers for cores. An
onnxruntime session may be shared by threads (``run`` is thread-safe).
"""

from __future__ import annotations

import functools
import os
from importlib import resources
from typing import Literal

import numpy as np

# onnxruntime >= 1.2x on Linux starts Microsoft's 1DS telemetry when it loads (a device id and
# queued events under ~/.cache/Microsoft) unless this is set first: we never phone home.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"
import onnxruntime as ort

from colorseason.analysis.features import FEATURE_NAMES
from colorseason.analysis.seasons import SEASON_IDS

MODEL_VERSION = "season-v2"
MODEL_FILE = f"{MODEL_VERSION}.onnx"
DIMENSIONS: tuple[str, ...] = ("warmth", "depth", "clarity", "contrast")
# |warmth| below this reads as neutral: undertone evidence within about 0.2 population standard
# deviations of the average (tanh is nearly linear there).
NEUTRAL_WARMTH = 0.2


@functools.cache
def load() -> ort.InferenceSession:
    """The process-wide session, checked to be our version with our feature and season order."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    model_bytes = (
        resources.files("colorseason.analysis").joinpath("models", MODEL_FILE).read_bytes()
    )
    session = ort.InferenceSession(
        model_bytes, sess_options=options, providers=["CPUExecutionProvider"]
    )
    meta = session.get_modelmeta().custom_metadata_map
    expected = {
        "version": MODEL_VERSION,
        "features": ",".join(FEATURE_NAMES),
        "seasons": ",".join(SEASON_IDS),
        "dimensions": ",".join(DIMENSIONS),
    }
    for key, value in expected.items():
        if meta.get(key) != value:
            raise RuntimeError(f"{MODEL_FILE}: metadata {key!r} does not match this package")
    return session


def predict(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Season probabilities and dimensions for one feature vector or a batch.

    ``features`` is ``[len(FEATURE_NAMES)]`` or ``[N, len(FEATURE_NAMES)]`` in ``FEATURE_NAMES``
    order. Returns ``(probabilities, dimensions)`` shaped ``[12]``/``[4]`` for one vector and
    ``[N, 12]``/``[N, 4]`` for a batch; probabilities follow ``SEASON_IDS`` and sum to 1,
    dimensions follow ``DIMENSIONS`` and lie in [-1, 1].
    """
    batch = np.asarray(features, dtype=np.float32)
    single = batch.ndim == 1
    batch = np.atleast_2d(batch)
    if batch.ndim != 2 or batch.shape[1] != len(FEATURE_NAMES):
        raise ValueError(f"features must be [{len(FEATURE_NAMES)}] or [N, {len(FEATURE_NAMES)}]")
    probabilities, dimensions = load().run(["probabilities", "dimensions"], {"features": batch})
    if single:
        return probabilities[0], dimensions[0]
    return probabilities, dimensions


def undertone(warmth: float) -> Literal["warm", "cool", "neutral"]:
    """Warm, cool or neutral from the model's warmth dimension."""
    if warmth >= NEUTRAL_WARMTH:
        return "warm"
    if warmth <= -NEUTRAL_WARMTH:
        return "cool"
    return "neutral"
