#!/usr/bin/python3
"""The authors' FSSD-Ensem pipeline in PyTorch, as the speed benchmark's reference.

Re-implements what the paper's code does for a LeNet detector: every tap gets its own input step
(forward up to that tap with gradients, backward to the input, forward up to the tap again on the
stepped input — the authors' intermediate_forward stops at the tap, so the conv1 tap costs conv1
alone), the step is
the standardized gradient (g - mean g) / std g over the batch (the authors' code) or its sign (the
paper's formula), FSSD is the L2 distance of the flattened tap to its center F*, and the taps are
combined by the detector's logistic regression: intercept + sum_k w_k (s_k - mean_k) / std_k.

Weights, center, eps, step and regression come from a detector file written by the module
(Export-FssdDetector / the shipped module/models/*.fssd.yaml), so both sides score with the same
numbers. Images are read from PNG files into memory first (not timed: the authors' pipeline reads
a dataset that is in memory), then scored in batches in file order.

  /usr/bin/python3 bench/authors_pipeline.py DETECTOR.yaml FILES.txt [--batch 128] [--threads 2]
      [--runs 1] [--eps E] [--step Sign|Standardized] [--forward Tap|Full] [--scores OUT.csv]

--forward Full computes every tap's whole forward pass for every tap (all four taps each time, as an
earlier version of this reference did): more work than the authors' code, kept only to compare with.

Prints one JSON object per run: {"images": n, "seconds": s, "per_second": r}; with --scores the
per-tap FSSD and the decision of every file go to OUT.csv (path,conv1,...,decision).
Run it with OpenBLAS (Debian's libopenblas0-pthread), as docs/speed.md does.
"""
import argparse
import base64
import json
import os
import sys
import time

import numpy as np
import torch
import yaml
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))
from lenet import frozen_lenet  # noqa: E402


def load_detector(path):
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    if len(doc["models"]) != 1:
        raise SystemExit(f"{path}: the reference reads single-model detectors only")
    entry = doc["models"][0]
    manifest = entry["manifest"]
    if manifest["architecture"] != "LeNet":
        raise SystemExit(f"{path}: the reference implements LeNet only, not {manifest['architecture']}")
    net = frozen_lenet(os.path.join(os.path.dirname(os.path.abspath(path)), manifest["weights"]))
    center = {t["name"]: torch.from_numpy(np.frombuffer(base64.b64decode(t["float32"]), dtype=np.float32).copy())
              for t in entry["center"]["taps"]}
    if any(l.get("method") for l in doc["layers"]):
        raise SystemExit(f"{path}: the detector has Knn layers; the reference implements FSSD layers only "
                         "(use fashion-mnist-lenet.paper.fssd.yaml or fashion-mnist-lenet.outlier-free.fssd.yaml)")
    layers = [(l["name"], l["weight"], l["mean"], l["std"]) for l in doc["layers"]]
    spec = manifest["input"]
    return {
        "net": net, "center": center, "layers": layers, "intercept": doc["intercept"], "eps": doc["epsilon"],
        "step": doc.get("perturbation", "Sign"), "mean": spec["mean"][0], "std": spec["std"][0],
        "low": spec["valueRange"][0], "high": spec["valueRange"][1],
    }


def read_images(files):
    images = np.empty((len(files), 28, 28), dtype=np.uint8)
    for i, f in enumerate(files):
        with Image.open(f) as im:
            im = im.convert("L")
            if im.size != (28, 28):
                raise SystemExit(f"{f}: {im.size[0]}x{im.size[1]}, the benchmark's files are 28x28")
            images[i] = np.asarray(im)
    return images


def score(det, images, batch, eps, step, forward="Tap"):
    """Per-tap FSSD (n x taps) and the decision, each tap with its own step, as the authors' code does."""
    net, center, layers = det["net"], det["center"], det["layers"]
    if forward == "Tap":
        tap = net.up_to
    else:
        def tap(x, name):
            return net.taps(x)[name]
    std = det["std"]
    per_tap = np.empty((len(images), len(layers)), dtype=np.float64)
    for s in range(0, len(images), batch):
        raw = torch.from_numpy(images[s:s + batch]).float()[:, None] / 255.0
        x = (det["low"] + raw * (det["high"] - det["low"]) - det["mean"]) / std
        for j, (name, _, _, _) in enumerate(layers):
            if eps == 0:
                with torch.no_grad():
                    per_tap[s:s + len(x), j] = (tap(x, name) - center[name]).norm(dim=1).double().numpy()
                continue
            xx = x.clone().requires_grad_(True)
            g, = torch.autograd.grad((tap(xx, name) - center[name]).norm(dim=1).sum(), xx)
            with torch.no_grad():
                if step == "Sign":
                    stepped = x + eps * g.sign() / std
                else:
                    stepped = x - eps * (g - g.mean()) / g.std() / std
                per_tap[s:s + len(x), j] = (tap(stepped, name) - center[name]).norm(dim=1).double().numpy()
    z = np.array([(per_tap[:, j] - m) / sd for j, (_, _, m, sd) in enumerate(layers)]).T
    decision = det["intercept"] + z @ np.array([w for _, w, _, _ in layers])
    return per_tap, decision


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("detector")
    ap.add_argument("files")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--eps", type=float, default=None, help="the detector's eps when not given")
    ap.add_argument("--step", choices=["Sign", "Standardized"], default=None, help="the detector's step when not given")
    ap.add_argument("--forward", choices=["Tap", "Full"], default="Tap",
                    help="Tap: forward up to each tap only, as the authors' code (default); Full: every tap's whole forward pass")
    ap.add_argument("--scores", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    det = load_detector(args.detector)
    eps = det["eps"] if args.eps is None else args.eps
    step = det["step"] if args.step is None else args.step
    files = [line.strip() for line in open(args.files, encoding="utf-8") if line.strip()]
    images = read_images(files)
    score(det, images[:args.batch], args.batch, eps, step, args.forward)  # warm-up
    for _ in range(args.runs):
        t0 = time.perf_counter()
        per_tap, decision = score(det, images, args.batch, eps, step, args.forward)
        seconds = time.perf_counter() - t0
        print(json.dumps({"images": len(images), "seconds": seconds, "per_second": len(images) / seconds,
                          "eps": eps, "step": step, "forward": args.forward, "threads": torch.get_num_threads(), "batch": args.batch}), flush=True)
    if args.scores:
        names = [name for name, _, _, _ in det["layers"]]
        with open(args.scores, "w", encoding="utf-8") as f:
            f.write("path," + ",".join(names) + ",decision\n")
            for i, path in enumerate(files):
                f.write(path + "," + ",".join(repr(float(v)) for v in per_tap[i]) + "," + repr(float(decision[i])) + "\n")


if __name__ == "__main__":
    sys.exit(main())
