"""``report.html``: the reconstruction report as one self-contained page."""

from __future__ import annotations

import html

__all__ = ["html_report"]


def _f(x, digits: int = 3) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return html.escape(str(x))


def html_report(report: dict, name: str) -> str:
    """An HTML page with the timings, counts, per-view residuals and metrics."""
    r = report
    rows = "".join(
        f"<tr><td>{html.escape(v['name'])}</td><td>{_f(v['median_deg'], 2)}</td>"
        f"<td>{_f(v['median_deg_mesh_only'], 2)}</td><td>{_f(v['mask_iou'])}</td></tr>"
        for v in r["residuals"]["views"])
    times = "".join(f"<tr><td>{html.escape(k)}</td><td>{v:.2f}</td></tr>"
                    for k, v in r["seconds"].items())
    metrics = ""
    m = r.get("metrics")
    if m:
        fs = "".join(f"<tr><td>F-score @ {t}</td><td>{_f(v['f'])}</td></tr>"
                     for t, v in m["fscore"].items())
        metrics = (
            "<h2>Against the reference</h2><table>"
            f"<tr><td>Chamfer distance (mean of both directions)</td><td>{_f(m['chamfer'], 4)}"
            f"</td></tr><tr><td>Chamfer distance (sum)</td><td>{_f(m['chamfer_sum'], 4)}</td>"
            f"</tr>{fs}<tr><td>normal consistency</td><td>{_f(m['normal_consistency'])}</td>"
            "</tr></table><p>MeshFormer's protocol: the reference's bounding box scaled to a "
            "longest side of 1, 100,000 surface samples per mesh.</p>")
    res = r["residuals"]
    viewer = ""
    if r.get("viewer"):
        viewer = ("<p>To orbit it in the browser, with the input cameras and their images: "
                  f"<code>{html.escape(r['viewer'])}</code></p>")
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>normalkit reconstruct: {html.escape(name)}</title>
<style>body{{font:14px sans-serif;margin:2em;max-width:60em}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 8px;
text-align:right}}td:first-child,th:first-child{{text-align:left}}</style></head><body>
<h1>{html.escape(name)}: reconstruction report</h1>
<p>{r['faces']:,} faces, {r['texture']}² colour and normal textures, from
{r['views_used']} views; refined mesh {r['detail_faces']:,} faces; visual hull
{r['hull_faces']:,} faces (voxel {_f(r['hull_voxel'], 4)}).</p>
<p><a href="{html.escape(name)}.glb">{html.escape(name)}.glb</a> ·
<a href="{html.escape(name)}.obj">{html.escape(name)}.obj</a> ·
<a href="{html.escape(name)}_basecolor.png">colour texture</a> ·
<a href="{html.escape(name)}_normal.png">normal texture</a></p>
{viewer}
<h2>Residuals: how well the result explains each input view</h2>
<p>Angle between the input normals and a render of the result (with its normal texture,
and of the mesh alone), where both masks hold; mask intersection over union.
All views: median {_f(res['median_deg'], 2)}° (mesh alone
{_f(res['median_deg_mesh_only'], 2)}°), p95 {_f(res['p95_deg'], 2)}°, mask IoU
{_f(res['mask_iou'])}.</p>
<table><tr><th>view</th><th>median °</th><th>mesh alone °</th><th>mask IoU</th></tr>
{rows}</table>
{metrics}
<h2>Seconds per stage ({r['cores']} cores)</h2><table>{times}</table>
</body></html>
"""
