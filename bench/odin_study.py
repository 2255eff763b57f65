#!/usr/bin/python3
"""ODIN on the module's default LeNet, FashionMNIST against MNIST, over ODIN's own grid and the module's.

The step is ODIN's: x~ = x - eps * sign(-grad_x log S_y(x; T)) / std, eps in pixel units (0..1), the
normalisation's std dividing the sign as in ODIN's code; the score is max softmax(f(x~) / T). AUROC for
every (T, eps) of ODIN's grid (T in 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000; eps in 0..0.004 by 0.0002)
and, with --module-grid, of the module's (T in 1, 10, 100, 1000; eps in 0..0.2 by 0.01), on the first
--count images of two IDX image files (the module's provisioned copies) or of two folders of PNG files in
path order.

    /usr/bin/python3 bench/odin_study.py WEIGHTS.safetensors IN_IDX_OR_FOLDER OUT_IDX_OR_FOLDER [--count 1000] [--module-grid]
        [--temperatures 1,1000] [--epsilons 0,0.002,0.004]
"""
import argparse, glob, os, sys
import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))
from lenet import frozen_lenet, read_idx  # noqa: E402

MEAN, STD = 0.286, 0.353  # the default model's input normalisation (fashion-mnist-lenet.yaml)


def images(source, count):
    """The first `count` images of an IDX image file (idx3-ubyte) or of a folder of PNG files in path order."""
    if os.path.isfile(source):
        x = read_idx(source)[:count].astype(np.float32) / 255.0
    else:
        files = sorted(glob.glob(os.path.join(source, "**", "*.png"), recursive=True))[:count]
        x = np.stack([np.asarray(Image.open(f).convert("L"), dtype=np.float32) / 255.0 for f in files])
    return (torch.from_numpy(x).unsqueeze(1) - MEAN) / STD


def auroc(inside, outside):
    s = np.concatenate([inside, outside])
    r = s.argsort().argsort() + 1
    return (r[: len(inside)].sum() - len(inside) * (len(inside) + 1) / 2) / (len(inside) * len(outside))


def odin(net, x, temperature, epsilons):
    x = x.clone().requires_grad_(True)
    top = torch.log_softmax(net(x) / temperature, 1).max(1).values.sum()
    grad, = torch.autograd.grad(top, x)
    direction = grad.sign() / STD
    out = []
    with torch.no_grad():
        for e in epsilons:
            out.append(torch.softmax(net(x + e * direction) / temperature, 1).max(1).values.numpy())
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("weights"); p.add_argument("inside"); p.add_argument("outside")
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--module-grid", action="store_true", help="also the module's grid (T 1, 10, 100, 1000; eps 0..0.2 by 0.01)")
    p.add_argument("--temperatures", help="comma-separated temperatures instead of ODIN's ten")
    p.add_argument("--epsilons", help="comma-separated steps instead of ODIN's 0..0.004 by 0.0002")
    a = p.parse_args()
    torch.set_num_threads(2)
    net = frozen_lenet(a.weights)
    xin, xout = images(a.inside, a.count), images(a.outside, a.count)
    temperatures = [float(t) for t in a.temperatures.split(",")] if a.temperatures else [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
    epsilons = [float(e) for e in a.epsilons.split(",")] if a.epsilons else [round(i * 0.0002, 4) for i in range(21)]
    grids = {"ODIN's grid": (temperatures, epsilons)}
    if a.module_grid:
        grids["the module's grid"] = ([1, 10, 100, 1000], [round(i * 0.01, 2) for i in range(21)])
    for name, (temperatures, epsilons) in grids.items():
        best = (0, None, None)
        print(f"{name}: AUROC by T (rows) and eps (columns)")
        print("T \\ eps " + " ".join(f"{e:g}" for e in epsilons))
        for t in temperatures:
            si, so = odin(net, xin, t, epsilons), odin(net, xout, t, epsilons)
            row = [auroc(i, o) for i, o in zip(si, so)]
            print(f"{t:<7} " + " ".join(f"{v:.3f}" for v in row))
            k = int(np.argmax(row))
            if row[k] > best[0]:
                best = (row[k], t, epsilons[k])
        print(f"best on {name}: AUROC {best[0]:.4f} at T {best[1]}, eps {best[2]}\n")


if __name__ == "__main__":
    main()
