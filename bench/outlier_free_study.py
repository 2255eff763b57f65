#!/usr/bin/python3
"""Design study for the outlier-free calibration: which pseudo-outliers stand in for OoD data?

Checked on the KMNIST-like Kana set, never on MNIST, so that MNIST stays a test set for the detector.
A PyTorch re-implementation of the default LeNet's per-tap FSSD (uniform-noise F*, the authors'
standardized step) gives the features; scikit-learn's LogisticRegressionCV (standardized features,
C by 5-fold CV) is fitted on 500 FashionMNIST validation images (test 0-999, seeded half) against
pseudo-outliers made from the same 500, and scored on FashionMNIST test 1000-2999 against Kana test
0-1999.

Run with Debian's python3-torch and python3-sklearn:
  /usr/bin/python3 bench/outlier_free_study.py [data folder]   (default: $FSSD_DATA or ~/.cache/fssd/data;
  provision first with Install-FssdDataset FashionMNIST, Kana)
"""
import os
import sys
import warnings

import numpy as np
import torch
from sklearn.linear_model import LogisticRegressionCV
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))
from lenet import frozen_lenet, read_idx  # noqa: E402

warnings.filterwarnings("ignore")
torch.set_num_threads(os.cpu_count() or 1)
HERE = os.path.dirname(os.path.abspath(__file__))
DATA = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("FSSD_DATA", os.path.expanduser("~/.cache/fssd/data"))
MEAN, STD = 0.286, 0.353
EPS = [0.0, 0.01, -0.01, 0.02, -0.02, 0.05, -0.05, 0.1, -0.1]
SMALL = [0.0, 0.01, -0.01, 0.02, -0.02]


net = frozen_lenet(os.path.join(HERE, "..", "module", "models", "fashion-mnist-lenet.safetensors"))


def taps(x):
    """conv1, conv2, fc1 and the logits, in that order."""
    return list(net.taps(x).values())


noise = (torch.rand(100, 1, 28, 28, generator=torch.Generator().manual_seed(0)) - MEAN) / STD
with torch.no_grad():
    CENTER = [t.double().mean(0).float() for t in taps(noise)]


def features(images):
    """{eps: N x 4 per-tap FSSD}, each tap with its own standardized-gradient step (the authors' code)."""
    out = {e: [] for e in EPS}
    for s in range(0, len(images), 256):
        x = (torch.from_numpy(images[s:s + 256]).float()[:, None] / 255 - MEAN) / STD
        for e in EPS:
            cols = []
            for k in range(4):
                if e == 0:
                    with torch.no_grad():
                        cols.append((taps(x)[k] - CENTER[k]).norm(dim=1))
                    continue
                xx = x.clone().requires_grad_(True)
                g, = torch.autograd.grad((taps(xx)[k] - CENTER[k]).norm(dim=1).sum(), xx)
                with torch.no_grad():
                    cols.append((taps(x - e * (g - g.mean()) / g.std() / STD)[k] - CENTER[k]).norm(dim=1))
            out[e].append(torch.stack(cols, 1))
    return {e: torch.cat(v).numpy().astype(np.float64) for e, v in out.items()}


rng = np.random.default_rng(1)


def patch_shuffle(images, grid):
    c = 28 // grid
    y = np.empty_like(images)
    for i, x in enumerate(images):
        p = x.reshape(grid, c, grid, c).transpose(0, 2, 1, 3).reshape(grid * grid, c, c)[rng.permutation(grid * grid)]
        y[i] = p.reshape(grid, grid, c, c).transpose(0, 2, 1, 3).reshape(28, 28)
    return y


def patch_shuffle_mix(images, grids=(2, 4, 7)):
    """Each image cut into cells at a grid drawn at random from `grids` (the module's PatchShuffleMix)."""
    choice = rng.integers(0, len(grids), len(images))
    return np.concatenate([patch_shuffle(images[i:i + 1], grids[c]) for i, c in enumerate(choice)])


def blur(images):
    y = np.empty_like(images)
    ones = np.pad(np.ones((28, 28)), 2)
    for i, x in enumerate(images):
        pad = np.pad(x.astype(np.int32), 2)
        s = sum(pad[dy:dy + 28, dx:dx + 28] for dy in range(5) for dx in range(5))
        n = sum(ones[dy:dy + 28, dx:dx + 28] for dy in range(5) for dx in range(5))
        y[i] = np.round(s / n)
    return y


def auroc(scores_in, scores_out):
    return 100 * roc_auc_score(np.r_[np.ones(len(scores_in)), np.zeros(len(scores_out))], np.r_[scores_in, scores_out])


fashion = read_idx(os.path.join(DATA, "fashion-mnist", "t10k-images-idx3-ubyte"))
kana = read_idx(os.path.join(DATA, "kana", "t10k-images-idx3-ubyte"))[:2000]
val = fashion[:1000]
pseudo = {
    "PixelShuffle": patch_shuffle(val, 28),
    "PatchShuffle 2x2": patch_shuffle(val, 2),
    "PatchShuffle 4x4": patch_shuffle(val, 4),
    "PatchShuffle 7x7": patch_shuffle(val, 7),
    "PatchShuffle 14x14": patch_shuffle(val, 14),
    "PatchShuffle mix 2/4/7": patch_shuffle_mix(val),
    "Invert": 255 - val,
    "UniformNoise": rng.integers(0, 256, val.shape).astype(np.uint8),
    "Blur": blur(val),
}
f_val, f_in, f_kana = features(val), features(fashion[1000:3000]), features(kana)
f_pseudo = {k: features(v) for k, v in pseudo.items()}
order = np.random.default_rng(0).permutation(1000)
fit, hold = np.sort(order[:500]), np.sort(order[500:])

print("Per-tap AUROC, FashionMNIST test vs Kana (conv1, conv2, fc1, logits):")
for e in EPS:
    print(f"  eps {e:+.2f}: " + ", ".join(f"{auroc(f_in[e][:, k], f_kana[e][:, k]):.1f}" for k in range(4)))
print("\nRegression against one kind: AUROC vs itself (held-out half) | vs Kana, per eps")
chosen = {k: [] for k in pseudo}
print("  kind                  " + "".join(f"   eps {e:+.2f}       " for e in EPS))
for kind in pseudo:
    row = []
    for e in EPS:
        X = np.r_[f_val[e][fit], f_pseudo[kind][e][fit]]
        y = np.r_[np.ones(len(fit)), np.zeros(len(fit))]
        scaler = StandardScaler().fit(X)
        model = LogisticRegressionCV(Cs=10, cv=5, max_iter=1000).fit(scaler.transform(X), y)
        score = lambda Z: model.decision_function(scaler.transform(Z))
        s_in, s_out = score(f_val[e][hold]), score(f_pseudo[kind][e][hold])
        tnr = 100 * np.mean(s_out < np.quantile(s_in, 0.05))
        kana_auroc = auroc(score(f_in[e]), score(f_kana[e]))
        chosen[kind].append((tnr, e, kana_auroc))
        row.append(f"{auroc(s_in, s_out):6.2f} | {kana_auroc:6.2f}")
    print(f"  {kind:22s}" + "   ".join(row))
print("\nε chosen by TNR at 95% TPR on the held-out pseudo-outliers (as the module does), AUROC vs Kana at that ε:")
for kind, trials in chosen.items():
    for name, grid in (("|eps| <= 0.02", SMALL), ("|eps| <= 0.1", EPS)):
        tnr, e, a = max((t for t in trials if t[1] in grid), key=lambda t: (t[0], -abs(t[1])))
        print(f"  {kind:22s} {name}: eps {e:+.2f} (TNR {tnr:.1f}) -> {a:.2f}")
print("\nNo pseudo-outliers: Mahalanobis distance of log per-tap FSSD from the in-distribution mean, AUROC vs Kana")
for e in EPS:
    L = np.log(f_val[e])
    mu, P = L.mean(0), np.linalg.inv(np.cov(L.T))
    md = lambda Z: -np.einsum("ij,jk,ik->i", np.log(Z) - mu, P, np.log(Z) - mu)
    print(f"  eps {e:+.2f}: {auroc(md(f_in[e]), md(f_kana[e])):.2f}")
