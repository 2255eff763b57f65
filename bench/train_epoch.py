#!/usr/bin/python3
"""One training epoch of LeNet on FashionMNIST in PyTorch, the default model's recipe, timed.

The recipe New-FssdClassifier LeNet uses (PyTorch's MNIST example, as the paper's authors trained):
Adadelta (lr 1.0, rho 0.9, eps 1e-6), batch 64, shuffled each epoch, inputs scaled to [0, 1] and
normalized with mean 0.286 and std 0.353, dropout 0.25 and 0.5; then accuracy on the 10,000 test
images. The epoch's time covers the training pass and that evaluation, as the module's epoch time does.

  /usr/bin/python3 bench/train_epoch.py [data folder] [--threads 2] [--epochs 1]

The data folder holds fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte (the module's
provisioned copy: $FSSD_DATA or ~/.cache/fssd/data). Prints one JSON object per epoch.

For studies of the recipe: --seed, --gamma (StepLR's factor per epoch, as the module's recipe and the
authors' training script use; 1 keeps the rate constant), --channel-dropout (the first dropout drops
whole feature maps, nn.Dropout2d, as the authors' network does, instead of single activations) and
--save PATH.safetensors (the trained weights, in the module's LeNet parameter names).
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))
from lenet import LeNet, read_idx, save_safetensors  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", nargs="?", default=os.environ.get("FSSD_DATA", os.path.expanduser("~/.cache/fssd/data")))
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gamma", type=float, default=1.0, help="StepLR factor per epoch (the recipe's is 0.7)")
    ap.add_argument("--channel-dropout", action="store_true", help="nn.Dropout2d for the first dropout")
    ap.add_argument("--save", help="write the trained weights to this safetensors file")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    root = os.path.join(args.data, "fashion-mnist")
    x_train = torch.from_numpy(read_idx(os.path.join(root, "train-images-idx3-ubyte")).reshape(-1, 1, 28, 28).copy())
    y_train = torch.from_numpy(read_idx(os.path.join(root, "train-labels-idx1-ubyte")).astype(np.int64))
    x_test = torch.from_numpy(read_idx(os.path.join(root, "t10k-images-idx3-ubyte")).reshape(-1, 1, 28, 28).copy())
    y_test = torch.from_numpy(read_idx(os.path.join(root, "t10k-labels-idx1-ubyte")).astype(np.int64))

    def normalize(x):
        return (x.float() / 255 - 0.286) / 0.353

    net = LeNet()
    if args.channel_dropout:
        net.dropout1 = torch.nn.Dropout2d(0.25)
    optimizer = torch.optim.Adadelta(net.parameters(), lr=1.0, rho=0.9, eps=1e-6)
    schedule = torch.optim.lr_scheduler.StepLR(optimizer, 1, args.gamma)
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        net.train()
        order = torch.randperm(len(x_train))
        loss_sum, batches = 0.0, 0
        for s in range(0, len(order), 64):
            index = order[s:s + 64]
            optimizer.zero_grad()
            loss = F.cross_entropy(net(normalize(x_train[index])), y_train[index])
            loss.backward()
            optimizer.step()
            loss_sum += loss.item()
            batches += 1
        train_seconds = time.perf_counter() - t0
        net.eval()
        correct = 0
        with torch.no_grad():
            for s in range(0, len(x_test), 1000):
                correct += (net(normalize(x_test[s:s + 1000])).argmax(1) == y_test[s:s + 1000]).sum().item()
        print(json.dumps({"epoch": epoch, "seconds": time.perf_counter() - t0, "train_seconds": train_seconds,
                          "loss": loss_sum / batches, "accuracy": correct / len(x_test), "threads": torch.get_num_threads(),
                          "torch": torch.__version__}), flush=True)
        schedule.step()
    if args.save:
        save_safetensors(net.state_dict(), args.save)


if __name__ == "__main__":
    main()
