"""Image backend benchmarks: CIFAR-10 kNN after a short CPU pretraining, training images/s.

Figures: docs/results.md, "Image backend: small-scale CIFAR-10" (``cifar``); docs/benchmarks.md,
"`swav-ts bench gpu`: one accelerator session" (``image-throughput``, its image section).

(a) :func:`cifar_small_scale`: SwAV-pretrain a (narrow) CIFAR-stem ResNet-18 on CIFAR-10 JPEGs
    within a wall-clock budget on CPU, then weighted kNN (k=200, T=0.1) on the 10,000 test images
    against the same network randomly initialised.
(b) :func:`gpu_throughput`: training images/s of the 2x224 + 6x96 recipe (bf16 autocast,
    channels-last) with synthetic tensors (model only), the multi-crop JPEG pipeline alone, and
    both together; bounded in time. ``--device cpu --quick`` is a seconds-long smoke mode.

Run: ``swav-ts bench cifar --out result.json`` or
``swav-ts bench image-throughput --device cuda``.

(About 440 lines: the two image benchmarks share the CIFAR-10 data and the model builders, so
they stay in one module.)
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from swav_ts.bench.common import (
    add_options,
    format_table,
    output_file,
    output_folder,
    scratch_folder,
    write_json,
)
from swav_ts.bench.timing import device_sync
from swav_ts.core.config import OptimConfig, SwAVConfig, TrainConfig
from swav_ts.core.step import SwAVStep
from swav_ts.evaluation.image import knn_evaluate
from swav_ts.image.config import ImageConfig
from swav_ts.image.data import DataConfig, SafeImageFolder, TransformDataset, extract_image_zip
from swav_ts.image.models import ModelConfig, ResNetBackbone, build_image_model
from swav_ts.image.pretrain import pretrain
from swav_ts.image.transforms import CropsConfig, MultiCropTransform, eval_transform

logger = logging.getLogger(__name__)

CIFAR_MEAN = [0.4914, 0.4822, 0.4465]
CIFAR_STD = [0.2470, 0.2435, 0.2616]


def shared_cifar10_dir() -> Path:
    """``$SWAV_TS_SHARED_DATA/cifar10`` or ``<repo>/../shared/data/cifar10``."""
    env = os.environ.get("SWAV_TS_SHARED_DATA")
    base = Path(env) if env else Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
    return (base / "cifar10").resolve()


def _cifar_cache() -> Path:
    """Where the CIFAR-10 JPEGs are extracted unless ``--cache-dir`` says otherwise."""
    return Path(tempfile.gettempdir()) / "swav_ts_cifar_cache"


def cifar_config(
    train_root: Path,
    epochs: int,
    batch_size: int,
    width_multiplier: float,
    n_prototypes: int,
    seed: int,
    local_crops: int = 0,
    color_strength: float = 0.5,
) -> ImageConfig:
    """The benchmark's SwAV config: CIFAR-stem ResNet-18 for a short CPU run.

    2 global crops of 32 px (scale 0.25-1) plus ``local_crops`` crops of 16 px (scale 0.1-0.25);
    colour distortion at ``color_strength`` (0.5, as SimCLR's CIFAR recipe; with the ImageNet
    strength 1.0, short runs collapsed to a constant embedding under LARS, SGD and AdamW
    alike); no blur; AdamW 1e-3 with cosine decay; channels-last. docs/results.md lists the
    runs behind these choices.
    """
    n_crops, sizes, lo, hi = [2], [32], [0.25], [1.0]
    if local_crops:
        n_crops, sizes, lo, hi = [2, local_crops], [32, 16], [0.25, 0.1], [1.0, 0.25]
    return ImageConfig(
        swav=SwAVConfig(
            n_prototypes=n_prototypes,
            feat_dim=128,
            hidden_mlp=512,
            epsilon=0.05,
            freeze_prototypes_iters=100,
            queue_length=0,
        ),
        optim=OptimConfig(
            name="adamw",
            base_lr=1e-3,
            final_lr=1e-6,
            warmup_epochs=min(1.0, epochs / 10),
            start_warmup_lr=0.0,
            weight_decay=1e-4,
        ),
        train=TrainConfig(
            epochs=epochs,
            batch_size=batch_size,
            seed=seed,
            device="cpu",
            num_workers=1,
            progress=False,
            log_every_iters=20,
            collapse_patience_iters=10**6,
        ),
        model=ModelConfig(
            arch="resnet18",
            cifar_stem=True,
            width_multiplier=width_multiplier,
            channels_last=True,
        ),
        data=DataConfig(dataset="imagefolder", root=str(train_root)),
        crops=CropsConfig(
            n_crops=n_crops,
            size_crops=sizes,
            min_scale=lo,
            max_scale=hi,
            color_strength=color_strength,
            blur_prob=0.0,
            mean=CIFAR_MEAN,
            std=CIFAR_STD,
        ),
    )


def cifar_small_scale(
    data_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    pretrain_minutes: float = 28.0,
    subset_per_class: int = 5000,
    knn_train_per_class: int = 5000,
    test_per_class: int = 1000,
    width_multiplier: float = 0.25,
    batch_size: int = 128,
    n_prototypes: int = 100,
    max_epochs: int = 200,
    seed: int = 31,
    threads: int = 2,
    local_crops: int = 0,
    color_strength: float = 0.5,
) -> dict[str, Any]:
    """Pretrain on a CIFAR-10 subset within ``pretrain_minutes``, then kNN vs a random network.

    The number of epochs is set from a short timed calibration run so that pretraining fits the
    budget. Defaults: all 50,000 training images (``subset_per_class`` 5000), ResNet-18 at a
    quarter width, 2 crops of 32 px; kNN bank = the first ``knn_train_per_class`` training
    images per class (5000: all 50,000), queries = the 10,000 test images.

    Returns
    -------
    dict: settings, ``epochs``, ``pretrain_s``, ``knn_pretrained`` and ``knn_random``
    (top-1/top-5 in %), ``final_loss``.
    """
    torch.set_num_threads(threads)
    data_dir = Path(data_dir) if data_dir else shared_cifar10_dir()
    train_zip, test_zip = data_dir / "train.zip", data_dir / "test.zip"
    for z in (train_zip, test_zip):
        if not z.is_file():
            raise ValueError(f"CIFAR-10 zip not found: {z}")
    cache = output_folder(cache_dir, "--cache-dir") if cache_dir else output_folder(_cifar_cache())
    pre_root = extract_image_zip(train_zip, cache, subset_per_class)
    bank_root = extract_image_zip(train_zip, cache, knn_train_per_class)
    test_root = extract_image_zip(test_zip, cache, test_per_class)

    # ---- calibration: seconds per iteration on this machine (a throwaway short run)
    n_train = len(SafeImageFolder(pre_root))
    iters_per_epoch = n_train // batch_size
    if iters_per_epoch < 1:
        raise ValueError(f"{n_train} images are fewer than one batch of {batch_size}")
    probe_iters = min(6, iters_per_epoch)

    def config_for(epochs: int) -> ImageConfig:
        return cifar_config(
            pre_root,
            epochs,
            batch_size,
            width_multiplier,
            n_prototypes,
            seed,
            local_crops,
            color_strength,
        )

    with scratch_folder("swav_ts_bench_cifar_") as tmp:
        cfg = config_for(1)
        t0 = time.perf_counter()
        pretrain(cfg, tmp, resume=False, stop_after_iters=1)
        t1 = time.perf_counter()
        pretrain(cfg, tmp / "b", resume=False, stop_after_iters=probe_iters + 1)
        s_per_iter = max((time.perf_counter() - t1) - (t1 - t0), 1e-3) / probe_iters
    epochs = int(pretrain_minutes * 60 / (s_per_iter * iters_per_epoch))
    epochs = max(1, min(epochs, max_epochs))
    logger.info(
        "calibration: %.3f s/iter -> %d epochs of %d iterations",
        s_per_iter,
        epochs,
        iters_per_epoch,
    )

    # ---- pretraining
    tag = f"w{width_multiplier}_n{subset_per_class}_l{local_crops}_c{color_strength}"
    run_dir = cache / f"run_{tag}_e{epochs}_s{seed}"
    cfg = config_for(epochs)
    t0 = time.perf_counter()
    result = pretrain(cfg, run_dir, resume=False)
    pretrain_s = time.perf_counter() - t0
    trained = build_image_model(cfg)
    ckpt = torch.load(result.checkpoint_path, map_location="cpu", weights_only=True)
    trained.load_state_dict(ckpt["model"])

    # ---- kNN: pretrained vs the same architecture randomly initialised (same seed)
    t = eval_transform(None, 32, CIFAR_MEAN, CIFAR_STD)
    bank = TransformDataset(SafeImageFolder(bank_root), t)
    test = TransformDataset(SafeImageFolder(test_root), t)
    torch.manual_seed(seed)
    random_net = ResNetBackbone("resnet18", cifar_stem=True, width_multiplier=width_multiplier)
    knn_pre = knn_evaluate(trained.backbone, bank, test, k=200, temperature=0.1)
    knn_rand = knn_evaluate(random_net, bank, test, k=200, temperature=0.1)
    return {
        "benchmark": "cifar_small_scale",
        "arch": f"resnet18 (CIFAR stem) x{width_multiplier} width",
        "pretrain_images": n_train,
        "knn_bank_images": knn_pre["n_train"],
        "test_images": knn_pre["n_test"],
        "batch_size": batch_size,
        "crops": str(MultiCropTransform(cfg.crops)),
        "color_strength": color_strength,
        "optimizer": f"{cfg.optim.name} lr {cfg.optim.base_lr} wd {cfg.optim.weight_decay}",
        "n_prototypes": n_prototypes,
        "epochs": epochs,
        "threads": threads,
        "pretrain_s": pretrain_s,
        "final_loss": result.history[-1]["loss"] if result.history else None,
        "knn_pretrained": {"top1": knn_pre["top1"], "top5": knn_pre["top5"]},
        "knn_random": {"top1": knn_rand["top1"], "top5": knn_rand["top5"]},
    }


# ---------------------------------------------------------------------------------------------
# Throughput
# ---------------------------------------------------------------------------------------------
def _train_step_fn(model, opt, swav: SwAVConfig, device: torch.device, precision: str):
    """The trainer's own step (:class:`~swav_ts.core.step.SwAVStep`) on ready-made views."""
    swav_step = SwAVStep(model, opt, swav, device, precision=precision)
    generator = torch.Generator(device=device)
    iteration = swav.freeze_prototypes_iters  # past the freeze: every parameter trains

    def step(views: list[torch.Tensor]) -> torch.Tensor:
        return swav_step(views, iteration, opt.param_groups[0]["lr"], generator).loss

    return step


def gpu_throughput(
    device: str = "cuda",
    quick: bool = False,
    batch_size: int = 64,
    arch: str = "resnet50",
    precision: str = "bf16",
    channels_last: bool = True,
    num_workers: int | None = None,
    iters: int = 30,
    warmup_iters: int = 5,
    max_seconds_per_phase: float = 150.0,
    jpeg_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Training images/s: synthetic tensors (model only), JPEG pipeline only, both together.

    The JPEG phases decode the shared CIFAR-10 JPEGs (32x32, so decoding is cheap; resizing
    to 224 and the colour/blur augmentations dominate the CPU cost). Each phase stops at
    ``iters`` timed iterations or ``max_seconds_per_phase``. ``quick``: a tiny network and
    crops (2x64 + 2x32), batch 8, 3 iterations: a smoke test for CPU.
    """
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device cuda requested but no CUDA device is available")
    if quick:
        crops = CropsConfig(
            n_crops=[2, 2],
            size_crops=[64, 32],
            min_scale=[0.14, 0.05],
            max_scale=[1.0, 0.14],
            blur_kernel_size=9,
        )
        model_cfg = ModelConfig(
            arch="resnet18", width_multiplier=0.125, channels_last=channels_last
        )
        swav = SwAVConfig(n_prototypes=30, feat_dim=16, hidden_mlp=32)
        batch_size, iters, warmup_iters = 8, 3, 1
    else:
        crops = CropsConfig()
        model_cfg = ModelConfig(arch=arch, channels_last=channels_last)
        swav = SwAVConfig()
    if num_workers is None:
        num_workers = 0 if quick else min(16, os.cpu_count() or 1)
    cfg = ImageConfig(swav=swav, model=model_cfg, crops=crops)
    torch.manual_seed(0)
    model = build_image_model(cfg).to(dev)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    step = _train_step_fn(model, opt, swav, dev, precision)
    n_views = sum(crops.n_crops)
    out: dict[str, Any] = {
        "benchmark": "gpu_throughput",
        "device": str(dev),
        "arch": model_cfg.arch,
        "crops": " + ".join(f"{n}x{s}" for n, s in zip(crops.n_crops, crops.size_crops)),
        "batch_size": batch_size,
        "precision": precision,
        "channels_last": channels_last,
        "num_workers": num_workers,
        "quick": quick,
    }
    if dev.type == "cuda":
        out["device_name"] = torch.cuda.get_device_name(dev)
    sync = device_sync(dev)

    def timed(batches, use_model: bool) -> tuple[float, int]:
        n_done, t_start = 0, None
        for i, views in enumerate(batches):
            if use_model:
                views = [v.to(dev, non_blocking=True) for v in views]
                step(views)
            if i + 1 == warmup_iters:
                sync()
                t_start = time.perf_counter()
            elif i + 1 > warmup_iters:
                n_done += 1
                if n_done >= iters or time.perf_counter() - t_start > max_seconds_per_phase:
                    break
        sync()
        return time.perf_counter() - (t_start or time.perf_counter()), n_done

    # ---- (1) synthetic tensors, already on the device: model throughput only
    synth = [
        torch.randn(batch_size, 3, s, s, device=dev)
        for n, s in zip(crops.n_crops, crops.size_crops)
        for _ in range(n)
    ]
    elapsed, n = timed((synth for _ in range(warmup_iters + iters)), use_model=True)
    out["synthetic_img_s"] = n * batch_size / elapsed if n else float("nan")

    # ---- (2) JPEG decode + multi-crop only, (3) end to end
    jpeg_root = Path(jpeg_dir) if jpeg_dir else None
    if jpeg_root is None:
        zip_path = shared_cifar10_dir() / "train.zip"
        if zip_path.is_file():
            jpeg_root = extract_image_zip(zip_path, _cifar_cache(), 20 if quick else 500)
    if jpeg_root is not None:
        ds = TransformDataset(SafeImageFolder(jpeg_root), MultiCropTransform(crops))
        loader_kw = dict(
            batch_size=batch_size,
            shuffle=True,
            num_workers=num_workers,
            drop_last=True,
            pin_memory=dev.type == "cuda",
            persistent_workers=num_workers > 0,
        )
        if num_workers > 0:
            loader_kw["prefetch_factor"] = 4
        loader = DataLoader(ds, **loader_kw)

        def batches():
            while True:
                for views, _ in loader:
                    yield views

        elapsed, n = timed(batches(), use_model=False)
        out["jpeg_pipeline_img_s"] = n * batch_size / elapsed if n else float("nan")
        elapsed, n = timed(batches(), use_model=True)
        out["end_to_end_jpeg_img_s"] = n * batch_size / elapsed if n else float("nan")
        out["jpeg_images"] = len(ds)
    out["views_per_image"] = n_views
    return out


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------
def _table(result: dict[str, Any]) -> str:
    rows = []
    for key, value in result.items():
        if isinstance(value, dict):
            value = ", ".join(
                f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in value.items()
            )
        rows.append({"result": key, "value": value})
    return format_table(rows)


def main(argv: list[str] | None = None) -> int:
    """``cifar`` or ``throughput`` benchmark; prints a table and writes JSON (``--out``)."""
    parser = argparse.ArgumentParser(prog="swav-ts bench")
    sub = parser.add_subparsers(dest="which", required=True)
    c = sub.add_parser("cifar", help="small-scale CIFAR-10 pretrain + kNN vs random init")
    cifar_kwargs = add_options(
        c,
        cifar_small_scale,
        names={
            "pretrain_minutes": "minutes",
            "width_multiplier": "width",
            "n_prototypes": "prototypes",
        },
        helps={"pretrain_minutes": "pretraining budget", "local_crops": "16 px crops besides 2x32"},
    )
    c.add_argument("--out", default=None)
    t = sub.add_parser("throughput", help="images/s of the 2x224 + 6x96 recipe")
    throughput_kwargs = add_options(t, gpu_throughput, skip=("warmup_iters", "jpeg_dir"))
    t.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    output_file(args.out, "--out")  # before the run, not after it
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if args.which == "cifar":
        result = cifar_small_scale(**cifar_kwargs(args))
    else:
        result = gpu_throughput(**throughput_kwargs(args))
    text = _table(result)
    sys.stdout.write(text + "\n")
    write_json(result, args.out, "--out")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
