"""Estimation: normal maps (and relative depth) from RGB images with diffusion models,
and a harness that measures them.

Contract:

* ``backend``: the one interface. An estimator's ``predict(image)`` takes RGB (any of
  greyscale, RGB, RGBA; float in [0, 1] or integers) and returns a
  :class:`~normalkit.estimation.backend.NormalEstimate`: unit normals in normalkit's
  camera frame (x right, y up, +z toward the viewer; CONVENTIONS.md), (H, W, 3) float32
  at the input's size, with an optional uncertainty. Depth estimators return relative
  depth. The conversion into our frame happens there, once, for every backend.
* ``marigold``: Marigold through diffusers (``MarigoldNormalsPipeline``,
  ``MarigoldDepthPipeline``), a local folder or a hub id. torch, diffusers and
  transformers are the ``[estimate]`` extra, imported only when a model is built.
* ``oracle``: the truth (``oracle``) or the truth turned by a known angle
  (``oracle:DEG``), to test the harness itself.
* ``multiview``: fill in the normal maps of a views folder, so that ``normalkit
  reconstruct`` runs on RGB-only views; and how far the views' predictions disagree.
* ``evaluate``: the harness: per-image and pooled angular errors against a views
  folder's ground truth, timings, memory, sheets and report.html.

May import: ``normalkit.reconstruction`` (views, hull) and every layer below it; not
``normalkit.cli``.
"""

from .backend import (
    DepthEstimate,
    DepthEstimator,
    NormalEstimate,
    NormalEstimator,
    as_rgb,
    load_estimator,
    register,
)
from .evaluate import evaluate
from .multiview import estimate_views, view_agreement
from .oracle import OracleNormals, perturb

__all__ = ["DepthEstimate", "DepthEstimator", "NormalEstimate", "NormalEstimator",
           "OracleNormals", "as_rgb", "estimate_views", "evaluate", "load_estimator",
           "perturb", "register", "view_agreement"]
