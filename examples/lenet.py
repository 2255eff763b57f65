"""LeNet as the Fssd module knows it: the one definition every Python script of the project uses.

PyTorch's MNIST example network, which the FSSD authors trained on FashionMNIST: conv1 1->32 3x3,
conv2 32->64 3x3, 2x2 max-pool, dropout 0.25, fc1 9216->128, dropout 0.5, fc2 128->10. Its parameter
names are the module's built-in LeNet's, so a state_dict saved from it imports with
`Import-FssdModel lenet.pt -Architecture LeNet`, and safetensors the module writes load into it. The
taps are the module's: conv1, conv2 and fc1 after their ReLU, and the logits.
"""
import json
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def features(self, x):
        """(logits, conv1, conv2, fc1): the logits and the three feature taps, maps not flattened."""
        c1 = F.relu(self.conv1(x))
        c2 = F.relu(self.conv2(c1))
        h = torch.flatten(self.dropout1(F.max_pool2d(c2, 2)), 1)
        f1 = F.relu(self.fc1(h))
        return self.fc2(self.dropout2(f1)), c1, c2, f1

    def forward(self, x):
        return self.features(x)[0]

    def up_to(self, x, name):
        """One tap, flattened, computing only the layers up to it (the authors' intermediate_forward)."""
        c1 = F.relu(self.conv1(x))
        if name == "conv1":
            return c1.flatten(1)
        c2 = F.relu(self.conv2(c1))
        if name == "conv2":
            return c2.flatten(1)
        f1 = F.relu(self.fc1(torch.flatten(self.dropout1(F.max_pool2d(c2, 2)), 1)))
        if name == "fc1":
            return f1
        if name == "logits":
            return self.fc2(self.dropout2(f1))
        raise KeyError(name)

    def taps(self, x):
        """The four taps by name, in the module's order, each flattened to one vector per input."""
        logits, c1, c2, f1 = self.features(x)
        return {"conv1": c1.flatten(1), "conv2": c2.flatten(1), "fc1": f1, "logits": logits}


class TappedLeNet(nn.Module):
    """LeNet whose forward returns (logits, conv1, conv2, fc1): the TorchScript form the module taps by position."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net.features(x)


def load_safetensors(path):
    """A safetensors file of float32 tensors as a state dict."""
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for key, v in header.items():
        if key == "__metadata__":
            continue
        if v["dtype"] != "F32":
            raise SystemExit(f"{path}: tensor {key} is {v['dtype']}, only F32 is read")
        s, e = v["data_offsets"]
        out[key] = torch.from_numpy(np.frombuffer(raw[8 + n + s:8 + n + e], dtype=np.float32).reshape(v["shape"]).copy())
    return out


def save_safetensors(state, path):
    """A state dict as a safetensors file of float32 tensors (8-byte header length, JSON header, raw data)."""
    header, blobs, offset = {}, [], 0
    for name, t in state.items():
        data = t.detach().float().contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def read_idx(path):
    """An IDX file of unsigned bytes (images idx3-ubyte, labels idx1-ubyte) as a uint8 array of its declared shape."""
    raw = np.fromfile(path, dtype=np.uint8)
    dims = int(raw[3])
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i].tobytes(), "big") for i in range(dims)]
    return raw[4 + 4 * dims:].reshape(shape)


def frozen_lenet(weights_path):
    """LeNet with the weights of a safetensors file, in eval mode, parameters frozen."""
    net = LeNet()
    net.load_state_dict(load_safetensors(weights_path))
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net
