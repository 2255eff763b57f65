"""FSSD of one ResNet18 tap in PyTorch, on images already in memory: the reference for bench/Compare-ResNetSpeed.ps1.

The network is torchvision's ResNet18 (ImageNet stem), defined here with torchvision's parameter names so
that the module reads the same state_dict; --save writes a seeded random one. Images are read with PIL,
resized to 224 x 224 and normalized with ImageNet's mean and std before the clock starts. Then, in batches:
  eps = 0: one forward pass up to the tap, FSSD = ||F(x) - F*||;
  eps > 0: the authors' algorithm for one tap: forward up to the tap with gradients, backward,
           x + eps * sign(grad) / std, forward up to the tap again.
F* is the tap's mean over 16 uniform-noise images (not timed). Prints one JSON line: images, seconds, per_second.
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet18(nn.Module):
    TAPS = ["stem", "layer1", "layer2", "layer3", "layer4", "penultimate", "logits"]

    def __init__(self, classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        inplanes = 64
        for i, (planes, stride) in enumerate([(64, 1), (128, 2), (256, 2), (512, 2)], start=1):
            setattr(self, f"layer{i}", nn.Sequential(BasicBlock(inplanes, planes, stride), BasicBlock(planes, planes, 1)))
            inplanes = planes
        self.fc = nn.Linear(512, classes)

    def until(self, x, tap):
        """The tap's features (spatial mean for the stages, as the module reduces them), computing no further."""
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        if tap == "stem":
            return x.mean((2, 3))
        for i in range(1, 5):
            x = getattr(self, f"layer{i}")(x)
            if tap == f"layer{i}":
                return x.mean((2, 3))
        pooled = x.mean((2, 3))
        return pooled if tap == "penultimate" else self.fc(pooled)


def load(paths, size):
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    images = []
    for p in paths:
        with Image.open(p) as im:
            im = im.convert("RGB").resize((size, size), Image.BILINEAR)
            images.append(torch.frombuffer(bytearray(im.tobytes()), dtype=torch.uint8).view(size, size, 3).permute(2, 0, 1))
    x = torch.stack(images).float().div(255)
    return (x - mean) / std, std


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("list", help="a file listing image paths, one per line")
    ap.add_argument("--weights", required=True)
    ap.add_argument("--save", action="store_true", help="write a seeded random state_dict to --weights and stop")
    ap.add_argument("--tap", default="penultimate")
    ap.add_argument("--eps", type=float, default=0.0)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", type=int, default=224)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net = ResNet18()
    if a.save:
        torch.save(net.state_dict(), a.weights)
        return
    net.load_state_dict(torch.load(a.weights))
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    paths = [line.strip() for line in open(a.list) if line.strip()]
    x, std = load(paths, a.size)
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    with torch.no_grad():
        noise = (torch.rand(16, 3, a.size, a.size) - mean) / std
        center = net.until(noise, a.tap).mean(0)

    def score(batch):
        if a.eps == 0:
            with torch.no_grad():
                return (net.until(batch, a.tap) - center).norm(dim=1)
        b = batch.clone().requires_grad_(True)
        fssd = (net.until(b, a.tap) - center).norm(dim=1)
        grad, = torch.autograd.grad(fssd.sum(), b)
        with torch.no_grad():
            return (net.until(batch + a.eps * grad.sign() / std, a.tap) - center).norm(dim=1)

    score(x[: a.batch])  # warm-up
    start = time.perf_counter()
    n = 0
    for i in range(0, x.shape[0], a.batch):
        n += score(x[i: i + a.batch]).shape[0]
    seconds = time.perf_counter() - start
    print(json.dumps({"images": n, "seconds": seconds, "per_second": n / seconds, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
