"""The network (an encoder and a head for the task), and the device it trains on.

An encoder turns an image into feature maps at 1/4, 1/8, 1/16 and 1/32 of its size:
- `TinyEncoder` is a plain stack of convolutions (about half a million weights) that trains from
  scratch on a laptop CPU in minutes. It is what you get offline, in tests and in CI.
- `MobileNetEncoder` reuses torchvision's MobileNetV3-Small with ImageNet weights when they can be
  downloaded (`train.pretrained` in params.yaml): features learnt on a million photos help most
  when you have only a few hundred of your own.

The detector predicts, for every cell of a grid 4x coarser than the input, one score per class
("an object's centre is here") and the object's box (offset of the centre inside the cell, log
width and log height). Turning those maps into boxes (find local peaks, read their boxes) happens
outside the network, in plain numpy in `inference.py`, so the ONNX export is just convolutions.
This is the idea of CenterNet (Zhou et al., 2019, "Objects as Points") without its large backbone.
"""

from __future__ import annotations

import os
import platform
import time

import torch
from rich.console import Console
from torch import nn
from torch.utils.data import Dataset

from .config import StageError

# ImageNet statistics: pretrained weights expect them, and they are a fine scale for scratch too.
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
STRIDE = 4  # the output grid is 4x coarser than the input image


def conv_bn_relu(channels_in: int, channels_out: int, stride: int = 1) -> nn.Sequential:
    """3x3 convolution, batch norm, ReLU: the one building block of the tiny encoder."""
    return nn.Sequential(
        nn.Conv2d(channels_in, channels_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(channels_out),
        nn.ReLU(inplace=True),
    )


class TinyEncoder(nn.Module):
    """Five stages, each halving the resolution: small enough to train from scratch on a CPU."""

    channels = [32, 64, 96, 128]  # at strides 4, 8, 16, 32

    def __init__(self) -> None:
        super().__init__()
        self.stem = conv_bn_relu(3, 16, stride=2)
        widths = [16, *self.channels]
        self.stages = nn.ModuleList(
            nn.Sequential(conv_bn_relu(a, b, stride=2), conv_bn_relu(b, b))
            for a, b in zip(widths[:-1], widths[1:], strict=True)
        )

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(images)
        features = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return features


class MobileNetEncoder(nn.Module):
    """torchvision's MobileNetV3-Small cut into the same four strides as `TinyEncoder`."""

    channels = [16, 24, 48, 576]  # at strides 4, 8, 16, 32

    def __init__(self, pretrained: bool) -> None:
        super().__init__()
        # Imported here, not at the top: torchvision takes seconds to import, and the tiny
        # encoder (smoke runs, tests, offline training) does not need it.
        import torchvision

        weights = torchvision.models.MobileNet_V3_Small_Weights.IMAGENET1K_V1
        layers = torchvision.models.mobilenet_v3_small(weights=weights if pretrained else None)
        layers = layers.features
        # Where MobileNetV3-Small halves its resolution (print the layers to see it).
        self.stages = nn.ModuleList([layers[:2], layers[2:4], layers[4:9], layers[9:]])

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        features = []
        x = images
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return features


def build_encoder(name: str, pretrained: bool = False) -> TinyEncoder | MobileNetEncoder:
    """The encoder called `name` in the checkpoint's config ("tiny" or "mobilenet_v3_small")."""
    if name == "tiny":
        return TinyEncoder()
    if name == "mobilenet_v3_small":
        return MobileNetEncoder(pretrained)
    raise ValueError(f"unknown encoder {name!r}: expected 'tiny' or 'mobilenet_v3_small'")


class CenterNet(nn.Module):
    """Encoder, a top-down path back to 1/4 resolution, and two small heads.

    Outputs, for a batch of N images of size S x S and C classes, on a grid of G = S / 4 cells:
    - heatmap (N, C, G, G): after a sigmoid, the chance that an object of each class is centred
      in that cell;
    - box (N, 4, G, G): centre offset inside the cell (x, y, in cells) and log width, log height
      (in cells) of the object centred there.
    """

    def __init__(
        self, num_classes: int, encoder: str, pretrained: bool = False, channels: int = 64
    ) -> None:
        super().__init__()
        self.encoder = build_encoder(encoder, pretrained)
        # 1x1 convolutions bring every stride to the same width so they can be added up.
        self.lateral = nn.ModuleList(nn.Conv2d(c, channels, 1) for c in self.encoder.channels)
        self.smooth = conv_bn_relu(channels, channels)
        self.heatmap = nn.Conv2d(channels, num_classes, 1)
        self.box = nn.Conv2d(channels, 4, 1)
        # Start by predicting "no object" almost everywhere (p = 0.1), as in the focal-loss
        # paper: otherwise the first steps drown in the loss of the many empty cells.
        nn.init.constant_(self.heatmap.bias, -2.19)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.encoder(images)
        # Top-down: start from the coarsest map, upsample, add the next finer one (as in an FPN),
        # so the 1/4 grid sees both fine detail and the wide context of the deep layers.
        x = self.lateral[-1](features[-1])
        for lateral, feature in zip(self.lateral[-2::-1], features[-2::-1], strict=True):
            x = nn.functional.interpolate(x, size=feature.shape[-2:], mode="nearest")
            x = x + lateral(feature)
        x = self.smooth(x)
        return self.heatmap(x), self.box(x)


def build_model(config: dict, download_weights: bool = False) -> CenterNet:
    """The network described by `config` (saved in the checkpoint, so export can rebuild it).

    Only training asks for the ImageNet weights; export loads the trained ones over them anyway.
    """
    return CenterNet(
        len(config["classes"]), config["encoder"], download_weights, config["channels"]
    )


def count_parameters(model: nn.Module) -> int:
    """Number of weights, reported in metrics.json so the writeup can say how small the model is."""
    return sum(p.numel() for p in model.parameters())


def choose_encoder(pretrained: str) -> tuple[str, bool]:
    """Which encoder to train, and whether it starts from ImageNet weights.

    `auto` tries to download the weights (once; torchvision caches them in ~/.cache/torch) and
    falls back to the tiny from-scratch encoder when that fails, e.g. offline or in CI.
    """
    if pretrained == "false":
        return "tiny", False
    import torchvision  # only needed here, to fetch the weights

    try:
        torchvision.models.MobileNet_V3_Small_Weights.IMAGENET1K_V1.get_state_dict(progress=True)
    except OSError as error:  # URLError and socket errors are OSErrors
        if pretrained == "true":
            raise StageError(
                f"could not download the pretrained weights ({error}); connect to the internet "
                "or set train.pretrained to auto or false in params.yaml."
            ) from error
        Console().print(
            "[yellow]No pretrained weights (offline?): training the tiny model instead."
        )
        return "tiny", False
    return "mobilenet_v3_small", True


def choose_device(name: str) -> torch.device:
    """`auto` takes an NVIDIA GPU, then an Apple GPU, then the CPU; anything else is used as is."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise StageError("device cuda was asked for but no CUDA GPU is visible; use --device auto.")
    return torch.device(name)


def describe_hardware(device: torch.device) -> str:
    """A short description of the machine for the report (training time means little without it)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return f"Apple GPU (mps), {platform.machine()}"
    return f"{os.cpu_count()} CPU cores ({platform.machine()}), {torch.get_num_threads()} threads"


def estimate_training(
    model: nn.Module,
    data: Dataset,
    batch_size: int,
    device: torch.device,
    steps: tuple[int, int],
    epochs: int,
) -> str:
    """How long training will take at most, said before it starts, from a quick measurement.

    One batch of `data` is loaded and passed forward twice (the first pass pays for warm-up);
    a training step costs about three forward passes (the backward pass about two), a
    validation step one. `steps` are the train and val batches of an epoch. Nothing is learned
    and no random number is drawn: the training that follows is the same as without it.
    """
    started = time.perf_counter()
    batch = torch.stack([data[i][0] for i in range(min(batch_size, len(data)))]).to(device)
    load = time.perf_counter() - started
    model.eval()
    passes = []
    with torch.no_grad():
        for _ in range(2):
            started = time.perf_counter()
            model(batch)
            passes.append(time.perf_counter() - started)
    step = load + 3 * min(passes)
    seconds = epochs * (steps[0] * step + steps[1] * (load + min(passes)))
    minutes = f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"
    return (
        f"Estimate: at most about {minutes} for {epochs} epoch(s) of {steps[0]} step(s) (one "
        f"step measured at {step:.2f} s on {device}); early stopping may end it sooner, and "
        "the bar shows the time left as it goes. `ARGS=--smoke` checks everything in a minute."
    )
