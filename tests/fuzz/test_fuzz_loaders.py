"""Fuzzing the loaders: any input loads, or raises NormalkitError; nothing else, no noise.

Every file format normalkit reads (OBJ, PLY, STL, OFF, glTF/GLB through
``load_mesh``; PNG, EXR, TIFF, JPEG through ``read_image``; cameras.json through
``load_cameras``) is fed mutations of the tiny valid seeds in ``tests/fuzz/corpus/``:
flipped and overwritten bytes, 32-bit header fields set to extreme values,
truncation, inserted, deleted and duplicated runs, splices of two seeds, numbers in
text replaced by huge, negative, NaN or garbage tokens, and JSON (cameras.json, the
glTF JSON, the JSON chunk of a GLB) edited as a tree. The property (:func:`_check`):

* the loader returns a valid object (a Mesh that passes ``validate()``, an image array
  of the documented shapes, a non-empty list of cameras), or raises
  :class:`~normalkit.core.errors.NormalkitError` with a one-line message naming the file;
* it prints nothing to stdout or stderr (native libraries included: OpenEXR, libpng,
  libjpeg, OpenCV), and neither warns (bar deprecations) nor logs a warning.

Hypothesis runs ``derandomize=True`` without a database, so CI sees the same inputs
every run; ``FUZZ_EXAMPLES`` (an environment variable) scales the example counts
for longer local runs, and ``FUZZ_RANDOM=1`` draws fresh inputs each run, e.g.
``FUZZ_EXAMPLES=20 FUZZ_RANDOM=1 pytest tests/test_fuzz_loaders.py``.
Inputs that once broke a loader live in ``tests/fuzz/corpus/regressions/`` and are
checked by a plain test. Headers that claim enormous counts must fail fast, without
allocating (:func:`test_huge_header_counts_fail_fast`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import struct
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from normalkit.core.errors import NormalkitError
from normalkit.images.io import read_image
from normalkit.mesh.io import MESH_FORMATS, load_mesh
from normalkit.mesh.model import Mesh
from normalkit.rendering.camera import Camera, load_cameras

CORPUS = Path(__file__).resolve().parent / "corpus"
REGRESSIONS = CORPUS / "regressions"
SCALE = float(os.environ.get("FUZZ_EXAMPLES", "1"))
RANDOM = bool(os.environ.get("FUZZ_RANDOM"))  # fresh inputs each run (local exploration)

#: corpus folder -> examples per run: ~2-7 ms each, about 30 s in all on a 2-core VM.
FORMATS = {"obj": 800, "ply": 1200, "stl": 500, "off": 500, "gltf": 1000, "png": 800,
           "exr": 1000, "tiff": 800, "jpeg": 400, "cameras": 800}

TEXT_TOKENS = [b"nan", b"inf", b"-inf", b"-1", b"0", b"-0", b"1e308", b"-1e308", b"1e-320",
               b"3.5e38", b"99999999999999999999", b"1000000000000", b"2147483647",
               b"2147483648", b"4294967296", b"-2147483649", b"abc", b"", b"1/2/3", b"//",
               b"0x10", b"1.5.5", b"\xff\xfe", b"1e", b"+", b"NaN", b"Infinity"]
HUGE_TOKENS = [b"1000000000000", b"4294967295", b"2147483647", b"99999999999999999999",
               b"-1", b"0", b"65536"]
INTERESTING_U32 = [0, 1, 2, 3, 4, 0xFF, 0x100, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000,
                   0xFFFFFFFF, 10**9]
INTERESTING_BYTES = [0, 1, 0x7F, 0x80, 0xFF, ord(" "), ord("\n"), ord("-"), ord("9")]
JSON_VALUES = [None, True, False, 0, -1, 1, 3, 2**31, 2**64, 1e308, -1e308, 0.5, "", "x",
               "image/png", "data:application/octet-stream;base64,AAAA", [], {}, [[1, 2], [3]],
               [0, 0, 0], [1e308] * 16, float("nan"), float("inf")]
NUMBER = re.compile(rb"-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?")


def _seeds(fmt: str) -> list[tuple[str, bytes]]:
    return [(p.suffix, p.read_bytes()) for p in sorted((CORPUS / fmt).iterdir())]


SEEDS = {fmt: _seeds(fmt) for fmt in FORMATS}


# ------------------------------------------------------------------------------------------
# The property


class _Records(logging.Handler):
    """Log records of WARNING and above (what a CLI without logging set-up would print)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


def _check(path: Path, capfd) -> None:
    """Load ``path`` with its loader; it must succeed validly or raise NormalkitError,
    and print, warn and log nothing."""
    logs = _Records()
    logging.getLogger().addHandler(logs)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _load_checked(path)
    finally:
        logging.getLogger().removeHandler(logs)
    out, err = capfd.readouterr()
    assert out == "", f"the loader printed to stdout: {out[:300]!r}"
    assert err == "", f"the loader printed to stderr: {err[:300]!r}"
    shown = [f"{w.category.__name__}: {w.message}" for w in caught
             if not issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning))]
    assert not shown, f"the loader warned: {shown[:3]}"
    assert not logs.records, f"the loader logged: {[r.getMessage() for r in logs.records][:3]}"


def _load_checked(path: Path) -> None:
    ext = path.suffix.lower()
    t0 = time.perf_counter()
    try:
        if ext in MESH_FORMATS:
            mesh = load_mesh(path)
            assert isinstance(mesh, Mesh)
            mesh.validate()
        elif ext == ".json":
            cams = load_cameras(path)
            assert cams and all(isinstance(c, Camera) for c in cams)
        else:
            image = read_image(path)
            assert isinstance(image, np.ndarray) and image.size > 0
            assert image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (3, 4)), \
                image.shape
            assert image.dtype.kind in "uif", image.dtype
    except NormalkitError as exc:
        msg = str(exc)
        assert "\n" not in msg, f"message is not one line: {msg!r}"
        assert path.name in msg, f"message does not name the file: {msg!r}"
    assert time.perf_counter() - t0 < 20, "the loader took over 20 s"


# ------------------------------------------------------------------------------------------
# Mutations


def _pos(data, buf, end: bool = True) -> int:
    return data.draw(st.integers(0, len(buf) if end else max(len(buf) - 1, 0)))


def _mutate_bytes(data, buf: bytearray, fmt: str) -> bytearray:
    op = data.draw(st.sampled_from(["flip", "byte", "u32", "truncate", "insert", "delete",
                                    "duplicate", "splice", "token", "header"]))
    if not buf and op not in ("insert", "splice"):
        op = "insert"
    if op == "flip":
        i = _pos(data, buf, end=False)
        buf[i] ^= 1 << data.draw(st.integers(0, 7))
    elif op == "byte":
        buf[_pos(data, buf, end=False)] = data.draw(st.sampled_from(INTERESTING_BYTES))
    elif op == "u32":
        i = _pos(data, buf)
        order = data.draw(st.sampled_from("<>"))
        buf[i:i + 4] = struct.pack(order + "I", data.draw(st.sampled_from(INTERESTING_U32)))
    elif op == "truncate":
        del buf[_pos(data, buf):]
    elif op == "insert":
        i = _pos(data, buf)
        buf[i:i] = data.draw(st.binary(min_size=1, max_size=16))
    elif op == "delete":
        i = _pos(data, buf)
        del buf[i:i + data.draw(st.integers(1, 64))]
    elif op == "duplicate":
        i, j = sorted((_pos(data, buf), _pos(data, buf)))
        buf[i:i] = buf[i:min(j, i + 256)] * data.draw(st.integers(1, 4))
    elif op == "splice":
        other = data.draw(st.sampled_from(SEEDS[fmt]))[1]
        i = _pos(data, buf)
        j = data.draw(st.integers(0, len(other)))
        buf = buf[:i] + bytearray(other[j:])
    else:  # replace a number in the text (header numbers only for "header")
        limit = 400 if op == "header" else len(buf)
        spans = [m.span() for m in NUMBER.finditer(bytes(buf[:limit]))]
        if spans:
            a, b = data.draw(st.sampled_from(spans))
            tokens = HUGE_TOKENS if op == "header" else TEXT_TOKENS
            buf[a:b] = data.draw(st.sampled_from(tokens))
        else:
            buf[_pos(data, buf, end=False)] ^= 0xFF
    return buf


def _json_paths(node, path=(), out=None, depth=0):
    out = [] if out is None else out
    out.append(path)
    if depth < 6 and len(out) < 400:
        items = node.items() if isinstance(node, dict) else (
            enumerate(node) if isinstance(node, list) else ())
        for k, v in items:
            _json_paths(v, path + (k,), out, depth + 1)
    return out


def _mutate_json(data, doc):
    """Edit one node of a JSON tree: replace it, delete it, or duplicate a list item."""
    paths = _json_paths(doc)
    path = data.draw(st.sampled_from(paths))
    if not path:  # a copy: JSON_VALUES must stay as it is for the next input
        return json.loads(json.dumps(data.draw(st.sampled_from(JSON_VALUES))))
    parent = doc
    for k in path[:-1]:
        parent = parent[k]
    key = path[-1]
    op = data.draw(st.sampled_from(["replace", "replace", "delete", "duplicate"]))
    if op == "delete":
        del parent[key]
    elif op == "duplicate" and isinstance(parent, list):
        parent.insert(key, json.loads(json.dumps(parent[key])))
    else:
        value = data.draw(st.sampled_from(JSON_VALUES))
        parent[key] = json.loads(json.dumps(value))
    return doc


def _glb_split(blob: bytes):
    """(json document, binary chunk) of a well-formed GLB, or None."""
    if len(blob) < 20 or blob[:4] != b"glTF":
        return None
    n, kind = struct.unpack_from("<II", blob, 12)
    if kind != 0x4E4F534A:
        return None
    try:
        doc = json.loads(blob[20:20 + n])
    except ValueError:
        return None
    rest = blob[20 + n:]
    return doc, rest[8:] if len(rest) >= 8 else b""


def _glb_join(doc, binary: bytes) -> bytes:
    js = json.dumps(doc).encode()
    js += b" " * (-len(js) % 4)
    chunks = struct.pack("<II", len(js), 0x4E4F534A) + js
    if binary:
        binary += b"\0" * (-len(binary) % 4)
        chunks += struct.pack("<II", len(binary), 0x004E4942) + binary
    return struct.pack("<III", 0x46546C67, 2, 12 + len(chunks)) + chunks


def _fuzz_input(data, fmt: str) -> tuple[str, bytes]:
    suffix, seed = data.draw(st.sampled_from(SEEDS[fmt]), label="seed")
    buf = bytearray(seed)
    if suffix in (".json", ".gltf", ".glb") and data.draw(st.booleans(), label="tree"):
        if suffix == ".glb":
            doc, binary = _glb_split(seed)
        else:
            doc, binary = json.loads(seed), None
        for _ in range(data.draw(st.integers(1, 3))):
            doc = _mutate_json(data, doc)
        if suffix == ".glb":
            buf = bytearray(_glb_join(doc, binary))
        else:
            buf = bytearray(json.dumps(doc).encode())
        if not data.draw(st.booleans(), label="and bytes"):
            return suffix, bytes(buf)
    for _ in range(data.draw(st.integers(1, 3), label="byte edits")):
        buf = _mutate_bytes(data, buf, fmt)
    return suffix, bytes(buf)


# ------------------------------------------------------------------------------------------
# Tests


def _fuzz_settings(fmt: str):
    return settings(max_examples=max(1, int(FORMATS[fmt] * SCALE)), deadline=None,
                    derandomize=not RANDOM, database=None, print_blob=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow, HealthCheck.data_too_large])


def _make_fuzz_test(fmt: str):
    @_fuzz_settings(fmt)
    @given(data=st.data())
    def test(tmp_path_factory, capfd, data):
        suffix, blob = _fuzz_input(data, fmt)
        path = tmp_path_factory.mktemp("fuzz", numbered=True) / f"input{suffix}"
        path.write_bytes(blob)
        capfd.readouterr()
        _check(path, capfd)

    test.__name__ = f"test_fuzz_{fmt}"
    return test


for _fmt in FORMATS:
    globals()[f"test_fuzz_{_fmt}"] = _make_fuzz_test(_fmt)
del _fmt


@pytest.mark.parametrize("path", sorted(p for fmt in FORMATS for p in (CORPUS / fmt).iterdir()),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_seeds_load(path):
    """Every seed is valid: the fuzzer starts from files that load."""
    ext = path.suffix.lower()
    if ext in MESH_FORMATS:
        assert load_mesh(path).n_faces > 0
    elif ext == ".json":
        assert load_cameras(path)
    else:
        assert read_image(path).size > 0


def _regressions():
    return sorted(REGRESSIONS.iterdir()) if REGRESSIONS.is_dir() else []


@pytest.mark.parametrize("path", _regressions(), ids=lambda p: p.name)
def test_regressions(path, capfd):
    """Inputs that once escaped with another exception (or printed, or hung)."""
    capfd.readouterr()
    _check(path, capfd)


# ------------------------------------------------------------------------------------------
# Headers that claim enormous sizes: NormalkitError at once, nothing allocated


def _patched(fmt: str, name: str, old: bytes, new: bytes) -> bytes:
    blob = (CORPUS / fmt / name).read_bytes()
    assert blob.count(old) >= 1, (name, old)
    return blob.replace(old, new, 1)


def _png_ihdr(w: int, h: int) -> bytes:
    import zlib

    b = bytearray((CORPUS / "png" / "rgb16.png").read_bytes())
    b[16:24] = struct.pack(">II", w, h)
    b[29:33] = struct.pack(">I", zlib.crc32(bytes(b[12:29])))
    return bytes(b)


def _png_chunk_length(length: int) -> bytes:
    b = bytearray((CORPUS / "png" / "rgb8.png").read_bytes())
    i = b.find(b"IDAT") - 4
    b[i:i + 4] = struct.pack(">I", length)
    return bytes(b)


def _jpeg_size(w: int, h: int) -> bytes:
    b = bytearray((CORPUS / "jpeg" / "rgb.jpg").read_bytes())
    i = b.find(b"\xff\xc0")
    b[i + 5:i + 9] = struct.pack(">HH", h, w)
    return bytes(b)


def _exr_window(w: int, h: int) -> bytes:
    b = bytearray((CORPUS / "exr" / "rgb_float.exr").read_bytes())
    key = b"dataWindow\0box2i\0"
    i = b.find(key) + len(key) + 4
    b[i:i + 16] = struct.pack("<iiii", 0, 0, w - 1, h - 1)
    return bytes(b)


def _tiff_size(w: int, h: int) -> bytes:
    import tifffile

    path = CORPUS / "tiff" / "rgb8.tif"
    b = bytearray(path.read_bytes())
    with tifffile.TiffFile(path) as tif:
        tags = tif.pages[0].tags
        for name, value in (("ImageWidth", w), ("ImageLength", h)):
            tag = tags[name]
            fmt = "<H" if tag.dtype == 3 else "<I"
            b[tag.offset + 8:tag.offset + 8 + struct.calcsize(fmt)] = struct.pack(fmt, value)
    return bytes(b)


def _glb_counts(count: int) -> bytes:
    doc, binary = _glb_split((CORPUS / "gltf" / "tetra_plain.glb").read_bytes())
    for acc in doc["accessors"]:
        acc["count"] = count
    return _glb_join(doc, binary)


HUGE = {
    "vertex_1e12_fast.ply": lambda: _patched("ply", "fast_plain.ply", b"element vertex 4",
                                             b"element vertex 1000000000000"),
    "face_1e12_fast.ply": lambda: _patched("ply", "fast_plain.ply", b"element face 4",
                                           b"element face 1000000000000"),
    "vertex_1e12_ascii.ply": lambda: _patched("ply", "ascii_normals_uv.ply",
                                              b"element vertex 4",
                                              b"element vertex 1000000000000"),
    "face_1e12_big_endian.ply": lambda: _patched("ply", "binary_big_endian.ply",
                                                 b"element face 2",
                                                 b"element face 1000000000000"),
    "counts_1e12.off": lambda: _patched("off", "pyramid.off", b"5 5 0",
                                        b"1000000000000 1000000000000 0"),
    "count_4e9.stl": lambda: (lambda b: b[:80] + struct.pack("<I", 0xFFFFFFFF) + b[84:])(
        (CORPUS / "stl" / "tetra_binary.stl").read_bytes()),
    "length_4e9.glb": lambda: (lambda b: b[:8] + struct.pack("<I", 0xFFFFFFFF) + b[12:])(
        (CORPUS / "gltf" / "tetra_plain.glb").read_bytes()),
    "accessor_count_1e12.glb": lambda: _glb_counts(10**12),
    "ihdr_60000.png": lambda: _png_ihdr(60000, 60000),
    "ihdr_2e9_wide.png": lambda: _png_ihdr(2**31 - 1, 1),
    "chunk_4e9.png": lambda: _png_chunk_length(0xFFFFFFF0),
    "sof_30000.jpg": lambda: _jpeg_size(30000, 30000),
    "window_30000.exr": lambda: _exr_window(30000, 30000),
    "window_1e9_wide.exr": lambda: _exr_window(2**30, 1),
    "size_100000.tif": lambda: _tiff_size(100000, 100000),
    "nested.json": lambda: b"[" * 100000 + b"]" * 100000,
}

_HUGE_SCRIPT = """
import json, resource, sys, time
from pathlib import Path
from normalkit.rendering.camera import load_cameras
from normalkit.core.errors import NormalkitError
from normalkit.images.io import read_image
from normalkit.mesh.io import MESH_FORMATS, load_mesh
import cv2, OpenEXR, tifffile, trimesh  # imported before the baseline
def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out = {"baseline_mb": peak(), "cases": {}}
for p in sorted(Path(sys.argv[1]).iterdir()):
    t = time.perf_counter()
    try:
        ext = p.suffix.lower()
        (load_mesh if ext in MESH_FORMATS else load_cameras if ext == ".json" else
         read_image)(p)
        result = "loaded"
    except NormalkitError as exc:
        result = "NormalkitError: " + str(exc)
    except BaseException as exc:
        result = f"{type(exc).__name__}: {exc}"
    out["cases"][p.name] = [result, time.perf_counter() - t, peak()]
print(json.dumps(out))
"""


def test_huge_header_counts_fail_fast(tmp_path):
    """Each header claims 10⁹–10¹² elements or pixels in a file of a few hundred bytes:
    the loader must say so at once (< 2 s) without allocating (peak memory of a fresh
    process grows < 300 MB over all cases)."""
    import subprocess
    import sys

    for name, make in HUGE.items():
        (tmp_path / name).write_bytes(make())
    run = subprocess.run([sys.executable, "-c", _HUGE_SCRIPT, str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stderr == "", f"the loaders printed: {run.stderr[:500]!r}"
    report = json.loads(run.stdout)
    problems = []
    for name, (result, seconds, peak_mb) in report["cases"].items():
        if not result.startswith("NormalkitError") or name not in result:
            problems.append(f"{name}: {result[:200]}")
        if seconds > 2:
            problems.append(f"{name}: took {seconds:.1f} s")
        if peak_mb - report["baseline_mb"] > 300:  # the peak only rises: the first culprit
            problems.append(f"{name}: peak memory {peak_mb - report['baseline_mb']:.0f} MB "
                            "over the baseline")
    assert len(report["cases"]) == len(HUGE)
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------------------------------
# The defects of issue #9, by name


def test_empty_and_degenerate_glb_name_the_file_and_the_fix(tmp_path):
    empty = tmp_path / "empty.glb"
    empty.write_bytes(b"")
    with pytest.raises(NormalkitError, match=r"'.*empty\.glb': the file is empty \(0 bytes\); "
                                             "export the mesh again"):
        load_mesh(empty)
    # A valid container without meshes (a scene of empty nodes).
    scene_only = tmp_path / "nodes.glb"
    scene_only.write_bytes(_glb_join({"asset": {"version": "2.0"}, "scene": 0,
                                      "scenes": [{"nodes": [0]}], "nodes": [{"name": "n"}]},
                                     b""))
    with pytest.raises(NormalkitError, match=r"nodes\.glb.*no triangles.*export the mesh"):
        load_mesh(scene_only)


def test_a_bad_exr_prints_nothing(capfd):
    """OpenEXR printed "Warning: Exception raised reading pixel data ..." on stdout and
    its core library the error on stderr; both now only feed the NormalkitError."""
    path = REGRESSIONS / "exr_openexr_prints_warning_on_stdout.exr"
    capfd.readouterr()
    with pytest.raises(NormalkitError, match=r"exr_openexr_prints.*OpenEXR.*export it again"):
        read_image(path)
    assert capfd.readouterr() == ("", "")
    print("stdout works again")  # descriptors and sys.stdout are restored
    os.write(2, b"so does fd 2\n")
    assert capfd.readouterr() == ("stdout works again\n", "so does fd 2\n")


def test_load_cameras_reads_render_output_and_names_problems(tmp_path):
    seed = json.loads((CORPUS / "cameras" / "cameras.json").read_text())
    cams = load_cameras(CORPUS / "cameras" / "cameras.json")
    assert [c.orthographic for c in cams] == [False, True]
    for cam, view in zip(cams, seed["views"], strict=True):
        np.testing.assert_array_equal(cam.K, view["K"])
        np.testing.assert_array_equal(cam.cam_to_world, view["cam_to_world"])
        assert (cam.width, cam.height) == (view["width"], view["height"])

    def message(doc) -> str:
        path = tmp_path / "cameras.json"
        path.write_text(json.dumps(doc))
        with pytest.raises(NormalkitError) as info:
            load_cameras(path)
        msg = str(info.value)
        assert msg.startswith(f"cannot read '{path}'") and "\n" not in msg
        return msg

    assert "not a normalkit cameras.json" in message({"frames": []})
    assert "upgrade" in message({**seed, "format": "normalkit cameras 2"})
    assert "non-empty list" in message({**seed, "views": []})
    bad = json.loads(json.dumps(seed))
    bad["views"][1]["K"][0] = [1.0, 0.0]
    assert "view 1: K must be a 3×3 matrix" in message(bad)
    bad = json.loads(json.dumps(seed))
    bad["views"][0]["cam_to_world"][0][0] = 2.0
    assert "view 0: cam_to_world must be a rigid transform" in message(bad)
    bad = json.loads(json.dumps(seed))
    bad["views"][0]["width"] = 0
    assert "view 0: width must be a positive integer" in message(bad)
    with pytest.raises(NormalkitError, match="no such file"):
        load_cameras(tmp_path / "missing.json")


def test_concurrent_reads_stay_quiet_and_restore_the_streams(capfd):
    """Reads in threads share one redirection of stdout/stderr; it is undone at the end."""
    from concurrent.futures import ThreadPoolExecutor

    bad = [REGRESSIONS / n for n in ("exr_openexr_prints_warning_on_stdout.exr",
                                     "png_idat_crc_libpng_error.png",
                                     "jpeg_premature_end_libjpeg_warning.jpg")]
    good = [CORPUS / "exr" / "rgb_float.exr", CORPUS / "png" / "rgb16.png",
            CORPUS / "jpeg" / "rgb.jpg"]

    def read(path):
        try:
            return read_image(path).shape
        except NormalkitError as exc:
            return str(exc)

    capfd.readouterr()
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(read, (bad + good) * 10))
    for path, result in zip((bad + good) * 10, results, strict=True):
        if path in good:
            assert isinstance(result, tuple), result
        else:
            assert isinstance(result, str) and path.name in result and "\n" not in result
    assert capfd.readouterr() == ("", "")
    print("stdout works")
    os.write(2, b"fd 2 works\n")
    assert capfd.readouterr() == ("stdout works\n", "fd 2 works\n")
