// normalkit view: the asset (GLB) lit and orbitable, with toggles, the high-poly and the
// views' cameras. Served by normalkit.viewing.server; scene.json says what to load.
//
// Conventions (normalkit's CONVENTIONS.md): cameras are normalkit Camera JSON (K in
// pixels, pixel centres at +0.5, cam_to_world in the OpenGL frame), the same frame as
// three.js's camera, so a view's projection is built from K exactly (projectionFromK).
// The normal map is read through the GLB's TANGENT attribute when it has one; without
// it three.js derives tangents from screen-space derivatives (and GLTFLoader flips
// normalScale.y), which is not the frame the map was baked in.
//
// window.normalkit is the page's scripting interface (the tests drive it): ready,
// state, set(name, value), lookThrough(k), orbit(), capture(), normalPass(camera), info().

import * as THREE from 'three';
import { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';
import { OrbitControls } from 'three/addons/controls/OrbitControls.js';
import { RoomEnvironment } from 'three/addons/environments/RoomEnvironment.js';

const $ = (id) => document.getElementById(id);
const canvas = $('view');
const statusLine = $('status');

const renderer = new THREE.WebGLRenderer({ canvas, antialias: true, preserveDrawingBuffer: true });
renderer.setPixelRatio(window.devicePixelRatio || 1);
const scene = new THREE.Scene();
scene.background = new THREE.Color(0x2b2d31);
const pmrem = new THREE.PMREMGenerator(renderer);
scene.environment = pmrem.fromScene(new RoomEnvironment(), 0.04).texture;
scene.environmentIntensity = 0.4;

const camera = new THREE.PerspectiveCamera(35, 1, 0.01, 100);
const controls = new OrbitControls(camera, canvas);
controls.enableDamping = false;
const sun = new THREE.DirectionalLight(0xffffff, 2.2);
scene.add(sun, sun.target);
const sunMarker = new THREE.Mesh(new THREE.SphereGeometry(1, 16, 8),
                                 new THREE.MeshBasicMaterial({ color: 0xffe08a }));
scene.add(sunMarker);

const state = {
  normalMap: true, wireframe: false, checker: false, normals: false, texture: false,
  high: 'off', views: true, environment: 0.4, up: 'y', overlay: 0.5,
  light: { azimuth: 0.8, elevation: 0.7 },   // radians, around the up axis
  looking: null,                              // index of the view looked through, or null
};

let doc = null;          // scene.json
let low = null;          // { root, meshes: [{mesh, std, nrm, wire}] }
let high = null;         // same shape, loaded on first use
let highLoading = null;
let bounds = { center: new THREE.Vector3(), radius: 1 };
let viewsGroup = null;   // frustums
let checkerTexture = null;
let dirty = true;

// ----------------------------------------------------------------------------------------
// Loading

const loader = new GLTFLoader();

async function fetchOk(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error((await res.text()) || `${url}: HTTP ${res.status}`);
  return res;
}

async function loadGlb(url) {
  const data = await (await fetchOk(url)).arrayBuffer();
  const gltf = await loader.parseAsync(data, '');
  const root = gltf.scene;
  root.updateMatrixWorld(true);
  const found = [];
  root.traverse((o) => { if (o.isMesh) found.push(o); });
  const meshes = [];
  for (const o of found) {
    const std = o.material;
    const nrm = new THREE.MeshNormalMaterial({
      normalMap: std.normalMap || null,
      normalScale: std.normalScale ? std.normalScale.clone() : new THREE.Vector2(1, 1),
      side: std.side,
    });
    const wire = new THREE.Mesh(o.geometry, new THREE.MeshBasicMaterial({
      color: 0x000000, wireframe: true, transparent: true, opacity: 0.45 }));
    wire.visible = false;
    o.add(wire);
    meshes.push({ mesh: o, std, nrm, wire, map: std.map, normalMap: std.normalMap });
  }
  return { root, meshes };
}

function measure(root) {
  const box = new THREE.Box3().setFromObject(root);
  const sphere = box.getBoundingSphere(new THREE.Sphere());
  return { center: sphere.center.clone(), radius: Math.max(sphere.radius, 1e-6), box };
}

function checker() {
  if (checkerTexture) return checkerTexture;
  const n = 512, cells = 16, c = document.createElement('canvas');
  c.width = c.height = n;
  const g = c.getContext('2d');
  const s = n / cells;
  for (let j = 0; j < cells; j++) {
    for (let i = 0; i < cells; i++) {
      const hue = Math.round(360 * i / cells), light = (i + j) % 2 ? 78 : 38;
      g.fillStyle = `hsl(${hue}, 70%, ${light}%)`;
      g.fillRect(i * s, j * s, s, s);
    }
  }
  g.fillStyle = '#fff';
  g.font = `bold ${s * 0.9}px sans-serif`;
  g.fillText('F', 0.15 * s, 0.85 * s);   // top-left of the image: an "F" shows mirroring
  checkerTexture = new THREE.CanvasTexture(c);
  checkerTexture.flipY = false;           // glTF UVs: v runs down the image
  checkerTexture.colorSpace = THREE.SRGBColorSpace;
  checkerTexture.wrapS = checkerTexture.wrapT = THREE.RepeatWrapping;
  return checkerTexture;
}

// ----------------------------------------------------------------------------------------
// State → scene

function applyMaterials(part, normalsPass = state.normals) {
  if (!part) return;
  for (const m of part.meshes) {
    const nm = state.normalMap ? m.normalMap : null;
    if (normalsPass) {
      if (m.nrm.normalMap !== nm) { m.nrm.normalMap = nm; m.nrm.needsUpdate = true; }
      m.mesh.material = m.nrm;
    } else {
      const map = state.checker ? checker() : m.map;
      if (m.std.normalMap !== nm || m.std.map !== map) {
        m.std.normalMap = nm;
        m.std.map = map;
        if (state.checker && !m.std.color.equals(new THREE.Color(1, 1, 1))) {
          m.savedColor = m.savedColor || m.std.color.clone();
          m.std.color.set(1, 1, 1);
        } else if (!state.checker && m.savedColor) {
          m.std.color.copy(m.savedColor);
        }
        m.std.needsUpdate = true;
      }
      m.mesh.material = m.std;
    }
    m.wire.visible = state.wireframe;
  }
}

let highOffset = new THREE.Vector3();  // where "side by side" puts the high-poly

function placeHigh() {
  if (!high) return;
  high.root.visible = state.high !== 'off';
  low.root.visible = state.high !== 'place';
  high.root.position.copy(state.high === 'side' ? highOffset : new THREE.Vector3());
}

/** Beside the asset along the screen's right axis, as it is when "side by side" is chosen. */
function chooseHighOffset() {
  const size = bounds.box.getSize(new THREE.Vector3());
  const right = new THREE.Vector3().setFromMatrixColumn(camera.matrixWorld, 0);
  highOffset = right.multiplyScalar(1.15 * Math.max(size.x, size.y, size.z));
}

function placeLight() {
  const up = state.up === 'z' ? new THREE.Vector3(0, 0, 1) : new THREE.Vector3(0, 1, 0);
  const { azimuth: a, elevation: e } = state.light;
  const d = state.up === 'z'
    ? new THREE.Vector3(Math.cos(e) * Math.cos(a), Math.cos(e) * Math.sin(a), Math.sin(e))
    : new THREE.Vector3(Math.cos(e) * Math.sin(a), Math.sin(e), Math.cos(e) * Math.cos(a));
  sun.position.copy(bounds.center).addScaledVector(d, 3 * bounds.radius);
  sun.target.position.copy(bounds.center);
  sunMarker.position.copy(bounds.center).addScaledVector(d, 1.6 * bounds.radius);
  sunMarker.scale.setScalar(0.04 * bounds.radius);
  camera.up.copy(up);
}

function apply() {
  applyMaterials(low);
  applyMaterials(high);
  placeHigh();
  placeLight();
  scene.environmentIntensity = state.environment;
  if (viewsGroup) viewsGroup.visible = state.views && state.looking === null;
  sunMarker.visible = state.looking === null;
  $('texture').hidden = !state.texture;
  if (state.texture) drawTexture();
  const ov = $('overlay');
  ov.hidden = state.looking === null || !ov.getAttribute('src');
  ov.style.opacity = state.overlay;
  dirty = true;
}

function drawTexture() {
  const m = low && low.meshes.find((x) => x.normalMap);
  const c = $('texture-canvas');
  if (!m) { c.width = c.height = 1; return; }
  const img = m.normalMap.image;
  c.width = img.width; c.height = img.height;
  c.getContext('2d').drawImage(img, 0, 0);
}

// ----------------------------------------------------------------------------------------
// Cameras

/** three.js projection matrix of a normalkit camera (K in pixels, OpenGL camera frame). */
function projectionFromK(K, W, H, near, far, orthographic) {
  const fx = K[0][0], s = K[0][1], cx = K[0][2], fy = K[1][1], cy = K[1][2];
  const m = new THREE.Matrix4();
  if (orthographic) {
    m.set(2 * fx / W, -2 * s / W, 0, 2 * cx / W - 1,
          0, 2 * fy / H, 0, 1 - 2 * cy / H,
          0, 0, -2 / (far - near), -(far + near) / (far - near),
          0, 0, 0, 1);
  } else {
    m.set(2 * fx / W, -2 * s / W, 1 - 2 * cx / W, 0,
          0, 2 * fy / H, 2 * cy / H - 1, 0,
          0, 0, -(far + near) / (far - near), -2 * far * near / (far - near),
          0, 0, -1, 0);
  }
  return m;
}

function poseMatrix(rows) {
  return new THREE.Matrix4().set(...rows[0], ...rows[1], ...rows[2], ...rows[3]);
}

function nearFar(position) {
  const d = position.distanceTo(bounds.center), r = bounds.radius * 1.05;
  let extent = r;
  if (high && high.root.visible) extent += high.root.position.length() + r;
  return [Math.max(d - extent, 1e-4 * r, d * 1e-4), d + extent];
}

/** A fixed THREE.Camera from normalkit camera JSON, for a W×H image. */
function exactCamera(cam, W = cam.width, H = cam.height, K = cam.K) {
  const c = new THREE.Camera();
  c.matrixAutoUpdate = false;
  c.matrix.copy(poseMatrix(cam.cam_to_world));
  c.matrixWorld.copy(c.matrix);
  c.matrixWorldInverse.copy(c.matrixWorld).invert();
  const [near, far] = nearFar(new THREE.Vector3().setFromMatrixPosition(c.matrixWorld));
  c.projectionMatrix.copy(projectionFromK(K, W, H, near, far, cam.orthographic));
  c.projectionMatrixInverse.copy(c.projectionMatrix).invert();
  return c;
}

let exact = null;    // the camera in use while looking through a view
let lookCam = null;  // its normalkit camera JSON

/** Look through view k (an index into scene.json's views), or through any normalkit
 *  camera (its JSON): the render takes that camera's exact projection, letterboxed into
 *  the canvas, with the view's input image over it. Esc or orbit() returns. */
function lookThrough(k) {
  const v = typeof k === 'number' ? doc.views[k] : { name: 'camera', camera: k, image: null };
  state.looking = typeof k === 'number' ? k : -1;
  lookCam = v.camera;
  controls.enabled = false;
  $('camera-box').hidden = false;
  $('camera-name').textContent = typeof k === 'number' ? `view ${k}: ${v.name}` : v.name;
  const ov = $('overlay');
  if (v.image) ov.src = v.image; else ov.removeAttribute('src');
  layoutExact();
  apply();
  render();
  return state;
}

function layoutExact() {
  if (state.looking === null) return;
  const cam = lookCam;
  const cw = canvas.clientWidth, ch = canvas.clientHeight;
  const s = Math.min(cw / cam.width, ch / cam.height);
  const ox = (cw - s * cam.width) / 2, oy = (ch - s * cam.height) / 2;
  const K = [[s * cam.K[0][0], s * cam.K[0][1], s * cam.K[0][2] + ox],
             [0, s * cam.K[1][1], s * cam.K[1][2] + oy], [0, 0, 1]];
  exact = exactCamera(cam, cw, ch, K);
  const ov = $('overlay');
  Object.assign(ov.style, { left: `${ox}px`, top: `${oy}px`,
                            width: `${s * cam.width}px`, height: `${s * cam.height}px` });
}

/** Where view k's image (the middle of its frustum's far end) is on the canvas, in CSS
 *  pixels from the canvas's top-left, or null when it is not in front of the camera. */
function viewOnScreen(k) {
  const screen = viewsGroup.children[k].children[1];
  screen.geometry.computeBoundingBox();
  const p = screen.geometry.boundingBox.getCenter(new THREE.Vector3())
    .applyMatrix4(screen.matrixWorld).project(exact || camera);
  if (Math.abs(p.z) > 1) return null;
  return { x: (p.x + 1) / 2 * canvas.clientWidth, y: (1 - p.y) / 2 * canvas.clientHeight };
}

function orbit() {
  if (state.looking !== null) {
    // Continue orbiting from where the view's camera stood.
    camera.position.setFromMatrixPosition(exact.matrixWorld);
    state.looking = null;
    exact = lookCam = null;
  }
  controls.enabled = true;
  $('camera-box').hidden = true;
  apply();
}

/** Orbit from the default direction (for the up axis), fitted to what is shown. */
function frame() {
  const up = state.up === 'z' ? new THREE.Vector3(0, 0, 1) : new THREE.Vector3(0, 1, 0);
  camera.up.copy(up);
  const dir = state.up === 'z' ? new THREE.Vector3(0.55, -0.9, 0.45)
                               : new THREE.Vector3(0.55, 0.45, 0.9);
  fit(dir.normalize());
}

/** Move the orbit camera along ``dir`` (default: where it looks from now) until the asset,
 *  and the high-poly when it stands beside it, fill the view. */
function fit(dir) {
  const box = new THREE.Box3().setFromObject(low.root);
  if (high && state.high === 'side') box.union(new THREE.Box3().setFromObject(high.root));
  const sphere = box.getBoundingSphere(new THREE.Sphere());
  dir = dir || camera.position.clone().sub(controls.target).normalize();
  const half = THREE.MathUtils.degToRad(camera.fov) / 2;
  const across = Math.min(Math.sin(half), Math.sin(Math.atan(Math.tan(half) * camera.aspect)));
  controls.target.copy(sphere.center);
  camera.position.copy(sphere.center).addScaledVector(dir, 1.05 * sphere.radius / across);
  controls.update();
}

// ----------------------------------------------------------------------------------------
// Views: frustums carrying their images

function buildViews() {
  viewsGroup = new THREE.Group();
  const textureLoader = new THREE.TextureLoader();
  doc.views.forEach((v, k) => {
    const cam = v.camera, M = poseMatrix(cam.cam_to_world);
    const eye = new THREE.Vector3().setFromMatrixPosition(M);
    const depth = 0.25 * Math.max(eye.distanceTo(bounds.center), bounds.radius);
    const K = cam.K;
    const corner = (u, w, z) => {  // pixel (u, w) at distance z along the view axis
      const yd = (w - K[1][2]) / K[1][1];                 // image y, down
      const x = (u - K[0][2] - K[0][1] * yd) / K[0][0];
      return cam.orthographic ? new THREE.Vector3(x, -yd, -z)
                              : new THREE.Vector3(x * z, -yd * z, -z);
    };
    const far = [[0, 0], [cam.width, 0], [cam.width, cam.height], [0, cam.height]]
      .map(([u, w]) => corner(u, w, depth));
    const near = cam.orthographic
      ? [[0, 0], [cam.width, 0], [cam.width, cam.height], [0, cam.height]]
        .map(([u, w]) => corner(u, w, 0))
      : [0, 1, 2, 3].map(() => new THREE.Vector3());
    const pts = [];
    for (let i = 0; i < 4; i++) pts.push(near[i], far[i], far[i], far[(i + 1) % 4]);
    const lines = new THREE.LineSegments(new THREE.BufferGeometry().setFromPoints(pts),
                                         new THREE.LineBasicMaterial({ color: 0x8ab4f8 }));
    const plane = new THREE.BufferGeometry().setFromPoints([far[0], far[3], far[2], far[1]]);
    plane.setIndex([0, 1, 2, 0, 2, 3]);
    plane.setAttribute('uv', new THREE.Float32BufferAttribute([0, 1, 0, 0, 1, 0, 1, 1], 2));
    const mat = new THREE.MeshBasicMaterial({ color: 0xffffff, side: THREE.DoubleSide,
                                              transparent: true, opacity: 0.85 });
    if (v.image) {
      mat.map = textureLoader.load(v.image, () => { dirty = true; });
      mat.map.colorSpace = THREE.SRGBColorSpace;
    }
    const screen = new THREE.Mesh(plane, mat);
    screen.userData.view = k;
    const g = new THREE.Group();
    g.matrixAutoUpdate = false;
    g.matrix.copy(M);
    g.add(lines, screen);
    viewsGroup.add(g);
  });
  scene.add(viewsGroup);
  viewsGroup.updateMatrixWorld(true);
}

// ----------------------------------------------------------------------------------------
// Interaction

const raycaster = new THREE.Raycaster();
let lightDrag = null;
let press = null;

canvas.addEventListener('pointerdown', (e) => {
  press = { x: e.clientX, y: e.clientY };
  if (e.shiftKey) {
    lightDrag = { x: e.clientX, y: e.clientY, ...state.light };
    controls.enabled = false;
    canvas.setPointerCapture(e.pointerId);
  }
});
canvas.addEventListener('pointermove', (e) => {
  if (!lightDrag) return;
  const k = Math.PI / canvas.clientHeight;
  state.light.azimuth = lightDrag.azimuth - (e.clientX - lightDrag.x) * k;
  state.light.elevation = THREE.MathUtils.clamp(lightDrag.elevation + (e.clientY - lightDrag.y) * k,
                                                -1.5, 1.5);
  apply();
});
canvas.addEventListener('pointerup', (e) => {
  if (lightDrag) {
    lightDrag = null;
    controls.enabled = state.looking === null;
  } else if (press && Math.hypot(e.clientX - press.x, e.clientY - press.y) < 4) {
    pick(e);
  }
  press = null;
});

function pick(e) {
  if (!viewsGroup || !viewsGroup.visible) return;
  const r = canvas.getBoundingClientRect();
  const p = new THREE.Vector2((e.clientX - r.left) / r.width * 2 - 1,
                              -(e.clientY - r.top) / r.height * 2 + 1);
  raycaster.setFromCamera(p, camera);
  const hit = raycaster.intersectObjects(viewsGroup.children, true)
    .find((h) => h.object.userData.view !== undefined);
  if (hit) lookThrough(hit.object.userData.view);
}

window.addEventListener('keydown', (e) => { if (e.key === 'Escape') orbit(); });
controls.addEventListener('change', () => { dirty = true; });
$('orbit-back').addEventListener('click', () => orbit());

const toggles = ['normalMap', 'wireframe', 'checker', 'normals', 'texture', 'views'];
for (const name of toggles) {
  $(`t-${name}`).addEventListener('change', (e) => set(name, e.target.checked));
}
$('t-high').addEventListener('change', (e) => set('high', e.target.value));
$('t-up').addEventListener('change', (e) => set('up', e.target.value));
$('t-environment').addEventListener('input', (e) => set('environment', Number(e.target.value)));
$('t-overlay').addEventListener('input', (e) => set('overlay', Number(e.target.value)));

/** Change one setting (as its control would) and redraw; resolves once it shows. */
async function set(name, value) {
  if (!(name in state) || name === 'looking') throw new Error(`unknown setting ${name}`);
  state[name] = value;
  const el = $(`t-${name}`);
  if (el) {
    if (el.type === 'checkbox') el.checked = Boolean(value); else el.value = String(value);
  }
  if (name === 'high' && value !== 'off') await ensureHigh();
  if (name === 'high' && value === 'side') chooseHighOffset();
  apply();
  if (name === 'up') frame();
  if (name === 'high' && state.looking === null) fit();
  render();
  return state;
}

async function ensureHigh() {
  if (high || !doc.high) return;
  if (!highLoading) {
    statusLine.textContent = `loading the high-poly ${doc.high.name}…`;
    highLoading = loadGlb(doc.high.url).then((part) => {
      high = part;
      scene.add(high.root);
      statusLine.textContent = 'ready';
    });
  }
  await highLoading;
}

// ----------------------------------------------------------------------------------------
// Rendering

function resize() {
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * renderer.getPixelRatio()) ||
      canvas.height !== Math.round(h * renderer.getPixelRatio())) {
    renderer.setSize(w, h, false);
    camera.aspect = w / Math.max(h, 1);
    camera.updateProjectionMatrix();
    layoutExact();
    dirty = true;
  }
}

function render() {
  resize();
  if (state.looking === null) {
    const [near, far] = nearFar(camera.position);
    camera.near = near; camera.far = far;
    camera.updateProjectionMatrix();
  }
  renderer.render(scene, exact || camera);
  dirty = false;
}

function loop() {
  if (dirty) render();
  requestAnimationFrame(loop);
}

/** The canvas as a PNG data URL, freshly rendered. */
function capture() {
  render();
  return canvas.toDataURL('image/png');
}

function toBase64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

/**
 * The view-space normal pass (MeshNormalMaterial with the normal map when it is on) of the
 * asset from a normalkit camera, W×H, no anti-aliasing, 8-bit: rgb = n/2 + 1/2 with n in
 * the OpenGL camera frame; alpha 255 where the asset covers the pixel, 0 elsewhere.
 * Returns {width, height, data: base64 RGBA, rows top to bottom}.
 */
function normalPass(cam) {
  const W = cam.width, H = cam.height;
  const target = new THREE.WebGLRenderTarget(W, H, { type: THREE.UnsignedByteType,
                                                     format: THREE.RGBAFormat });
  const shown = [];
  for (const o of [sunMarker, viewsGroup, high && high.root]) {
    if (o && o.visible) { shown.push(o); o.visible = false; }
  }
  const lowVisible = low.root.visible;
  low.root.visible = true;
  applyMaterials(low, true);
  for (const m of low.meshes) m.wire.visible = false;
  const background = scene.background;
  scene.background = null;
  renderer.setRenderTarget(target);
  renderer.setClearColor(0x000000, 0);
  renderer.clear();
  renderer.render(scene, exactCamera(cam));
  const pixels = new Uint8Array(W * H * 4);
  renderer.readRenderTargetPixels(target, 0, 0, W, H, pixels);
  renderer.setRenderTarget(null);
  target.dispose();
  scene.background = background;
  low.root.visible = lowVisible;
  for (const o of shown) o.visible = true;
  apply();
  const flipped = new Uint8Array(W * H * 4);   // GL rows run bottom-up
  for (let j = 0; j < H; j++) {
    flipped.set(pixels.subarray((H - 1 - j) * W * 4, (H - j) * W * 4), j * W * 4);
  }
  return { width: W, height: H, data: toBase64(flipped) };
}

function info() {
  const gl = renderer.getContext();
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  const meshes = low ? low.meshes : [];
  return {
    renderer: ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER),
    three: THREE.REVISION,
    triangles: meshes.reduce((n, m) => n + (m.mesh.geometry.index
      ? m.mesh.geometry.index.count : m.mesh.geometry.attributes.position.count) / 3, 0),
    tangents: meshes.length > 0 && meshes.every((m) => !!m.mesh.geometry.attributes.tangent),
    normalMap: meshes.some((m) => !!m.normalMap),
    normalScale: meshes.map((m) => [m.std.normalScale.x, m.std.normalScale.y]),
    views: doc ? doc.views.length : 0,
    canvas: [canvas.clientWidth, canvas.clientHeight],
  };
}

// ----------------------------------------------------------------------------------------
// Start

async function start() {
  doc = await (await fetchOk('scene.json')).json();
  document.title = `${doc.title} · normalkit view`;
  $('title').textContent = doc.title;
  low = await loadGlb(doc.asset.url);
  scene.add(low.root);
  bounds = measure(low.root);
  $('high-row').hidden = !doc.high;
  if (doc.views.length) { buildViews(); $('views-row').hidden = false; }
  if (doc.report) $('links').innerHTML = `<a href="${doc.report}" target="_blank">report</a>`;
  resize();
  apply();
  frame();
  render();
  const i = info();
  $('info').textContent = `${i.triangles.toLocaleString()} triangles · ` +
    (i.normalMap ? (i.tangents ? 'normal map, MikkTSpace tangents from the file'
                               : 'normal map WITHOUT tangents: three.js derives its own, ' +
                                 'which may not match the bake') : 'no normal map') +
    (i.views ? ` · ${i.views} views (click one to look through it)` : '');
  statusLine.textContent = 'ready';
  document.body.dataset.ready = '1';
  requestAnimationFrame(loop);
}

const ready = start().catch((err) => {
  statusLine.textContent = String(err.message || err);
  statusLine.classList.add('error');
  document.body.dataset.error = String(err.message || err);
  throw err;
});

window.normalkit = { ready, state, set, lookThrough, orbit, viewOnScreen, capture, normalPass,
                     info };
