#!/usr/bin/env python3
"""How to hand a PyTorch classifier to the Fssd module.

Two ways, both read by Import-FssdModel:

1. A built-in architecture (LeNet, ResNet18, ResNet34): save the state_dict. Parameter names must be
   those of PyTorch's MNIST example (LeNet) or torchvision (ResNet).
       Import-FssdModel ./lenet.pt -Architecture LeNet

2. Any network, as TorchScript: make forward return (logits, feature1, ..., featureK) and name the
   features when importing.
       Import-FssdModel ./net.ts.pt -Architecture TorchScript -InputSize 28,28 -ColorMode Gray -Layer conv1, conv2, fc1
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class LeNet(nn.Module):
    """PyTorch's MNIST example network, the one the FSSD authors trained on FashionMNIST."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        c1 = F.relu(self.conv1(x))
        c2 = F.relu(self.conv2(c1))
        h = torch.flatten(self.dropout1(F.max_pool2d(c2, 2)), 1)
        f1 = F.relu(self.fc1(h))
        logits = self.fc2(self.dropout2(f1))
        return logits, c1, c2, f1  # logits first, then the features to tap


if __name__ == "__main__":
    model = LeNet().eval()  # load your trained weights here
    torch.save(model.state_dict(), "lenet.pt")
    example = torch.zeros(1, 1, 28, 28)
    torch.jit.trace(model, example).save("lenet.ts.pt")
    print("wrote lenet.pt (state_dict) and lenet.ts.pt (TorchScript)")
