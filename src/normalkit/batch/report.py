"""``report.html`` of a batch: a row per asset, with its thumbnail and figures."""

from __future__ import annotations

import html

__all__ = ["html_report"]

_STATUS_COLOURS = {"done": "#2e7d32", "skipped": "#546e7a", "failed": "#c62828",
                   "crashed": "#c62828", "timeout": "#ef6c00", "interrupted": "#ef6c00",
                   "not run": "#757575"}


def _num(v, digits: int = 3) -> str:
    if v is None:
        return ""
    if isinstance(v, int):
        return f"{v:,}"
    return f"{v:.{digits}g}" if isinstance(v, float) else html.escape(str(v))


def html_report(doc: dict) -> str:
    """The page for ``batch.json``'s content ``doc`` (thumbnails linked relatively)."""
    e = html.escape
    rows = []
    for j in doc["jobs"]:
        s = j.get("summary") or {}
        m = s.get("metrics") or {}
        metrics = ", ".join(f"{k} {_num(v)}" for k, v in m.items() if v is not None)
        if s.get("residual_median_deg") is not None:
            metrics = ", ".join(x for x in (metrics, f"residual {_num(s['residual_median_deg'])}°")
                                if x)
        thumb = (f'<img src="{e(j["thumbnail"])}" width="96" height="96" alt="{e(j["id"])}">'
                 if j.get("thumbnail") else "")
        link = (f'<a href="{e(j["id"])}/">{e(j["id"])}</a>'
                if j["status"] in ("done", "skipped") else e(j["id"]))
        colour = _STATUS_COLOURS.get(j["status"], "#000")
        rows.append(
            f"<tr><td>{thumb}</td><td>{link}</td><td>{e(j['command'])}</td>"
            f'<td style="color:{colour}">{e(j["status"])}</td><td>{j["seconds"]:.2f}</td>'
            f"<td>{j['attempts']}</td><td>{_num(s.get('triangles'))}</td>"
            f"<td>{_num(s.get('misses'))}</td><td>{e(metrics)}</td>"
            f"<td class=\"err\">{e(j.get('error') or j.get('stdout') or '')}</td></tr>")
    counts = ", ".join(f"{n} {e(k)}" for k, n in doc["counts"].items() if n)
    note = " The batch was interrupted." if doc.get("interrupted") else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>normalkit batch</title>
<style>body{{font:14px sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:middle}}
td.err{{max-width:40em;font-size:12px;color:#555}}img{{display:block;background:#2b2d31}}
</style></head><body>
<h1>normalkit batch</h1>
<p>{len(doc["jobs"])} jobs on {e(doc["engine"])} ({doc["slots"]} at a time,
{doc["threads_per_job"]} threads each, {doc["cores"]} cores here) in
{doc["seconds"]:.1f} s: {counts}.{note} Each finished job's files are in its folder;
<code>batch.json</code> has the same rows.</p>
<table>
<tr><th></th><th>job</th><th>command</th><th>status</th><th>seconds</th><th>tries</th>
<th>triangles</th><th>misses</th><th>metrics</th><th>error, or the command's summary</th></tr>
{chr(10).join(rows)}
</table>
<p>normalkit {e(doc["normalkit"])}</p>
</body></html>
"""
