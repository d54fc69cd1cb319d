"""Viewing: ``normalkit view``, a three.js page served on 127.0.0.1 for an asset.

The page orbits the asset lit by a draggable sun and an environment light, with toggles
for the normal map, wireframe, a UV checker, view-space normals and the map itself; the
high-poly beside it or in its place; and the views of a reconstruction as camera
frustums carrying their images, each one a click away from looking through it.

- ``scene``: :func:`resolve_scene` checks the inputs (paths, GLB headers, the views'
  JSON) and returns a :class:`Scene`; meshes and images are converted lazily, when the
  page asks for them.
- ``server``: :class:`ViewerServer`, the local HTTP server (page, three.js, scene files).
- ``web/``: the page (``index.html``, ``viewer.js``, ``viewer.css``, ``webgl-check.html``)
  and ``vendor/three``: three.js (npm ``three``, MIT) with GLTFLoader, OrbitControls and
  RoomEnvironment, copied in at build time by ``tools/vendor_web.py``. Nothing is loaded
  from the network, and a wheel install needs no Node.js.

The page's ``window.normalkit`` object (``set``, ``lookThrough``, ``capture``,
``normalPass`` …) is its scripting interface; the browser tests drive it.

Contract: the GLB is served byte for byte as written, TANGENT attribute included: without
it three.js derives tangents from screen-space derivatives, which do not match the
MikkTSpace frame the map was baked in.

May import: ``normalkit.core``, ``normalkit.images``, ``normalkit.maps``,
``normalkit.mesh``, ``normalkit.assets`` (GLB export), ``normalkit.rendering`` (cameras)
and ``normalkit.reconstruction`` (reading views).
"""
