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

from lenet import LeNet, TappedLeNet  # lenet.py, beside this script

if __name__ == "__main__":
    model = LeNet().eval()  # load your trained weights here
    torch.save(model.state_dict(), "lenet.pt")
    example = torch.zeros(1, 1, 28, 28)
    # TorchScript: forward returns (logits, conv1, conv2, fc1), the features named on import.
    torch.jit.trace(TappedLeNet(model), example).save("lenet.ts.pt")
    print("wrote lenet.pt (state_dict) and lenet.ts.pt (TorchScript)")
