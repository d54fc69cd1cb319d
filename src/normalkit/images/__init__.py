"""Image files: PNG (8/16-bit, our own multi-threaded writer), OpenEXR, TIFF, and reading
JPEG/BMP/WebP. Arrays in, arrays out, row 0 at the top, channels R, G, B(, A).

- ``io``: :func:`read_image`, :func:`write_image`, :func:`check_output_path`,
  :func:`bits_to_extension`.
- ``png``: :func:`write_png`.

May import: ``normalkit.core``.
"""
