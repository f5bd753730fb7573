"""Train the model on data/splits/train.csv, keep the best version on val.csv, log everything.

Read it top to bottom: settings, data, model, the training loop, then what gets saved. The best
checkpoint (lowest validation loss) goes to models/model.pt; training stops early when the
validation loss has not improved for `patience` epochs. The loss, not your target metric
(mAP...), picks the epoch: measuring mAP means decoding and matching every validation image
after every epoch, which on a CPU costs about as much as the epoch, and on a small validation
split it moves in steps too coarse to choose by; `evaluate` measures the target on the test
split. reports/training.json records the
settings, the loss of every epoch, the time taken and the machine, so any result can be traced
back to how it was made.
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

import numpy as np
import torch
from PIL import Image
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from torch import nn
from torch.utils.data import DataLoader, Dataset

from .config import (
    CHECKPOINT_FILE,
    SPLITS_DIR,
    TRAINING_FILE,
    StageError,
    load_params,
    stage_settings,
)
from .dataset import Box, read_boxes_or_fail, read_split
from .inference import preprocess
from .model import (
    MEAN,
    STD,
    STRIDE,
    build_model,
    choose_device,
    choose_encoder,
    count_parameters,
    describe_hardware,
    estimate_training,
)
from .pipeline_lock import record_stage
from .reports import write_training_report

console = Console()
# --smoke proves the code runs end to end (tests, CI, `make pipeline ARGS=--smoke`) in seconds:
# a tiny slice of the data, one epoch, the tiny network from scratch, on small images. Its model
# is useless on purpose. The input size is saved in the checkpoint, so export, evaluate and the
# apps all follow it.
SMOKE_ITEMS = 16
SMOKE_SETTINGS = {"epochs": 1, "pretrained": "false", "input_size": 64, "channels": 16}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--epochs", type=int, help="maximum number of passes over the data")
    parser.add_argument("--batch-size", type=int, help="images per optimisation step")
    parser.add_argument("--learning-rate", type=float, help="AdamW learning rate")
    parser.add_argument("--device", help="auto, cpu, cuda or mps")
    parser.add_argument(
        "--pretrained", choices=["auto", "true", "false"], help="use ImageNet weights"
    )
    parser.add_argument("--smoke", action="store_true", help="tiny run for tests (seconds)")


def seed_everything(seed: int) -> None:
    """Same seed, same data order, same initial weights: a rerun gives the same model."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def read_image(path: str) -> Image.Image:
    """Open one image of a split; a missing or broken file names itself and the fix."""
    try:
        with Image.open(path) as image:
            image.load()
            return image
    except (OSError, ValueError) as error:
        raise StageError(
            f"cannot read {path} ({error}); run `validate`, remove the file, and `split` again."
        ) from error


def heatmap_targets(
    boxes: list[Box], num_classes: int, grid: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the network should output for one image, on its grid x grid cells.

    - heatmap (classes, grid, grid): 1 at the cell holding each object's centre, falling off as
      a Gaussian as wide as the object, so near misses are punished less than far ones;
    - box (4, grid, grid): at each centre cell, the centre's offset inside the cell and the log
      of the box width and height, in cells;
    - mask (grid, grid): 1 at the centre cells, where the box targets mean something.
    """
    heatmap = np.zeros((num_classes, grid, grid), dtype=np.float32)
    box = np.zeros((4, grid, grid), dtype=np.float32)
    mask = np.zeros((grid, grid), dtype=np.float32)
    ys, xs = np.mgrid[0:grid, 0:grid]
    for b in boxes:
        cx, cy, w, h = b.cx * grid, b.cy * grid, max(b.w * grid, 1e-3), max(b.h * grid, 1e-3)
        col, row = min(int(cx), grid - 1), min(int(cy), grid - 1)
        # A sixth of the box on each side: the blob covers about the middle third of the object.
        sigma_x, sigma_y = max(w / 6, 0.5), max(h / 6, 0.5)
        blob = np.exp(-((xs - col) ** 2 / (2 * sigma_x**2) + (ys - row) ** 2 / (2 * sigma_y**2)))
        heatmap[b.class_id] = np.maximum(heatmap[b.class_id], blob)
        box[:, row, col] = [cx - col, cy - row, np.log(w), np.log(h)]
        mask[row, col] = 1.0
    return heatmap, box, mask


class DetectionDataset(Dataset):
    """(pixels, heatmap, box targets, mask) read from a split; random flips when `augment` is on."""

    def __init__(self, rows: list[dict[str, str]], num_classes: int, size: int, augment: bool):
        self.rows, self.num_classes, self.size, self.augment = rows, num_classes, size, augment

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, ...]:
        row = self.rows[index]
        pixels = preprocess(read_image(row["path"]), self.size, MEAN, STD)
        boxes = read_boxes_or_fail(row["annotation"], self.num_classes)
        if self.augment and random.random() < 0.5:
            # Mirror the picture and its boxes together: x becomes 1 - x (YOLO boxes are 0..1).
            pixels = pixels[:, :, ::-1].copy()
            boxes = [Box(b.class_id, 1 - b.cx, b.cy, b.w, b.h) for b in boxes]
        targets = heatmap_targets(boxes, self.num_classes, self.size // STRIDE)
        return (torch.from_numpy(pixels), *(torch.from_numpy(t) for t in targets))


def detection_loss(
    heatmap_logits: torch.Tensor,
    box_pred: torch.Tensor,
    heatmap: torch.Tensor,
    box: torch.Tensor,
    mask: torch.Tensor,
) -> torch.Tensor:
    """CenterNet's loss: a focal loss on the heatmap plus an L1 loss on the box at each centre.

    Almost every cell is background, so a plain loss would teach the network to predict "nothing"
    everywhere. The focal loss shrinks the loss of cells that are already right ((1 - p)^2 and
    p^2) and of cells near a centre ((1 - target)^4), and divides by the number of objects.
    """
    log_p = nn.functional.logsigmoid(heatmap_logits)
    log_not_p = nn.functional.logsigmoid(-heatmap_logits)
    p = log_p.exp()
    centre = (heatmap == 1).float()
    positive = -((1 - p) ** 2) * log_p * centre
    negative = -((1 - heatmap) ** 4) * p**2 * log_not_p * (1 - centre)
    objects = centre.sum().clamp(min=1)
    focal = (positive.sum() + negative.sum()) / objects
    box_l1 = ((box_pred - box).abs() * mask.unsqueeze(1)).sum() / mask.sum().clamp(min=1)
    return focal + box_l1


def run_epoch(
    model: nn.Module,
    loader: DataLoader,
    device: torch.device,
    optimizer: torch.optim.Optimizer | None = None,
    schedule: torch.optim.lr_scheduler.LRScheduler | None = None,
    on_step: Any = None,
) -> dict[str, float]:
    """One pass over `loader`: trains when given an optimizer, only measures otherwise."""
    training = optimizer is not None
    model.train(training)
    total_loss, seen = 0.0, 0
    with torch.set_grad_enabled(training):
        for images, *targets in loader:
            images = images.to(device)
            targets = [t.to(device) for t in targets]
            loss = detection_loss(*model(images), *targets)
            if training:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                schedule.step()
                on_step(loss.item())
            total_loss += loss.item() * len(images)
            seen += len(images)
    return {"loss": total_loss / max(seen, 1)}


def check_labels(rows: list[dict[str, str]], classes: list[str]) -> None:
    """Refuse a split whose label files name other classes, before any time is spent."""
    for row in rows:
        read_boxes_or_fail(row["annotation"], len(classes))


def run(args: argparse.Namespace) -> None:
    params = load_params()
    settings = stage_settings(params, "train", args)
    if args.smoke:
        settings.update(SMOKE_SETTINGS)
    classes: list[str] = params["classes"]
    seed_everything(params.get("seed", 0))

    # --- data ---
    train_rows, val_rows = read_split("train"), read_split("val")
    if args.smoke:
        train_rows, val_rows = train_rows[:SMOKE_ITEMS], val_rows[: SMOKE_ITEMS // 2]
    if not train_rows or not val_rows:
        raise StageError("the train or val split is empty: collect more data and run `split`.")
    check_labels(train_rows + val_rows, classes)
    size = settings["input_size"]
    if size % 32:
        raise StageError(f"train.input_size must be a multiple of 32 (got {size}).")
    train_data = DetectionDataset(train_rows, len(classes), size, augment=True)
    val_data = DetectionDataset(val_rows, len(classes), size, augment=False)
    # A seeded generator makes the shuffling, and so the whole run, repeatable.
    loader_seed = torch.Generator().manual_seed(params.get("seed", 0))
    train_loader = DataLoader(
        train_data,
        batch_size=settings["batch_size"],
        shuffle=True,
        generator=loader_seed,
        num_workers=settings["workers"],
    )
    val_loader = DataLoader(
        val_data, batch_size=settings["batch_size"], num_workers=settings["workers"]
    )

    # --- model ---
    device = choose_device(settings["device"])
    encoder, pretrained = choose_encoder(str(settings["pretrained"]).lower())
    config = {
        "task": params["task"],
        "classes": classes,
        "name": "centernet-" + encoder,
        "encoder": encoder,
        "pretrained": pretrained,
        "input_size": size,
        "mean": MEAN,
        "std": STD,
        "channels": settings["channels"],
        "stride": STRIDE,
    }
    model = build_model(config, download_weights=pretrained).to(device)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=settings["learning_rate"], weight_decay=settings["weight_decay"]
    )
    # The learning rate follows the validation loss, the same signal early stopping reads.
    # It warms up over the first epoch (a cold network is fragile), then stays high while val
    # loss improves and drops 10x when it has not for half of `patience` epochs. So early
    # stopping only ends a run that could not improve even with smaller steps. A schedule fixed
    # in advance (one cycle, cosine) would not fit: it is sized for all epochs, early stopping
    # ends the run long before, and the best checkpoint could land at the peak learning rate.
    warmup = torch.optim.lr_scheduler.LinearLR(
        optimizer, start_factor=0.1, total_iters=len(train_loader)
    )
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, factor=0.1, patience=max(settings["patience"] // 2 - 1, 0)
    )
    total_steps = settings["epochs"] * len(train_loader)
    console.print(
        f"Training {config['name']} ({count_parameters(model):,} weights) on {device} "
        f"with {len(train_rows)} train and {len(val_rows)} val images."
    )
    steps, batch = (len(train_loader), len(val_loader)), settings["batch_size"]
    console.print(estimate_training(model, val_data, batch, device, steps, settings["epochs"]))

    # --- training loop ---
    CHECKPOINT_FILE.parent.mkdir(parents=True, exist_ok=True)
    history: list[dict[str, float]] = []
    best_loss, best_epoch, stale = float("inf"), 0, 0
    started = time.perf_counter()
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.4f}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
    )
    with progress:
        bar = progress.add_task("epoch 1", total=total_steps, loss=float("nan"))
        for epoch in range(1, settings["epochs"] + 1):
            progress.update(bar, description=f"epoch {epoch}/{settings['epochs']}")
            train = run_epoch(
                model,
                train_loader,
                device,
                optimizer,
                warmup,
                on_step=lambda loss: progress.update(bar, advance=1, loss=loss),
            )
            val = run_epoch(model, val_loader, device)
            history.append(
                {
                    "epoch": epoch,
                    **{f"train_{k}": v for k, v in train.items()},
                    **{f"val_{k}": v for k, v in val.items()},
                    "lr": optimizer.param_groups[0]["lr"],  # the rate this epoch ended with
                    "seconds": round(time.perf_counter() - started, 1),
                }
            )
            plateau.step(val["loss"])
            if val["loss"] < best_loss:
                best_loss, best_epoch, stale = val["loss"], epoch, 0
                # Save the weights and everything needed to rebuild the network around them.
                torch.save(
                    {"state_dict": model.state_dict(), "config": config, "epoch": epoch},
                    CHECKPOINT_FILE,
                )
            else:
                stale += 1
            progress.console.print(
                f"epoch {epoch}: "
                + ", ".join(f"{k} {v:.4f}" for k, v in history[-1].items() if "_" in k)
                + f", best val loss {best_loss:.4f} (epoch {best_epoch})"
            )
            if stale >= settings["patience"]:
                progress.console.print(
                    f"Stopping early: val loss has not improved for {stale} epochs."
                )
                break
    seconds = time.perf_counter() - started

    # --- what gets saved besides the model ---
    write_training_report(
        params,
        settings=settings,
        smoke=args.smoke,
        model={
            "name": config["name"],
            "pretrained": pretrained,
            "parameters": count_parameters(model),
        },
        dataset={"train": len(train_rows), "val": len(val_rows)},
        history=history,
        best_epoch=best_epoch,
        selected_by="val_loss",
        epochs=len(history),
        stopped_early=len(history) < settings["epochs"],
        device=str(device),
        hardware=describe_hardware(device),
        seconds=seconds,
    )
    record_stage(
        "train",
        args,
        params,
        settings,
        reads=[SPLITS_DIR / "train.csv", SPLITS_DIR / "val.csv"],
        writes=[CHECKPOINT_FILE, TRAINING_FILE],
    )
    console.print(
        f"[green]Best val loss {best_loss:.4f} at epoch {best_epoch}; saved {CHECKPOINT_FILE} "
        f"({seconds:.0f} s). Next: `python -m surgical_tool_detector export`."
    )
