"""Marigold (Ke et al. 2024) through diffusers: ``MarigoldNormalsPipeline`` and
``MarigoldDepthPipeline``.

Checkpoints: ``prs-eth/marigold-normals-v1-1``, ``prs-eth/marigold-normals-lcm-v0-1``,
``prs-eth/marigold-depth-v1-1`` … (diffusers ≥ 0.33 reads the v1-1 ones), or a local
folder that ``save_pretrained`` wrote. The model is loaded once, through
``from_pretrained``: the same path for a hub id and a folder.

Marigold's normals are in the screen-space camera frame, x right, y up, +z toward the
viewer: normalkit's frame, so ``frame`` is the identity (the conversion point of
:class:`~normalkit.estimation.backend.NormalEstimator` stays, tested, for backends whose
frame differs). Its depth is affine-invariant, 0 at the near plane and 1 at the far one.

torch, diffusers and transformers are the ``[estimate]`` extra; they are imported when
an estimator is built, never when normalkit is.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np

from ..core.errors import NormalkitError
from .backend import DepthEstimator, NormalEstimator

__all__ = ["DEVICES", "DTYPES", "Marigold", "MarigoldDepth", "require_torch"]

DEVICES = ("cpu", "cuda", "mps")
DTYPES = ("float32", "float16", "bfloat16")
_PIPELINES = {"normals": "MarigoldNormalsPipeline", "depth": "MarigoldDepthPipeline"}
_EXAMPLE = {"normals": "prs-eth/marigold-normals-v1-1", "depth": "prs-eth/marigold-depth-v1-1"}


def require_torch():
    """(torch, diffusers), or the error that names the extra."""
    try:
        import diffusers
        import torch
    except ImportError as exc:
        raise NormalkitError(f"estimation needs PyTorch and diffusers ({exc.name} is missing): "
                             "pip install 'normalkit[estimate]' (on a CPU-only machine, "
                             "pip install torch==2.13.0 first)") from None
    return torch, diffusers


def _quiet(diffusers) -> None:
    """No log lines or loading bars from diffusers and transformers: normalkit's own
    errors say what went wrong, and its progress bars show the work."""
    diffusers.utils.logging.set_verbosity_error()
    diffusers.utils.logging.disable_progress_bar()
    try:
        import transformers

        transformers.utils.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()
    except ImportError:
        pass


def _check_device(torch, device: str, dtype: str):
    if device not in DEVICES:
        raise NormalkitError(f"device must be one of {', '.join(DEVICES)}, got {device!r}")
    if dtype not in DTYPES:
        raise NormalkitError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise NormalkitError("device 'cuda' is not available: PyTorch sees no CUDA GPU here "
                             "(or is a CPU build); use --device cpu")
    if device == "mps" and not torch.backends.mps.is_available():
        raise NormalkitError("device 'mps' is not available: PyTorch sees no Apple GPU here; "
                             "use --device cpu")
    if device == "cpu" and dtype != "float32":
        raise NormalkitError(f"dtype {dtype} is not available on the CPU (PyTorch's CPU "
                             "image resampling has no half-precision kernel); use --dtype "
                             "float32, or --device cuda")
    if device == "cuda" and dtype == "bfloat16" and not torch.cuda.is_bf16_supported():
        raise NormalkitError("dtype bfloat16 is not available on this GPU; use --dtype "
                             "float16 or float32")
    return getattr(torch, dtype)


_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def _no_model(model: str, task: str, detail: str = "") -> NormalkitError:
    return NormalkitError(f"no model at '{model}': download {_EXAMPLE[task]} "
                          f"(huggingface-cli download …), or pass a local folder{detail}")


def _pipeline_class(model: str, task: str, diffusers) -> type:
    """The pipeline class to load ``model`` with. A local folder (anything that exists, or
    does not look like a hub id "org/name") must hold a Marigold pipeline of ``task``."""
    want = _PIPELINES[task]
    path = Path(model).expanduser()
    if not path.exists() and _HUB_ID.match(model):
        return getattr(diffusers, want)
    if not path.is_dir():
        raise _no_model(model, task)
    index = path / "model_index.json"
    if not index.is_file():
        raise NormalkitError(f"'{model}' is not a Marigold pipeline folder (no "
                             "model_index.json); pass the folder that save_pretrained "
                             f"wrote, or a hub id such as {_EXAMPLE[task]}")
    try:
        cls_name = json.loads(index.read_text()).get("_class_name")
    except (OSError, ValueError, AttributeError):
        cls_name = None
    if cls_name not in _PIPELINES.values():
        raise NormalkitError(f"'{model}' is not a Marigold pipeline (its model_index.json "
                             f"names {cls_name!r}); pass a Marigold {task} model")
    if cls_name != want:
        other = next(t for t, c in _PIPELINES.items() if c == cls_name)
        raise NormalkitError(f"'{model}' is a Marigold {other} model, not a {task} one; "
                             f"pass a {task} model such as {_EXAMPLE[task]}")
    return getattr(diffusers, want)


class _MarigoldBase:
    """Loading, options and the call shared by the normals and depth estimators."""

    def _setup(self, model: str, task: str, *, steps: int | None, ensemble: int,
               resolution: int | None, seed: int, batch_size: int, device: str,
               dtype: str) -> None:
        for name, value, low in (("steps", steps, 1), ("ensemble", ensemble, 1),
                                 ("batch_size", batch_size, 1), ("resolution", resolution, 8)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < low):
                raise NormalkitError(f"{name} must be a whole number ≥ {low}, got {value!r}")
        if resolution is not None and resolution % 8:
            raise NormalkitError(f"resolution must be a multiple of 8 (the VAE's stride), "
                                 f"got {resolution}")
        torch, diffusers = require_torch()
        _quiet(diffusers)
        self._torch = torch
        torch_dtype = _check_device(torch, device, dtype)
        cls = _pipeline_class(model, task, diffusers)
        try:
            with warnings.catch_warnings():  # newer diffusers call it dtype; both accept it
                warnings.filterwarnings("ignore", message=".*torch_dtype.*")
                pipe = cls.from_pretrained(model, torch_dtype=torch_dtype)
        except (OSError, ValueError) as exc:
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise _no_model(model, task, f"; diffusers said: {text[:160]}") from None
        if type(pipe).__name__ != cls.__name__:
            raise NormalkitError(f"'{model}' is not a Marigold {task} pipeline")
        pipe.set_progress_bar_config(disable=True)
        self.pipe = pipe.to(device)
        self.model = model
        self.steps, self.ensemble, self.resolution = steps, ensemble, resolution
        self.seed, self.batch_size, self.device, self.dtype = seed, batch_size, device, dtype
        self.name = f"marigold:{Path(model).name or model}"

    def describe(self) -> dict:
        return {"name": self.name, "model": self.model, "steps": self.steps,
                "ensemble": self.ensemble, "resolution": self.resolution, "seed": self.seed,
                "batch_size": self.batch_size, "device": self.device, "dtype": self.dtype}

    def _call(self, rgb: np.ndarray):
        torch = self._torch
        generator = torch.Generator(device="cpu" if self.device == "mps" else self.device)
        generator.manual_seed(int(self.seed))
        kwargs = {"num_inference_steps": self.steps, "ensemble_size": self.ensemble,
                  "batch_size": self.batch_size, "generator": generator,
                  "output_uncertainty": self.ensemble > 1, "match_input_resolution": True}
        if self.resolution is not None:
            kwargs["processing_resolution"] = self.resolution
        try:
            with torch.inference_mode():
                out = self.pipe(rgb, **kwargs)
        except (MemoryError, torch.OutOfMemoryError) as exc:
            raise self._oom() from exc
        except RuntimeError as exc:
            if "out of memory" in str(exc).lower() or "can't allocate" in str(exc).lower():
                raise self._oom() from exc
            raise
        unc = None if out.uncertainty is None else np.asarray(out.uncertainty)[0]
        return np.asarray(out.prediction)[0], unc

    def _oom(self) -> NormalkitError:
        res = self.resolution or getattr(self.pipe, "default_processing_resolution", None)
        hint = "--dtype float16" if self.device != "cpu" else "--ensemble 1 --batch-size 1"
        return NormalkitError(f"out of memory running {self.name} at processing resolution "
                              f"{res} on {self.device}: lower --resolution (e.g. 512) or use "
                              f"{hint}")


class Marigold(_MarigoldBase, NormalEstimator):
    """Marigold normals: ``Marigold("prs-eth/marigold-normals-v1-1").predict(rgb)``.

    Parameters
    ----------
    model : str
        A local folder (``save_pretrained``'s layout) or a hub id.
    steps : int, optional
        Denoising steps (default: the checkpoint's own, e.g. 4 for v1-1).
    ensemble : int
        Predictions per image, averaged; > 1 also gives an uncertainty.
    resolution : int, optional
        Processing resolution, the longer side (default: the checkpoint's, 768);
        predictions are resized back to the input's size.
    seed : int
        Seed of the initial noise: the same seed gives the same prediction.
    batch_size : int
        Ensemble members run per forward pass.
    device : "cpu", "cuda" or "mps"
    dtype : "float32", "float16" or "bfloat16" (half precision on a GPU only)
    """

    frame = np.eye(3)

    def __init__(self, model: str, *, steps: int | None = None,
                 ensemble: int = 1, resolution: int | None = None, seed: int = 0,
                 batch_size: int = 1, device: str = "cpu", dtype: str = "float32"):
        self._setup(model, "normals", steps=steps, ensemble=ensemble, resolution=resolution,
                    seed=seed, batch_size=batch_size, device=device, dtype=dtype)

    def _predict(self, rgb):
        return self._call(rgb)


class MarigoldDepth(_MarigoldBase, DepthEstimator):
    """Marigold depth (affine-invariant, 0 near … 1 far); options as :class:`Marigold`."""

    def __init__(self, model: str, *, steps: int | None = None, ensemble: int = 1,
                 resolution: int | None = None, seed: int = 0, batch_size: int = 1,
                 device: str = "cpu", dtype: str = "float32"):
        self._setup(model, "depth", steps=steps, ensemble=ensemble, resolution=resolution,
                    seed=seed, batch_size=batch_size, device=device, dtype=dtype)

    def _predict(self, rgb):
        pred, unc = self._call(rgb)
        return pred[..., 0] if pred.ndim == 3 else pred, unc
