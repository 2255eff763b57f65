<#
.SYNOPSIS
    Imports the test fixtures in every supported format and shows their taps: a tour of Import-FssdModel.
#>
param([string] $ModulePath = (Join-Path $PSScriptRoot '../out/Fssd'))
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath
$fixtures = Join-Path $PSScriptRoot '../tests/fixtures/models'

# A PyTorch state_dict of the authors' LeNet, and the same weights as safetensors.
Import-FssdModel (Join-Path $fixtures 'lenet.pt') -Architecture LeNet
Import-FssdModel (Join-Path $fixtures 'lenet.safetensors') -Architecture LeNet -Name lenet-safetensors

# A torchvision-named ResNet18; the CIFAR stem is read off the weights.
$resnet = Import-FssdModel (Join-Path $fixtures 'resnet18_cifar.pt') -Architecture ResNet18
$resnet.Layers | Format-Table

# TorchScript returning (logits, conv1, conv2, fc1).
Import-FssdModel (Join-Path $fixtures 'lenet.traced.pt') -Architecture TorchScript -InputSize 28, 28 -ColorMode Gray -Layer conv1, conv2, fc1

# Everything loaded so far is cached in the session.
(Get-FssdContext).Models | Format-Table
