"""Build the season model, ``src/colorseason/analysis/models/<MODEL_VERSION>.onnx``.

No labelled data set of faces with expert seasonal diagnoses exists in this project, so nothing
here is trained. The model is a hand-parameterised prototype classifier written down from colour
science and from the seasonal-colour method itself (docs/model-card.md says what that means for
its answers):

1. **Standardise** each feature around a reference face (a published adult average), in units
   of its usual spread: ``z = (features - centre) / scale``, hue differences taken modulo 360°.
2. **Seasonal dimensions** ``dimensions = tanh(z @ W)``: warmth (yellow vs pink undertone),
   depth (dark vs light colouring), clarity (clear vs soft/muted) and contrast (value difference
   between skin and hair/eyes), each in [-1, 1].
3. **Seasons**: each season is a prototype point in that 4-D space (its place in the seasonal
   method: springs warm and clear, summers cool and soft, autumns warm and soft, winters cool and
   clear; light/deep/bright/soft subtypes lean along their primary dimension). The logit is minus
   the weighted squared distance to the prototype over a temperature, then softmax.

Run ``uv run python tools/build_season_model.py``; the output is byte-for-byte the same on every
run (tests/test_model.py checks the committed file against a fresh build). Changing any number
here changes the answers, so it needs a new ``MODEL_VERSION`` (in ``analysis/model.py``, which
names the file too).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from colorseason.analysis.features import FEATURE_NAMES
from colorseason.analysis.model import DIMENSIONS, MODEL_VERSION
from colorseason.analysis.seasons import SEASON_IDS

OUTPUT_PATH = (
    Path(__file__).resolve().parents[1]
    / "src/colorseason/analysis/models"
    / f"{MODEL_VERSION}.onnx"
)
# Pinned (not "whatever the installed onnx writes") so a newer onnx package does not change the
# bytes. Opset 17 / IR 8 load on every onnxruntime since 1.13.
OPSET = 17
IR_VERSION = 8

# The reference face: standardised features are 0 here, and so are all four dimensions. It is
# centred on photos, not on spectrophotometer readings: each value is the median, over the 39
# different people of the development set, of the feature as this pipeline measures it from
# their photos (`bench/quality.py --calibration`). Camera rendering puts skin hue lower and
# skin saturation higher in photos than instruments do (instrument references: Korean adult
# facial skin L* 61.8, h_ab 60.7°; cheek L* 58-60 for Chinese, Thai, Kurdish and Caucasian
# adults, Xiao et al., Skin Res Technol 2017), so an instrument centre would call every photo warm
# and clear. The set is mostly fair and light skin; the spreads below are the populations'.
REFERENCE_FACE: dict[str, float] = {
    "skin_L": 64.5,
    "skin_hue": 46.3,
    "skin_saturation": 0.30,
    "skin_ita": 41.5,
    "hair_L": 26.4,
    "hair_saturation": 0.23,
    "eye_L": 22.3,
    "eye_saturation": 0.29,
    "lip_hue": 29.0,
    "lip_saturation": 0.44,
    "contrast_skin_hair": 1.87,
    "contrast_skin_eye": 2.50,
}
# Hue angles, in degrees in any convention ([0, 360) or (-180, 180]): the graph wraps them.
ANGLE_FEATURES = frozenset({"skin_hue", "lip_hue"})

# One unit of evidence per feature: about one between-person standard deviation, across
# populations so that very fair and dark skin do not saturate the dimensions. Skin: L* within a
# population 3-5.5 (Xiao et al. 2017; de Rigal et al., Skin Res Technol 2010), but darker skin
# lies well below 50, so across populations about 10; ITA° about 15; hue about 6°; C* about 3 at
# L* about 60, so C*/(L*+16) about 0.04. Hair: black L* 15-20, dark brown 20-25, light brown
# 30-35, blond 40-60 (Vaughn et al., Am J Phys Anthropol 2008). Iris: dark brown L* 25-35,
# blue/green 45-55 (Edwards et al., Pigment Cell Melanoma Res 2016). Lips: h_ab 25-35°, C* 20-30.
# The contrasts are ln luminance ratios: skin against black hair about 2.4, against blond 0.6.
FEATURE_SCALE: dict[str, float] = {
    "skin_L": 10.0,
    "skin_hue": 6.0,
    "skin_saturation": 0.04,
    "skin_ita": 15.0,
    "hair_L": 10.0,
    "hair_saturation": 0.08,
    "eye_L": 8.0,
    "eye_saturation": 0.08,
    "lip_hue": 6.0,
    "lip_saturation": 0.06,
    "contrast_skin_hair": 0.5,
    "contrast_skin_eye": 0.5,
}

# What a photo adds on top of the between-person spread: how far one face's features stray
# between photos of the same person and under casts, exposure, JPEG and downscaling, after the
# light correction (`bench/quality.py --calibration`, pooled standard deviation on the
# development set). Skin hue strays most (13°: a residual cast moves it), which is why one
# photo's undertone is never certain. Each feature's unit of evidence is sqrt(person² + photo²).
PHOTO_NOISE: dict[str, float] = {
    "skin_L": 4.6,
    "skin_hue": 13.3,
    "skin_saturation": 0.033,
    "skin_ita": 11.4,
    "hair_L": 4.0,
    "hair_saturation": 0.043,
    "eye_L": 6.7,
    "eye_saturation": 0.087,
    "lip_hue": 3.6,
    "lip_saturation": 0.033,
    "contrast_skin_hair": 0.18,
    "contrast_skin_eye": 0.41,
}

# How each dimension reads the standardised features (features not listed weigh 0). Each row's
# absolute weights sum to about 1, so one standard deviation of evidence gives tanh(1) ≈ 0.76.
DIMENSION_WEIGHTS: dict[str, dict[str, float]] = {
    # Undertone: yellow (higher h_ab) is warm, pink (lower) is cool; orange-leaning lips and
    # golden or red hair (pheomelanin: saturated for its lightness) add to it.
    "warmth": {"skin_hue": 0.6, "lip_hue": 0.2, "hair_saturation": 0.2},
    # Value of the whole colouring: skin, hair and eyes together (hair weighs most: it is the
    # largest dark area of the head); ITA° adds the skin's light/dark class.
    "depth": {"skin_L": -0.3, "skin_ita": -0.1, "hair_L": -0.35, "eye_L": -0.25},
    # Clear vs soft: saturated skin, iris and lips read clear; so does a face that stands out
    # from its hair and eyes. All of these are ratios that exposure leaves alone.
    "clarity": {
        "skin_saturation": 0.2,
        "eye_saturation": 0.3,
        "lip_saturation": 0.2,
        "contrast_skin_eye": 0.15,
        "contrast_skin_hair": 0.15,
    },
    # Value contrast between the face and its darkest features.
    "contrast": {"contrast_skin_hair": 0.6, "contrast_skin_eye": 0.4},
}

# Season prototypes (warmth, depth, clarity, contrast). Each subtype sits far along its primary
# dimension and leans towards its family on the others; "light"/"deep"/"bright"/"soft" subtypes
# are warm-neutral or cool-neutral, "true" subtypes are fully warm or cool.
PROTOTYPES: dict[str, tuple[float, float, float, float]] = {
    "light-spring": (0.5, -0.7, 0.2, -0.4),
    "true-spring": (0.8, -0.2, 0.4, 0.0),
    "bright-spring": (0.5, -0.1, 0.8, 0.5),
    "light-summer": (-0.5, -0.7, -0.2, -0.4),
    "true-summer": (-0.8, -0.2, -0.3, -0.1),
    "soft-summer": (-0.4, 0.0, -0.8, -0.3),
    "soft-autumn": (0.4, 0.1, -0.8, -0.2),
    "true-autumn": (0.8, 0.3, -0.3, 0.0),
    "deep-autumn": (0.5, 0.7, -0.1, 0.2),
    "deep-winter": (-0.5, 0.7, 0.2, 0.4),
    "true-winter": (-0.8, 0.3, 0.4, 0.6),
    "bright-winter": (-0.5, 0.0, 0.8, 0.7),
}

# Undertone decides the family first in the seasonal method, so warmth weighs most; contrast is
# partly carried by depth and clarity already, so it weighs least.
DIMENSION_IMPORTANCE: tuple[float, float, float, float] = (1.2, 1.0, 0.8, 0.5)
# Softmax temperature: chosen so that a typical face's top season gets 0.3-0.7, not 0.99 — the
# evidence from one photo does not support more certainty than that.
TEMPERATURE = 0.5


def feature_centre_scale() -> tuple[np.ndarray, np.ndarray]:
    """Centre (the reference face) and scale vectors (float32, in ``FEATURE_NAMES`` order)."""
    reference = REFERENCE_FACE
    names = set(FEATURE_NAMES)
    if not (set(reference) == set(FEATURE_SCALE) == set(PHOTO_NOISE) == names):
        raise ValueError(
            "the reference face, FEATURE_SCALE and PHOTO_NOISE must cover FEATURE_NAMES"
        )
    centre = np.array([reference[name] for name in FEATURE_NAMES], np.float32)
    scale = np.array(
        [np.hypot(FEATURE_SCALE[name], PHOTO_NOISE[name]) for name in FEATURE_NAMES], np.float32
    )
    return centre, scale


def angle_mask() -> np.ndarray:
    """1 for the hue-angle features (compared modulo 360°), 0 for the rest."""
    return np.array([name in ANGLE_FEATURES for name in FEATURE_NAMES], np.float32)


def dimension_matrix() -> np.ndarray:
    """``W`` (float32, [features, dimensions]): standardised features to pre-tanh dimensions."""
    matrix = np.zeros((len(FEATURE_NAMES), len(DIMENSIONS)), np.float32)
    for column, dimension in enumerate(DIMENSIONS):
        for name, weight in DIMENSION_WEIGHTS[dimension].items():
            matrix[FEATURE_NAMES.index(name), column] = weight
    return matrix


def prototype_matrix() -> np.ndarray:
    """Season prototypes (float32, [seasons, dimensions]) in ``SEASON_IDS`` order."""
    if set(PROTOTYPES) != set(SEASON_IDS):
        raise ValueError("PROTOTYPES does not cover SEASON_IDS exactly")
    return np.array([PROTOTYPES[season_id] for season_id in SEASON_IDS], np.float32)


def _constant(name: str, value: np.ndarray) -> TensorProto:
    return numpy_helper.from_array(np.ascontiguousarray(value), name)


def build_model() -> onnx.ModelProto:
    """The season model as an ONNX ``ModelProto`` (deterministic: same bytes every time)."""
    centre, scale = feature_centre_scale()
    initializers = [
        _constant("feature_centre", centre),
        _constant("angle_mask", angle_mask()),
        _constant("inv_full_turn", np.array(1 / 360, np.float32)),
        _constant("half_turn", np.array(180, np.float32)),
        _constant("full_turn", np.array(360, np.float32)),
        _constant("feature_scale", scale),
        _constant("dimension_weights", dimension_matrix()),
        _constant("unsqueeze_axes", np.array([1], np.int64)),
        _constant("season_prototypes", prototype_matrix()),
        _constant("dimension_importance", np.array(DIMENSION_IMPORTANCE, np.float32)),
        _constant("neg_inv_temperature", np.array(-1.0 / TEMPERATURE, np.float32)),
    ]
    nodes = [
        helper.make_node("Sub", ["features", "feature_centre"], ["centred"]),
        # Hue angles differ from the reference the short way round the circle: a lip hue of 358°
        # is 2° below 0°, not 358° above it. turns = floor((d + 180) / 360) on angle columns only.
        helper.make_node("Add", ["centred", "half_turn"], ["centred_shifted"]),
        helper.make_node("Mul", ["centred_shifted", "inv_full_turn"], ["centred_turns"]),
        helper.make_node("Floor", ["centred_turns"], ["whole_turns"]),
        helper.make_node("Mul", ["whole_turns", "angle_mask"], ["angle_turns"]),
        helper.make_node("Mul", ["angle_turns", "full_turn"], ["angle_wrap"]),
        helper.make_node("Sub", ["centred", "angle_wrap"], ["centred_wrapped"]),
        helper.make_node("Div", ["centred_wrapped", "feature_scale"], ["standardised"]),
        helper.make_node("MatMul", ["standardised", "dimension_weights"], ["evidence"]),
        helper.make_node("Tanh", ["evidence"], ["dimensions"]),
        # [N, 4] -> [N, 1, 4] so it broadcasts against the [12, 4] prototypes.
        helper.make_node("Unsqueeze", ["dimensions", "unsqueeze_axes"], ["dimensions_n1d"]),
        helper.make_node("Sub", ["dimensions_n1d", "season_prototypes"], ["offsets"]),
        helper.make_node("Mul", ["offsets", "offsets"], ["squared_offsets"]),
        # [N, 12, 4] @ [4] -> [N, 12]: weighted squared distance to each prototype.
        helper.make_node("MatMul", ["squared_offsets", "dimension_importance"], ["distances"]),
        helper.make_node("Mul", ["distances", "neg_inv_temperature"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "season_prototype_classifier",
        inputs=[
            helper.make_tensor_value_info(
                "features", TensorProto.FLOAT, ["batch", len(FEATURE_NAMES)]
            )
        ],
        outputs=[
            helper.make_tensor_value_info(
                "probabilities", TensorProto.FLOAT, ["batch", len(SEASON_IDS)]
            ),
            helper.make_tensor_value_info(
                "dimensions", TensorProto.FLOAT, ["batch", len(DIMENSIONS)]
            ),
        ],
        initializer=initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="colorseason",
        producer_version=MODEL_VERSION,
        model_version=int(MODEL_VERSION.rsplit("-v", 1)[1]),
        doc_string=(
            "Seasonal colour classifier: features (CIELAB measurements of skin, hair, iris and "
            "lips) -> 12 season probabilities and 4 seasonal dimensions. Hand-parameterised "
            "from colour science, not trained on labelled data; see docs/model-card.md."
        ),
    )
    helper.set_model_props(
        model,
        {
            "version": MODEL_VERSION,
            "features": ",".join(FEATURE_NAMES),
            "seasons": ",".join(SEASON_IDS),
            "dimensions": ",".join(DIMENSIONS),
            "temperature": repr(TEMPERATURE),
        },
    )
    onnx.checker.check_model(model, full_check=True)
    return model


def main() -> None:
    """Write the model file (creating its folder) and say where."""
    model = build_model()
    OUTPUT_PATH.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT_PATH.write_bytes(model.SerializeToString())
    size = OUTPUT_PATH.stat().st_size
    print(f"wrote {OUTPUT_PATH} ({size} bytes, {MODEL_VERSION}, opset {OPSET})")


if __name__ == "__main__":
    main()
