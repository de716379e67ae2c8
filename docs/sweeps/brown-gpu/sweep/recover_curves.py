#!/usr/bin/env python3
"""Recovers the loss curves of sweep brown-gpu-a54a52 from its first loss_curves.svg (git show 28f8772:docs/sweeps/brown-gpu/loss_curves.svg).

The sweep's metrics/*.json were not kept off the GPU machine, but the plot held every curve as an SVG path in pixel
coordinates. x = a + b*log10(tokens) is pinned by the first and last point of a 489-step curve (steps 1 and 489 at
32 x 256 tokens a step); y = c + e*loss by a least-squares fit to the 16 runs' final train losses (status.json here,
the values `orch sweep status --json` printed). Checks: every final loss comes back within 1e-5, every point lands within 0.02 of an integer step, and
every curve ends at its run's last step.
Usage: recover_curves.py OLD_LOSS_CURVES.svg status.json OUT_CURVES.json   (then the folder was rebuilt from
bench/gpu-sweep.yaml with SweepPlanner/SweepFolder: see ../README.md)."""
import json, math, re, sys

svg, status_path, out_path = sys.argv[1:4]
curves = []
for attrs in re.findall(r'<path([^>]*)>', open(svg).read()):
    stroke = re.search(r'stroke="([^"]*)"', attrs).group(1)
    pts = [tuple(map(float, m)) for m in re.findall(r'[ML]([-\d.e]+) ([-\d.e]+)', re.search(r'd="([^"]*)"', attrs).group(1))]
    if stroke.startswith('#') and stroke != '#010101' and len(pts) > 5 and 'stroke-opacity' not in attrs:
        curves.append(pts)  # the 16 curves, drawn in run order (N, then D); grid lines and legend samples left out
runs = sorted(json.load(open(status_path))['runs'], key=lambda r: (r['plan']['non_embedding_params'], r['trained_tokens']))
assert len(curves) == len(runs) == 16
per_step = 32 * 256
x1, x2 = curves[0][0][0], curves[0][-1][0]
b = (x2 - x1) / (math.log10(489 * per_step) - math.log10(per_step)); a = x1 - b * math.log10(per_step)
ys, ls = [c[-1][1] for c in curves], [r['loss'] for r in runs]
my, ml = sum(ys) / len(ys), sum(ls) / len(ls)
e = sum((l - ml) * (y - my) for l, y in zip(ls, ys)) / sum((l - ml) ** 2 for l in ls); c = my - e * ml
assert max(abs((y - c) / e - l) for y, l in zip(ys, ls)) < 1e-5
out = {}
for run, pts in zip(runs, curves):
    steps = [10 ** ((x - a) / b) / per_step for x, _ in pts]
    assert max(abs(s - round(s)) for s in steps) < 0.02 and round(steps[-1]) == run['total_steps'], run['plan']['key']
    out[run['plan']['key']] = [[round(s), (y - c) / e] for s, (_, y) in zip(steps, pts)]
json.dump(out, open(out_path, 'w'))
