"""Image files: PNG (8/16-bit), OpenEXR (half/float) and TIFF (any numeric dtype).

Arrays follow CONVENTIONS.md: row 0 is the top of the image and channels are in
R, G, B(, A) order, whatever order the file format or library uses on disk.
Every write goes through :func:`normalkit.core.atomic.atomic_path`, so a failed write
never leaves a partial file behind. Problems with the input (a dtype the format
cannot hold, an unknown extension, an unreadable file) raise
:class:`~normalkit.core.errors.NormalkitError` with a message that names the fix.

Speed: see the Notes of :func:`write_image` and :func:`read_image`.
"""

from __future__ import annotations

import contextlib
import os
import struct
import threading
from pathlib import Path

import numpy as np

from ..core.atomic import atomic_path
from ..core.errors import NormalkitError

__all__ = ["IMAGE_FORMATS", "READ_ONLY_FORMATS", "bits_to_extension", "check_output_path",
           "read_image", "write_image"]

_TIFF_DTYPES = (
    "uint8",
    "uint16",
    "uint32",
    "int8",
    "int16",
    "int32",
    "float16",
    "float32",
    "float64",
)

#: Writable formats: lower-case extension -> dtypes that format stores.
IMAGE_FORMATS: dict[str, tuple[str, ...]] = {
    ".png": ("uint8", "uint16"),
    ".exr": ("float16", "float32"),
    ".tif": _TIFF_DTYPES,
    ".tiff": _TIFF_DTYPES,
}

#: Extra formats :func:`read_image` accepts (through OpenCV) but never writes:
#: lossy or 8-bit-only formats that downloaded normal maps often come in.
READ_ONLY_FORMATS: tuple[str, ...] = (".jpg", ".jpeg", ".bmp", ".webp")

# (The codecs, cv2, OpenEXR and tifffile, are imported where used: importing all three
# up front costs a quarter of a second of every command's start-up.)

_DEFAULT_EXTENSION = {8: ".png", 16: ".png", 32: ".exr"}
_BITS_EXTENSIONS = {
    8: (".png", ".tif", ".tiff"),
    16: (".png", ".tif", ".tiff"),
    32: (".exr", ".tif", ".tiff"),
}


def _extension(path: str | os.PathLike) -> str:
    return Path(path).suffix.lower()


def _format_list() -> str:
    return ", ".join(IMAGE_FORMATS)


def bits_to_extension(bits: int, path: str | os.PathLike | None = None) -> str:
    """Return the file extension that stores a normal map of ``bits`` bits per channel.

    Parameters
    ----------
    bits : int
        8 or 16 (unsigned integers, stored as PNG) or 32 (float, stored as EXR).
    path : str or os.PathLike, optional
        The output name the user gave. If it has an extension, that extension
        is checked against ``bits`` and returned (lower-cased): ``.tif``/``.tiff``
        hold any depth, ``.png`` only 8 or 16, ``.exr`` only 32.

    Returns
    -------
    str
        ``".png"``, ``".exr"``, ``".tif"`` or ``".tiff"``.

    Raises
    ------
    NormalkitError
        ``bits`` is not 8, 16 or 32, or the named extension cannot hold it.
    """
    if bits not in _DEFAULT_EXTENSION:
        raise NormalkitError(f"bits must be 8, 16 or 32, not {bits!r}")
    ext = _extension(path) if path is not None else ""
    if not ext:
        return _DEFAULT_EXTENSION[bits]
    if ext not in IMAGE_FORMATS:
        raise NormalkitError(
            f"cannot write '{path}': unknown image extension '{ext}'; use one of {_format_list()}"
        )
    if ext not in _BITS_EXTENSIONS[bits]:
        allowed = " or ".join(_BITS_EXTENSIONS[bits])
        raise NormalkitError(
            f"cannot write {bits}-bit data to '{path}': {ext} holds {_depth_words(ext)}; "
            f"name the file {allowed}, or choose bits {_bits_for(ext)}"
        )
    return ext


def _depth_words(ext: str) -> str:
    return {".png": "only 8- or 16-bit integers", ".exr": "only floats"}.get(ext, "any depth")


def _bits_for(ext: str) -> str:
    return " or ".join(str(b) for b, exts in _BITS_EXTENSIONS.items() if ext in exts)


def _alpha_max(dtype: np.dtype) -> float | int:
    if dtype.kind == "f":
        return 1.0
    return np.iinfo(dtype).max


def check_output_path(path: str | os.PathLike, bits: int | None = None,
                      label: str = "") -> str:
    """Before any work: ``path`` names a writable image format (and, with ``bits``, one
    that holds that depth, see :func:`bits_to_extension`). Returns the extension.
    ``label`` (e.g. "--mask") goes into the message."""
    ext = _extension(path)
    if ext not in IMAGE_FORMATS:
        hint = " (it can be read, not written)" if ext in READ_ONLY_FORMATS else ""
        what = f"{label} '{path}'" if label else f"'{path}'"
        raise NormalkitError(
            f"cannot write {what}: unknown image extension '{ext or '(none)'}'{hint}; "
            f"use one of {_format_list()}"
        )
    if bits is not None:
        bits_to_extension(bits, path)
    return ext


def _prepare(path: str | os.PathLike, image, alpha) -> tuple[str, np.ndarray]:
    """Validate ``image`` (and ``alpha``) for ``path``; return (extension, (H,W) or (H,W,C))."""
    ext = check_output_path(path)
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (3, 4))):
        raise NormalkitError(
            f"cannot write '{path}': image has shape {image.shape}; "
            "give a gray (H, W), RGB (H, W, 3) or RGBA (H, W, 4) array"
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise NormalkitError(f"cannot write '{path}': image is empty, shape {image.shape}")
    if image.dtype.name not in IMAGE_FORMATS[ext]:
        raise NormalkitError(_dtype_message(path, ext, image.dtype))
    if alpha is not None:
        alpha = np.asarray(alpha)
        if image.ndim != 3 or image.shape[2] != 3:
            raise NormalkitError(
                f"cannot write '{path}': alpha needs an RGB (H, W, 3) image, got shape "
                f"{image.shape}; drop alpha or pass RGB"
            )
        if alpha.shape != image.shape[:2]:
            raise NormalkitError(
                f"cannot write '{path}': alpha has shape {alpha.shape}, "
                f"image is {image.shape[:2]}; give an (H, W) mask"
            )
        a = np.zeros(alpha.shape, image.dtype)
        a[alpha.astype(bool, copy=False)] = _alpha_max(image.dtype)
        image = np.concatenate([image, a[:, :, None]], axis=2)
    return ext, np.ascontiguousarray(image)  # the encoders view rows as bytes


def _dtype_message(path, ext: str, dtype: np.dtype) -> str:
    base = f"cannot write {dtype} data to '{path}': {ext} holds {' or '.join(IMAGE_FORMATS[ext])}"
    if ext == ".png" and dtype.kind == "f":
        fix = "encode it first (encode_normals(..., bits=8 or 16)) or write .exr/.tif for floats"
    elif ext == ".png":
        fix = "convert it to uint8 or uint16, or write .tif"
    elif ext == ".exr" and dtype.kind == "f":
        fix = "convert with image.astype(np.float32)"
    elif ext == ".exr":
        fix = "write integer data to .png or .tif, or convert it to float32"
    else:
        fix = "convert it to a numeric dtype such as uint16 or float32"
    return f"{base}; {fix}"


def write_image(
    path: str | os.PathLike, image: np.ndarray, *, alpha: np.ndarray | None = None,
    text: dict | None = None,
) -> None:
    """Write ``image`` to ``path``, choosing the format from the extension.

    Parameters
    ----------
    path : str or os.PathLike
        Output file. The extension (case-insensitive) picks the format:

        - ``.png``: uint8 or uint16, written by :func:`normalkit.images.png.write_png`
          (Up filter, deflate level 1 (ISA-L's, or zlib's), deflated on every core).
        - ``.exr``: float16 or float32, written by OpenEXR with ZIP compression
          as channels ``R, G, B(, A)``, or ``Y`` for a gray image.
        - ``.tif`` / ``.tiff``: any of :data:`IMAGE_FORMATS` ``[".tif"]``,
          written by tifffile, photometric RGB (gray: min-is-black),
          Adobe-deflate (zlib level 1); the fourth channel is unassociated alpha.
    image : numpy.ndarray
        (H, W) gray, (H, W, 3) RGB or (H, W, 4) RGBA, row 0 at the top.
        (H, W, 1) is treated as gray.
    alpha : numpy.ndarray, optional
        (H, W) coverage mask, appended as a fourth channel to an RGB image in
        the image's dtype: 0 where ``alpha`` is zero/False, the dtype's maximum
        (255, 65535, 1.0) elsewhere.
    text : dict, optional
        {key: text} metadata: PNG ``tEXt`` chunks, EXR header string attributes (TIFF:
        not written).

    Raises
    ------
    NormalkitError
        Unknown extension, a dtype the format cannot hold (e.g. float to PNG),
        a bad shape, an unwritable location, or the encoder failed. No file,
        partial or temporary, is left at ``path`` or beside it.

    Notes
    -----
    Cost is one pass of the encoder (plus, for EXR and TIFF, a channel copy). Measured
    for a 4096 x 4096 RGB normal map on a shared 2-core AMD EPYC VM (wall time):
    16-bit PNG 0.23-0.28 s, 13.4 MB (OpenCV/libpng took 1.25 s and 51.6 MB with
    Huffman-only deflate, 0.98 s and 15.5 MB at level 1, on the same map), float32 EXR
    2.4-3.1 s (ZIP on float data), float32 TIFF 5-7.5 s (Python zlib).
    """
    ext, image = _prepare(path, image, alpha)
    with atomic_path(path) as tmp:
        try:
            if ext == ".png":
                _write_png(tmp, image, text)
            elif ext == ".exr":
                _write_exr(tmp, image, text)
            else:
                _write_tiff(tmp, image)
        except NormalkitError:
            raise
        except Exception as exc:  # encoder libraries raise assorted types
            raise NormalkitError(f"cannot write '{path}': {exc}") from exc


def _write_png(tmp: str, image: np.ndarray, text: dict | None = None) -> None:
    from .png import write_png

    with open(tmp, "wb") as f:
        write_png(f, image, text=text)


def _write_exr(tmp: str, image: np.ndarray, text: dict | None = None) -> None:
    import OpenEXR

    # The OpenEXR bindings ignore strides: a non-contiguous channel view is
    # written as garbage, so every channel is copied to a contiguous array.
    if image.ndim == 2:
        channels = {"Y": np.ascontiguousarray(image)}
    else:
        channels = {
            name: np.ascontiguousarray(image[:, :, i])
            for i, name in enumerate("RGBA"[: image.shape[2]])
        }
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    header.update({k: str(v) for k, v in (text or {}).items()})
    OpenEXR.File(header, channels).write(tmp)


def _write_tiff(tmp: str, image: np.ndarray) -> None:
    import tifffile

    kwargs = {}
    if image.ndim == 3:
        kwargs["photometric"] = "rgb"
        if image.shape[2] == 4:
            kwargs["extrasamples"] = ("unassalpha",)
    else:
        kwargs["photometric"] = "minisblack"
    tifffile.imwrite(tmp, image, compression="zlib", compressionargs={"level": 1}, **kwargs)


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file into an array, row 0 at the top, channels R, G, B(, A).

    Parameters
    ----------
    path : str or os.PathLike
        ``.png``, ``.exr``, ``.tif``/``.tiff``, or one of
        :data:`READ_ONLY_FORMATS` (read through OpenCV).

    Returns
    -------
    numpy.ndarray
        (H, W) gray, (H, W, 3) RGB or (H, W, 4) RGBA, C-contiguous, in the
        stored dtype: uint8/uint16 for PNG; float32 for EXR (half channels are
        widened exactly; UINT channels stay uint32); whatever TIFF stores
        (planar-separate TIFFs are returned interleaved; the first page only;
        1-bit TIFFs as uint8 0/255). EXR: the data window; a file without R/G/B
        channels must have exactly one channel (e.g. ``Y`` or ``Z``), returned
        as (H, W).

    Raises
    ------
    NormalkitError
        One line naming the file: missing or empty file, unknown extension, a
        file the decoder cannot read (with the decoder's first message), a header
        that declares more pixels than the file's data can hold (PNG, JPEG and
        TIFF are checked before anything is allocated), a truncated JPEG, or an
        image of another shape (e.g. gray + alpha) or non-numeric samples.

    Notes
    -----
    Cost is one decode plus one channel-reordering copy. 4096 x 4096 RGB on a
    shared 2-core VM: 16-bit PNG 0.6-0.9 s, float32 EXR 0.6-1.6 s, float32
    TIFF 1.2-1.7 s.

    Quiet: what libpng, libjpeg, OpenCV, OpenEXR and tifffile print or log about a
    file is captured during the decode (file descriptors 1 and 2 are redirected for
    that time, process-wide) and only ever reaches the user inside the error.
    """
    p = Path(path)
    ext = p.suffix.lower()
    if ext not in IMAGE_FORMATS and ext not in READ_ONLY_FORMATS:
        raise NormalkitError(
            f"cannot read '{path}': unknown image extension '{ext or '(none)'}'; "
            f"use one of {', '.join((*IMAGE_FORMATS, *READ_ONLY_FORMATS))}"
        )
    if not p.is_file():
        what = "it is a directory" if p.is_dir() else "no such file"
        raise NormalkitError(f"cannot read '{path}': {what}; check the path")
    if p.stat().st_size == 0:
        raise NormalkitError(f"cannot read '{path}': the file is empty (0 bytes); "
                             "export the image again")
    kind = {".exr": "OpenEXR", ".tif": "TIFF", ".tiff": "TIFF"}.get(ext, ext[1:].upper())
    native = _NativeOutput()
    try:
        with native, _quiet_loggers("tifffile"):
            if ext == ".exr":
                image = _read_exr(p, native)
            elif ext in (".tif", ".tiff"):
                image = _read_tiff(p)
            else:
                image = _read_cv2(p, native)
    except NormalkitError:
        raise
    except MemoryError:
        raise NormalkitError(
            f"cannot read '{path}': it declares more pixels than fit in memory; the file is "
            "corrupt, or too large for this machine") from None
    except Exception as exc:  # decoder libraries raise assorted types
        detail = native.first_line(p) or _reason(exc, p)
        raise NormalkitError(f"cannot read '{path}': corrupt or not {kind} ({detail}); "
                             "export it again") from None
    return _check_shape(p, image)


def _reason(exc: BaseException, p: Path, limit: int = 160) -> str:
    """A library exception as one bounded line, without the (long) path in it."""
    text = " ".join(str(exc).replace(str(p), p.name).split()) or type(exc).__name__
    if isinstance(exc, UnicodeDecodeError):
        text = "a name or text in the header is not UTF-8"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _check_shape(p: Path, image: np.ndarray) -> np.ndarray:
    """The decoded array as promised: (H, W), (H, W, 3) or (H, W, 4) of numbers."""
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.dtype == np.bool_:  # 1-bit TIFF
        image = image.astype(np.uint8) * np.uint8(255)
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (3, 4))):
        raise NormalkitError(
            f"cannot read '{p}': the image has shape {image.shape}; normalkit reads gray, RGB "
            "or RGBA images, save it as one of those")
    if image.dtype.kind not in "uif":
        raise NormalkitError(f"cannot read '{p}': it stores {image.dtype} pixels; save it "
                             "with integer or float channels")
    if image.size == 0:
        raise NormalkitError(f"cannot read '{p}': the image is empty, shape {image.shape}")
    return np.ascontiguousarray(image)


class _NativeOutput:
    """Capture what the decoders print to stdout and stderr.

    libpng, libjpeg, OpenCV and OpenEXR print warnings and errors straight to the
    process's file descriptors 1 and 2, and the OpenEXR bindings to ``sys.stdout``; a
    library must not. Inside the ``with`` block both descriptors point at a temporary
    file and ``sys.stdout``/``sys.stderr`` at a buffer; :meth:`text` returns what was
    written since this block began, and on exit everything is restored (the text is
    dropped: read failures put its first line in their NormalkitError).

    Descriptors are process-wide: what other threads print meanwhile is captured too.
    Concurrent reads share one redirection (the first to enter sets it up, the last to
    leave restores it), so descriptors always come back; a message may then show up in
    another read's text. Where descriptors cannot be redirected (no fd 1/2), only the
    Python streams are captured.
    """

    _lock = threading.Lock()
    _users = 0
    _tmp = None  # shared temporary file, while redirected
    _saved = None  # (fd 1, fd 2, sys.stdout, sys.stderr) to restore
    _py = None  # shared buffer for sys.stdout/sys.stderr

    def __init__(self):
        self._start = (0, 0)
        self._text = None

    def __enter__(self):
        import io
        import sys
        import tempfile

        cls = type(self)
        with cls._lock:
            if cls._users == 0:
                for stream in (sys.stdout, sys.stderr):
                    with contextlib.suppress(Exception):  # None, or closed
                        stream.flush()
                _flush_c_stdio()
                fds = None
                try:
                    tmp = tempfile.TemporaryFile()
                    try:
                        fds = os.dup(1), os.dup(2)
                    except OSError:
                        tmp.close()
                        raise
                except OSError:
                    tmp = None
                if fds is not None:
                    os.dup2(tmp.fileno(), 1)
                    os.dup2(tmp.fileno(), 2)
                cls._tmp = tmp
                cls._saved = (fds, sys.stdout, sys.stderr)
                cls._py = io.StringIO()
                sys.stdout = sys.stderr = cls._py
            cls._users += 1
            self._start = self.mark()
        return self

    def mark(self) -> tuple[int, int]:
        """A position in the captured output, for :meth:`text`."""
        cls = type(self)
        return self._native_size(), len(cls._py.getvalue()) if cls._py is not None else 0

    @classmethod
    def _native_size(cls) -> int:
        if cls._tmp is None:
            return 0
        _flush_c_stdio()
        return os.fstat(cls._tmp.fileno()).st_size

    def text(self, since: tuple[int, int] | None = None) -> str:
        """What was printed since this block began, or since a :meth:`mark` (native output
        first, then Python's)."""
        if self._text is not None and since is None:
            return self._text
        cls = type(self)
        start = self._start if since is None else since
        native = ""
        if cls._tmp is not None:
            _flush_c_stdio()
            native = _read_at(cls._tmp.fileno(), start[0]).decode("utf-8", "replace")
        return native + (cls._py.getvalue()[start[1]:] if cls._py is not None else "")

    def first_line(self, p: Path, text: str | None = None) -> str:
        """The first non-empty line of ``text`` (default: all captured), shortened, the
        path cut to the name; or ''."""
        for line in (self.text() if text is None else text).splitlines():
            line = " ".join(line.replace(str(p), p.name).split()).removeprefix(f"{p.name}: ")
            if line:
                return line if len(line) <= 160 else line[:157] + "..."
        return ""

    def __exit__(self, *exc):
        import sys

        cls = type(self)
        with cls._lock:
            self._text = self.text()
            cls._users -= 1
            if cls._users == 0:
                fds, sys.stdout, sys.stderr = cls._saved
                if fds is not None:
                    _flush_c_stdio()
                    for fd, saved in zip((1, 2), fds, strict=True):
                        os.dup2(saved, fd)
                        os.close(saved)
                if cls._tmp is not None:
                    cls._tmp.close()
                cls._tmp = cls._saved = cls._py = None
        return False


def _read_at(fd: int, offset: int, size: int = 1 << 20) -> bytes:
    """Up to ``size`` bytes of ``fd`` from ``offset``, leaving its file offset alone (the
    redirected stdout/stderr write through it)."""
    if hasattr(os, "pread"):
        return os.pread(fd, size, offset)
    end = os.lseek(fd, 0, os.SEEK_CUR)
    os.lseek(fd, offset, os.SEEK_SET)
    try:
        return os.read(fd, size)
    finally:
        os.lseek(fd, end, os.SEEK_SET)


_LIBC = None


def _flush_c_stdio() -> None:
    """fflush(NULL): push C-level buffered output (C++ std::cout too) to its descriptor."""
    global _LIBC
    if _LIBC is None:
        try:
            import ctypes

            _LIBC = ctypes.CDLL(None)
            _LIBC.fflush(None)
        except (OSError, AttributeError, TypeError):
            _LIBC = False
    if _LIBC:
        _LIBC.fflush(None)


class _quiet_loggers:
    """Silence Python loggers while decoding (tifffile, trimesh warn through ``logging``
    about corrupt files, which reaches stderr when the application sets up no logging).

    Reference-counted per logger, so that concurrent reads in threads restore each
    logger's level exactly once, after the last of them.
    """

    _lock = threading.Lock()
    _users: dict[str, int] = {}
    _levels: dict[str, int] = {}

    def __init__(self, *names: str):
        self._names = names

    def __enter__(self):
        import logging

        cls = type(self)
        with cls._lock:
            for name in self._names:
                if cls._users.get(name, 0) == 0:
                    logger = logging.getLogger(name)
                    cls._levels[name] = logger.level
                    logger.setLevel(logging.CRITICAL + 1)
                cls._users[name] = cls._users.get(name, 0) + 1
        return self

    def __exit__(self, *exc):
        import logging

        cls = type(self)
        with cls._lock:
            for name in self._names:
                cls._users[name] -= 1
                if cls._users[name] == 0:
                    logging.getLogger(name).setLevel(cls._levels.pop(name))
        return False


def _read_cv2(p: Path, native: _NativeOutput) -> np.ndarray:
    import cv2

    data = p.read_bytes()
    if data[:8] == _PNG_SIGNATURE:
        _check_png(p, data)
    elif data[:2] == b"\xff\xd8":
        _check_jpeg(p, data)
    jpeg = data[:2] == b"\xff\xd8"
    # JPEGs decode one at a time, so that libjpeg's "premature end" below is this file's.
    with _JPEG_LOCK if jpeg else contextlib.nullcontext():
        mark = native.mark()
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        said = native.text(mark)
    if image is None:
        detail = native.first_line(p, said)
        raise NormalkitError(
            f"cannot read '{p}': not a valid {p.suffix.lower()[1:].upper()} file"
            + (f" ({detail})" if detail else "") + "; export it again")
    if jpeg and "premature end" in said.lower():
        raise NormalkitError(f"cannot read '{p}': the JPEG data ends early (a truncated or "
                             "corrupt file); download or export it again")
    if image.ndim == 3:
        if image.shape[2] == 3:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        elif image.shape[2] == 4:
            image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
        elif image.shape[2] == 1:
            image = image[:, :, 0]
    return np.ascontiguousarray(image)


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
#: Deflate expands at most 1032-fold; with slack for zlib framing and interlacing.
_DEFLATE_RATIO = 1100


def _check_png(p: Path, data: bytes) -> None:
    """Walk the PNG's chunks: each must lie within the file, and the IHDR's pixels must
    fit in the IDAT data. (OpenCV allocates a declared chunk length before reading it,
    so one flipped length byte would cost gigabytes and seconds.)"""
    def bad(problem: str) -> NormalkitError:
        return NormalkitError(f"cannot read '{p}': {problem}; export it again")

    i, n, idat, ihdr = 8, len(data), 0, None
    while i + 8 <= n:
        length, ctype = struct.unpack_from(">I4s", data, i)
        if i + 12 + length > n:
            raise bad(f"truncated PNG: chunk {ctype!r} at byte {i:,} declares {length:,} "
                      f"bytes, the file has {max(n - i - 12, 0):,} left")
        if ctype == b"IHDR" and length >= 13:
            ihdr = struct.unpack_from(">IIBB", data, i + 8)
        elif ctype == b"IDAT":
            idat += length
        elif ctype == b"IEND":
            break
        i += 12 + length
    if ihdr is None:
        raise bad("the PNG has no IHDR header chunk")
    w, h, depth, color = ihdr
    channels = _PNG_CHANNELS.get(color)
    if not (w and h and channels and depth in (1, 2, 4, 8, 16)):
        raise bad(f"invalid PNG header ({w}×{h}, bit depth {depth}, colour type {color})")
    raw = h * (1 + (w * channels * depth + 7) // 8)
    if raw > _DEFLATE_RATIO * idat + 4096:
        raise bad(f"the header declares {w:,}×{h:,} pixels, but {idat:,} bytes of "
                  "compressed data cannot hold them (truncated or corrupt)")


#: JPEG start-of-frame markers; 0xC9 and up are arithmetic-coded.
_JPEG_SOF = frozenset((0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD,
                       0xCE, 0xCF))


def _check_jpeg(p: Path, data: bytes) -> None:
    """The frame size must fit the data. A Huffman-coded 8×8 block takes at least one
    bit, so a file holds at most 512 pixels per byte; libjpeg would otherwise allocate
    and fill a declared 30000×30000 frame from a 600-byte file (5 GB, 17 s)."""
    i, n = 2, len(data)
    while i + 4 <= n and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            i += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no frame header before
            return
        if marker in _JPEG_SOF and i + 9 <= n:
            h, w = struct.unpack_from(">HH", data, i + 5)
            limit = (1 << 28) if marker >= 0xC9 else 1024 * n + (1 << 20)
            if w * h > limit:
                raise NormalkitError(
                    f"cannot read '{p}': the JPEG header declares {w:,}×{h:,} pixels, more "
                    f"than {n:,} bytes can hold (truncated or corrupt); download or export "
                    "it again")
            return
        i += 2 + int.from_bytes(data[i + 2:i + 4], "big")


#: OpenEXR decodes one file at a time (its bindings hold the GIL anyway); so does libjpeg.
_EXR_LOCK = threading.Lock()
_JPEG_LOCK = threading.Lock()


def _read_exr(p: Path, native: _NativeOutput) -> np.ndarray:
    import OpenEXR

    if not OpenEXR.isOpenExrFile(str(p)):
        raise NormalkitError(f"cannot read '{p}': not an OpenEXR file (no EXR signature); "
                             "export it again")
    with _EXR_LOCK:  # so that the warning below is this file's, not another thread's
        mark = native.mark()
        channels = OpenEXR.File(str(p), separate_channels=True).channels()
        said = native.text(mark)
    if "exception raised reading pixel data" in said.lower():
        # The bindings print this, and return what they could decode (or nothing).
        raise NormalkitError(f"cannot read '{p}': corrupt or truncated OpenEXR pixel data "
                             f"({native.first_line(p, said)}); export it again")
    names = list(channels)
    if {"R", "G", "B"} <= set(names):
        order = ["R", "G", "B", "A"] if "A" in channels else ["R", "G", "B"]
    elif len(names) == 1:
        order = names
    else:
        raise NormalkitError(
            f"cannot read '{p}': channels {sorted(names)} are not R, G, B(, A) or a single "
            "channel; export the normal pass as RGB"
        )
    planes = [channels[n].pixels for n in order]
    if any(pl.shape != planes[0].shape for pl in planes):
        raise NormalkitError(f"cannot read '{p}': subsampled channels are not supported")
    dtype = np.uint32 if planes[0].dtype == np.uint32 else np.float32
    if len(planes) == 1:
        return np.ascontiguousarray(planes[0], dtype=dtype)
    out = np.empty(planes[0].shape + (len(planes),), dtype)
    for i, pl in enumerate(planes):
        out[:, :, i] = pl
    return out


def _read_tiff(p: Path) -> np.ndarray:
    import tifffile

    with tifffile.TiffFile(p) as tif:
        if not len(tif.pages):
            raise NormalkitError(f"cannot read '{p}': the TIFF holds no image; export it again")
        page = tif.pages[0]
        _check_tiff_page(p, page)
        image = page.asarray()
        separate = page.planarconfig == tifffile.PLANARCONFIG.SEPARATE
    if separate and image.ndim == 3:
        image = np.moveaxis(image, 0, -1)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    return np.ascontiguousarray(image)


#: Largest decoded/stored size ratio of TIFF compressions (deflate 1032, LZW 12-bit codes
#: of up to 4096 bytes, PackBits 128 bytes per 2); others get a generous default.
_TIFF_RATIO = {1: 1, 5: 4096, 7: 4096, 8: _DEFLATE_RATIO, 32946: _DEFLATE_RATIO, 32773: 64}


def _check_tiff_page(p: Path, page) -> None:
    """Strips/tiles within the file, and a declared size that their bytes can hold.

    tifffile allocates (and zero-fills) the declared image before decoding it, so a
    corrupt 500-byte TIFF that declares 30000×30000 pixels costs seconds and gigabytes.
    """
    size = p.stat().st_size
    offsets, counts = page.dataoffsets, page.databytecounts
    if len(offsets) != len(counts) or any(
            o + c > size for o, c in zip(offsets, counts, strict=True)):
        raise NormalkitError(f"cannot read '{p}': truncated TIFF (its image data runs past "
                             f"the end of the {size:,}-byte file); export it again")
    if page.dtype is None:
        raise NormalkitError(f"cannot read '{p}': unsupported TIFF sample format "
                             f"({page.bitspersample} bits, format {page.sampleformat}); save it "
                             "with 8-, 16- or 32-bit channels")
    decoded = int(np.prod(page.shape, dtype=np.float64)) * page.dtype.itemsize
    stored = sum(counts)
    if decoded > _TIFF_RATIO.get(int(page.compression), 1 << 15) * stored + (1 << 24):
        raise NormalkitError(
            f"cannot read '{p}': the TIFF declares a {'×'.join(map(str, page.shape))} "
            f"image, more than its {stored:,} bytes of image data can hold (truncated or "
            "corrupt); export it again")
