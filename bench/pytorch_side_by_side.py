#!/usr/bin/env python3
"""danlu beside PyTorch on the same training config, device and data, in one run.

    /usr/bin/python3 bench/pytorch_side_by_side.py [--configs CONFIG.json ...]
        [--device cpu|cuda] [--steps N] [--warmup N] [--repeats N] [--threads N]
        [--danlu build/default/danlu] [--set key.path=value ...] [--json OUT]
        [--compile] [--full [--target 0.93]]
    /usr/bin/python3 bench/pytorch_side_by_side.py --check-model MODEL_PARAMETERS
        --configs CONFIG.json ...

Each danlu config (configs/*.json) is translated into PyTorch: the layer list
or preset with its init rules, the optimizer, the scheduler, batch size,
augmentation (as plain tensor ops per batch), normalisation and label
smoothing; a feature the translation lacks is an error naming it. The
PyTorch training steps are timed in eager mode (and with --compile also with
torch.compile, where the installed torch has it: a cold compile takes minutes
on a GPU), and `danlu train CONFIG --bench-steps N` runs on
the same device right after, so both see the same machine load. Prints
images/s for both and the ratio danlu / PyTorch (higher is better for danlu).

--full trains both from scratch, evaluating on the test set every epoch, and
reports the wall time from launch to the first evaluation at --target test
accuracy (or the config's last epoch when never reached).

--check-model compares each translated model with the one danlu builds
(MODEL_PARAMETERS is the tests' model_parameters program): every parameter's
name and shape, and its init mean and std within sampling error. It is the
bench.side_by_side_models test. Exits 77 without PyTorch.
"""
import argparse
import copy
import gzip
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import OrderedDict

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import numpy as np
except ImportError as missing:
    print(f"skipped: {missing.name} is not installed (Debian: python3-torch)", file=sys.stderr)
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# train/config.cpp's default_config(): every key a config may set.
DEFAULT_CONFIG = {
    "model": {"preset": "fashion_cnn"},
    "data": {
        "dataset": "fashion_mnist", "path": "", "train_limit": 0, "test_limit": 0,
        "normalize": True, "mean": [], "std": [],
        "augmentation": {"random_crop": False, "crop_padding": 4, "horizontal_flip": False,
                         "random_erasing": False, "erasing_p": 0.5},
        "num_workers": 1,
    },
    "batch_size": 128, "eval_batch_size": 1000, "epochs": 10, "max_steps": 0,
    "optimizer": {"type": "SGD", "lr": 0.05, "momentum": 0.9, "weight_decay": 0.0005},
    "param_groups": [], "scheduler": None, "label_smoothing": 0.0,
    "clip_grad_norm": 0.0, "clip_grad_value": 0.0, "seed": 0, "eval_every": 1,
    "log_every": 50, "checkpoint_every": 1,
    "early_stopping": {"metric": "test_accuracy", "patience": 0, "min_delta": 0.0},
    "freeze": [], "pretrained": "", "device": "auto",
}
FREE_FORM = {"model", "optimizer", "scheduler", "param_groups"}
# Keys that change training but have no translation here, with their "off" values.
UNTRANSLATED = {"param_groups": [], "freeze": [], "pretrained": ""}
# Statistics of train/config.cpp (engine/io/idx.h, engine/io/cifar10.h).
DATASET_STATS = {"fashion_mnist": ([0.2860], [0.3530]), "mnist": ([0.1307], [0.3081]),
                 "cifar10": ([0.4914, 0.4822, 0.4465], [0.2470, 0.2435, 0.2616])}
# As danlu: DANLU_DATA_DIR when set, else where dataset-fashion-mnist installs it.
FASHION_MNIST_DIR = os.environ.get("DANLU_DATA_DIR") or "/usr/share/datasets/fashion-mnist"


class ConfigError(Exception):
    """A config feature this script cannot translate, named by its JSON path."""


# ---- config ------------------------------------------------------------------

def merge(into, user, path=""):
    """danlu's merge: objects key by key, free-form sections replaced whole."""
    for key, value in user.items():
        at = f"{path}.{key}" if path else key
        if key not in into:
            raise ConfigError(f"{at}: unknown key; expected one of {', '.join(into)}")
        if at not in FREE_FORM and isinstance(into[key], dict) and isinstance(value, dict):
            merge(into[key], value, at)
        else:
            into[key] = value


def apply_override(config, assignment):
    """--set key.path=value as danlu does it: JSON or else a string; numbers index lists."""
    path, _, text = assignment.partition("=")
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = text
    *parents, last = path.split(".")
    node = config
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    node[int(last) if isinstance(node, list) else last] = value


def load_config(path, overrides=()):
    """The config with danlu's defaults filled in; refuses untranslated features."""
    with open(path) as f:
        user = json.load(f)
    for assignment in overrides:
        apply_override(user, assignment)
    config = copy.deepcopy(DEFAULT_CONFIG)
    merge(config, user)
    unsupported = [key for key, off in UNTRANSLATED.items() if config[key] != off]
    if config["early_stopping"]["patience"]:
        unsupported.append("early_stopping.patience")
    if config["data"]["dataset"] not in DATASET_STATS:
        unsupported.append(f"data.dataset={config['data']['dataset']}")
    if unsupported:
        raise ConfigError(f"{path}: no PyTorch translation for {', '.join(unsupported)}")
    return config


# ---- model -------------------------------------------------------------------

class BasicBlock(nn.Module):
    """torchvision's ResNet BasicBlock, as layers/basic_block.cpp."""

    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False),
                                            nn.BatchNorm2d(planes))

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + (self.downsample(x) if self.downsample is not None else x))


class PatchEmbedding(nn.Module):
    """layers/vit.h: a conv with stride = patch size, its positions as tokens (N, T, D)."""

    def __init__(self, in_channels, embed_dim, patch_size):
        super().__init__()
        self.proj = nn.Conv2d(in_channels, embed_dim, patch_size, stride=patch_size)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class ClassToken(nn.Module):
    """layers/vit.h: a learned token (zeros at first) put before the others."""

    def __init__(self, embed_dim):
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))

    def forward(self, x):
        return torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], 1)


class PositionalEmbedding(nn.Module):
    """layers/vit.h: learned positions, N(0, 0.02^2) as torchvision's ViT."""

    def __init__(self, num_tokens, embed_dim):
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.empty(1, num_tokens, embed_dim).normal_(std=0.02))

    def forward(self, x):
        return x + self.pos_embedding


class TakeClassToken(nn.Module):
    """layers/vit.h: the class token's features, (N, T, D) -> (N, D)."""

    def forward(self, x):
        return x[:, 0]


def transformer_encoder(num_layers, final_norm=False, **layer):
    """layers/transformer.h's TransformerEncoder: num_layers layers, then LayerNorm if asked."""
    norm = nn.LayerNorm(layer["d_model"], eps=layer.get("layer_norm_eps", 1e-5))
    return nn.TransformerEncoder(nn.TransformerEncoderLayer(**layer), num_layers,
                                 norm if final_norm else None)


# layers/builder.cpp's layer types, which take PyTorch's class and argument names.
TORCH_LAYERS = {"Linear", "Conv2d", "BatchNorm1d", "BatchNorm2d", "LayerNorm", "ReLU",
                "LeakyReLU", "ELU", "GELU", "SiLU", "Sigmoid", "Tanh", "MaxPool2d",
                "AvgPool2d", "AdaptiveAvgPool2d", "Dropout", "Flatten",
                "TransformerEncoderLayer"}
# danlu's own layer types, as the modules above.
DANLU_LAYERS = {"BasicBlock": BasicBlock, "PatchEmbedding": PatchEmbedding,
                "ClassToken": ClassToken, "PositionalEmbedding": PositionalEmbedding,
                "TakeClassToken": TakeClassToken, "TransformerEncoder": transformer_encoder}


def make_layer(spec, path):
    args = {k: v for k, v in spec.items() if k != "type"}
    kind = spec.get("type")
    if kind in DANLU_LAYERS:
        make = DANLU_LAYERS[kind]
    elif kind in TORCH_LAYERS:
        make = getattr(nn, kind)
    else:
        raise ConfigError(f"{path}.type: no PyTorch translation for layer {kind!r}")
    try:
        return make(**args)
    except TypeError as e:
        raise ConfigError(f"{path}: {kind}: {e}") from None


def fashion_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 10))


def resnet20(num_classes=10, in_channels=3):
    layers = OrderedDict(conv1=nn.Conv2d(in_channels, 16, 3, padding=1, bias=False),
                         bn1=nn.BatchNorm2d(16), relu=nn.ReLU())
    inplanes = 16
    for stage in range(3):
        planes = 16 << stage
        blocks = []
        for block in range(3):
            blocks.append(BasicBlock(inplanes, planes, 2 if stage and not block else 1))
            inplanes = planes
        layers[f"layer{stage + 1}"] = nn.Sequential(*blocks)
    layers.update(avgpool=nn.AdaptiveAvgPool2d(1), flatten=nn.Flatten(),
                  fc=nn.Linear(64, num_classes))
    return nn.Sequential(layers)


def mlp(in_features, hidden, num_classes, activation="ReLU", dropout=0.0):
    layers, width = [nn.Flatten()], in_features
    for h in hidden:
        layers += [nn.Linear(width, h), getattr(nn, activation)()]
        layers += [nn.Dropout(dropout)] if dropout > 0 else []
        width = h
    return nn.Sequential(*layers, nn.Linear(width, num_classes))


PRESETS = {"fashion_cnn": fashion_cnn, "resnet20": resnet20, "mlp": mlp}

# nn.init's function and the keys layers/builder.cpp's rule takes, per scheme.
INIT_SCHEMES = {
    "xavier_uniform": (nn.init.xavier_uniform_, ("gain",)),
    "xavier_normal": (nn.init.xavier_normal_, ("gain",)),
    "kaiming_uniform": (nn.init.kaiming_uniform_, ("a", "mode", "nonlinearity")),
    "kaiming_normal": (nn.init.kaiming_normal_, ("a", "mode", "nonlinearity")),
    "normal": (nn.init.normal_, ("mean", "std")),
    "uniform": (nn.init.uniform_, ("a", "b")),
    "trunc_normal": (nn.init.trunc_normal_, ("mean", "std", "a", "b")),
    "zeros": (nn.init.zeros_, ()),
}
NORM_TYPES = ("BatchNorm1d", "BatchNorm2d", "LayerNorm")


def init_function(rule, path):
    """The rule as a function of one module; PyTorch's own init is danlu's default."""
    scheme = rule.get("scheme")
    if scheme == "default":
        return lambda m: None
    if scheme not in INIT_SCHEMES:
        raise ConfigError(f"{path}.scheme: no PyTorch translation for {scheme!r}")
    fn, keys = INIT_SCHEMES[scheme]
    extra = set(rule) - {"scheme", *keys}
    if extra:
        raise ConfigError(f"{path}: unknown keys {sorted(extra)} for {scheme}")
    args = {k: rule[k] for k in keys if k in rule}

    def apply(m):
        fn(m.weight, **args)
        if m.bias is not None:
            nn.init.zeros_(m.bias)  # every scheme but default zeroes the bias
    return apply


def norm_init_function(rule):
    """A norm layer's constant weight and bias (defaults 1 and 0)."""
    def apply(m):
        if m.weight is not None:
            nn.init.constant_(m.weight, rule.get("weight", 1.0))
        if m.bias is not None:
            nn.init.constant_(m.bias, rule.get("bias", 0.0))
    return apply


def apply_init(model, rules, path):
    actions = {}
    for kind, rule in rules.items():
        at = f"{path}.{kind}"
        if kind in ("Linear", "Conv2d"):
            actions[kind] = init_function(rule, at)
        elif kind in NORM_TYPES and set(rule) <= {"weight", "bias"}:
            actions[kind] = norm_init_function(rule)
        else:
            raise ConfigError(f"{at}: no PyTorch translation for this init rule")
    for m in model.modules():
        if type(m).__name__ in actions:
            actions[type(m).__name__](m)


def build_model(spec):
    """The PyTorch network of a config's "model" section (layers/builder.h)."""
    spec = dict(spec)
    rules = spec.pop("init", {})
    spec.pop("input_shape", None)  # danlu's build-time shape check only
    if "layers" in spec:
        layers = spec.pop("layers")
        model = nn.Sequential(*(make_layer(l, f"model.layers[{i}]") for i, l in enumerate(layers)))
    else:
        name = spec.pop("preset", None)
        if name not in PRESETS:
            raise ConfigError(f"model.preset: no PyTorch translation for {name!r}")
        try:
            model = PRESETS[name](**spec)
        except TypeError as e:
            raise ConfigError(f"model: preset {name}: {e}") from None
        spec = {}
    if spec:
        raise ConfigError(f"model: no PyTorch translation for {', '.join(spec)}")
    apply_init(model, rules, "model.init")
    return model


# ---- optimizer and scheduler -------------------------------------------------

OPTIMIZERS = ("SGD", "Adam", "AdamW", "Adagrad", "Adadelta", "RMSprop")
SCHEDULERS = ("LinearLR", "CosineAnnealingLR", "StepLR", "MultiStepLR", "ExponentialLR",
              "ConstantLR")


def build_optimizer(spec, params):
    args = dict(spec)
    kind = args.pop("type", "SGD")
    if kind not in OPTIMIZERS:
        raise ConfigError(f"optimizer.type: no PyTorch translation for {kind!r}")
    try:
        return getattr(torch.optim, kind)(params, **args)
    except TypeError as e:
        raise ConfigError(f"optimizer: {kind}: {e}") from None


def build_scheduler(spec, optimizer, path="scheduler"):
    """A torch scheduler from a danlu spec (the PyTorch class and argument names)."""
    args = dict(spec)
    kind = args.pop("type", None)
    lr_scheduler = torch.optim.lr_scheduler
    try:
        if kind == "SequentialLR":
            children = [build_scheduler(s, optimizer, f"{path}.schedulers[{i}]")
                        for i, s in enumerate(args.pop("schedulers"))]
            return lr_scheduler.SequentialLR(optimizer, children, **args)
        if kind in SCHEDULERS:
            return getattr(lr_scheduler, kind)(optimizer, **args)
    except (TypeError, KeyError) as e:
        raise ConfigError(f"{path}: {kind}: {e}") from None
    raise ConfigError(f"{path}.type: no PyTorch translation for {kind!r}")


class Schedule:
    """Steps a scheduler once per iteration, or once per epoch with "interval": "epoch"."""

    def __init__(self, spec, optimizer, steps_per_epoch):
        self.every, self.count, self.scheduler = 1, 0, None
        if spec is None:
            return
        spec = dict(spec)
        interval = spec.pop("interval", "step")
        per_epoch = spec.pop("iterations_per_epoch", steps_per_epoch)
        if interval not in ("step", "epoch"):
            raise ConfigError(f"scheduler.interval: no PyTorch translation for {interval!r}")
        self.every = per_epoch if interval == "epoch" else 1
        self.scheduler = build_scheduler(spec, optimizer)

    def step(self):
        self.count += 1
        if self.scheduler is not None and self.count % self.every == 0:
            self.scheduler.step()


# ---- data --------------------------------------------------------------------

def read_idx(path):
    """An IDX file (plain or gzip) as a uint8 array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_mnist(folder, split):
    def find(base):
        path = os.path.join(folder, base)
        return path + ".gz" if os.path.exists(path + ".gz") else path
    images = read_idx(find(f"{split}-images-idx3-ubyte"))[:, None]
    return images, read_idx(find(f"{split}-labels-idx1-ubyte"))


def load_cifar10(folder, train):
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] if train else ["test_batch.bin"]
    records = np.concatenate([np.fromfile(os.path.join(folder, n), np.uint8).reshape(-1, 3073)
                              for n in names])
    return records[:, 1:].reshape(-1, 3, 32, 32), records[:, 0]


def load_split(data, train, device):
    """(images in [0, 1], labels) of one split on `device`, as train/data.cpp loads them."""
    folder = data["path"] or FASHION_MNIST_DIR
    if data["dataset"] == "cifar10":
        images, labels = load_cifar10(folder, train)
    else:
        images, labels = load_mnist(folder, "train" if train else "t10k")
    limit = data["train_limit" if train else "test_limit"] or len(labels)
    x = torch.from_numpy(images[:limit].copy()).to(device).float().div_(255)
    return x, torch.from_numpy(labels[:limit].astype(np.int64)).to(device)


def normalization(data):
    if not data["normalize"]:
        return None
    mean, std = data["mean"], data["std"]
    return (mean, std) if mean or std else DATASET_STATS[data["dataset"]]


def normalize(x, norm):
    if norm is None:
        return x
    mean, std = (torch.tensor(v, device=x.device).view(1, -1, 1, 1) for v in norm)
    return (x - mean) / std


def random_crop(x, padding, gen):
    """RandomCrop(size, padding): each image's window of its zero-padded copy."""
    n, _, h, w = x.shape
    padded = F.pad(x, (padding,) * 4)
    top, left = (torch.randint(0, 2 * padding + 1, (n, 1), generator=gen, device=x.device)
                 for _ in range(2))
    rows = (top + torch.arange(h, device=x.device))[:, :, None]
    cols = (left + torch.arange(w, device=x.device))[:, None, :]
    index = torch.arange(n, device=x.device)[:, None, None]
    return padded[index, :, rows, cols].permute(0, 3, 1, 2).contiguous()


def random_erasing(x, p, gen, scale=(0.02, 0.33), ratio=(0.3, 3.3), attempts=10):
    """RandomErasing(p, scale, ratio, value=0): the first of 10 drawn boxes that fits."""
    n, _, h, w = x.shape
    uniform = lambda lo, hi, shape: torch.rand(shape, generator=gen, device=x.device) * (hi - lo) + lo
    area = h * w * uniform(*scale, (n, attempts))
    aspect = torch.exp(uniform(math.log(ratio[0]), math.log(ratio[1]), (n, attempts)))
    bh, bw = torch.round(torch.sqrt(area * aspect)), torch.round(torch.sqrt(area / aspect))
    fits = (bh < h) & (bw < w)
    first = fits.int().argmax(1, keepdim=True)
    bh, bw = bh.gather(1, first), bw.gather(1, first)
    erase = (uniform(0, 1, (n, 1)) < p) & fits.any(1, keepdim=True)
    top = torch.floor(uniform(0, 1, (n, 1)) * (h - bh + 1))
    left = torch.floor(uniform(0, 1, (n, 1)) * (w - bw + 1))
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    inside = ((ys >= top[:, :, None]) & (ys < (top + bh)[:, :, None]) &
              (xs >= left[:, :, None]) & (xs < (left + bw)[:, :, None]))
    return x.masked_fill((erase[:, :, None] & inside)[:, None], 0.0)


def transform(x, aug, norm, gen):
    """engine/io/augment.h's order: crop, flip, normalise, erase."""
    if aug["random_crop"]:
        x = random_crop(x, aug["crop_padding"], gen)
    if aug["horizontal_flip"]:
        flip = torch.rand(len(x), generator=gen, device=x.device) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
    x = normalize(x, norm)
    if aug["random_erasing"]:
        x = random_erasing(x, aug["erasing_p"], gen)
    return x


# ---- training ----------------------------------------------------------------

class Run:
    """One config's model, optimizer, schedule, loss and data on a device."""

    def __init__(self, config, device, data=None):
        self.config, self.device = config, device
        torch.manual_seed(config["seed"])
        self.model = build_model(config["model"]).to(device).train()
        self.optimizer = build_optimizer(config["optimizer"], self.model.parameters())
        self.loss = nn.CrossEntropyLoss(label_smoothing=config["label_smoothing"])
        self.data = data or load_split(config["data"], True, device)
        self.norm = normalization(config["data"])
        n, batch = len(self.data[1]), config["batch_size"]
        self.steps_per_epoch = n // batch if n >= batch else 1  # drop_last, as danlu
        self.schedule = Schedule(config["scheduler"], self.optimizer, self.steps_per_epoch)
        self.gen = torch.Generator(device=device)
        self.gen.manual_seed(config["seed"])
        self.step_fn = self.model

    def epoch(self):
        """The batches of one shuffled epoch, augmented and normalised."""
        images, labels = self.data
        batch = self.config["batch_size"]
        order = torch.randperm(len(labels), generator=self.gen, device=self.device)
        for i in range(self.steps_per_epoch):
            idx = order[i * batch:(i + 1) * batch]
            yield transform(images[idx], self.config["data"]["augmentation"], self.norm,
                            self.gen), labels[idx]

    def step(self, x, y):
        self.optimizer.zero_grad(set_to_none=True)
        self.loss(self.step_fn(x), y).backward()
        if self.config["clip_grad_value"] > 0:  # value, then norm, as train/step.cpp
            nn.utils.clip_grad_value_(self.model.parameters(), self.config["clip_grad_value"])
        if self.config["clip_grad_norm"] > 0:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.config["clip_grad_norm"])
        self.optimizer.step()
        self.schedule.step()

    def batches(self):
        while True:
            yield from self.epoch()

    @torch.no_grad()
    def accuracy(self, test):
        self.model.eval()
        images, labels = test
        batch, correct = self.config["eval_batch_size"], 0
        for i in range(0, len(labels), batch):
            x = normalize(images[i:i + batch], self.norm)
            correct += (self.model(x).argmax(1) == labels[i:i + batch]).sum().item()
        self.model.train()
        return correct / len(labels)


def synchronize(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_steps(run, steps, warmup):
    """Images/s over `steps` training steps after `warmup` untimed ones."""
    batches = run.batches()
    for i in range(warmup + steps):
        if i == warmup:
            synchronize(run.device)
            start = time.perf_counter()
        run.step(*next(batches))
    synchronize(run.device)
    return run.config["batch_size"] * steps / (time.perf_counter() - start)


def compile_unavailable():
    """Why torch.compile cannot be timed here, or None when it can."""
    if not hasattr(torch, "compile"):
        return f"torch.compile: not available in torch {torch.__version__}"
    return None


def time_compiled(config, device, data, steps, warmup):
    """(images/s, None) with torch.compile, or (None, why not)."""
    why = compile_unavailable()
    if why:
        return None, why
    run = Run(config, device, data)
    try:
        run.step_fn = torch.compile(run.model)
        return time_steps(run, steps, max(warmup, 3)), None  # the first steps compile
    except Exception as e:  # a backend that cannot compile this model here
        return None, f"torch.compile failed: {type(e).__name__}: {str(e).splitlines()[0]}"


def torch_full(config, device, target):
    """Trains a fresh PyTorch run, evaluating every epoch; stops at `target`."""
    start = time.perf_counter()
    run = Run(config, device)
    test = load_split(config["data"], False, device)
    max_steps, steps, history = config["max_steps"], 0, []
    for epoch in range(config["epochs"] or sys.maxsize):
        for x, y in run.epoch():
            run.step(x, y)
            steps += 1
            if steps == max_steps:
                break
        history.append((epoch + 1, run.accuracy(test), time.perf_counter() - start))
        if history[-1][1] >= target or steps == max_steps:
            break
    return summarize(history, target)


def summarize(history, target):
    """history: (epoch, test accuracy, seconds since launch) per evaluation."""
    reached = next((h for h in history if h[1] >= target), None)
    return {"epochs": history[-1][0] if history else 0,
            "best_accuracy": max((h[1] for h in history), default=None),
            "epoch_to_target": reached[0] if reached else None,
            "seconds_to_target": reached[2] if reached else None,
            "seconds": history[-1][2] if history else None}


# ---- danlu -------------------------------------------------------------------

def danlu_env(threads):
    return dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))


def danlu_device(device):
    return "cuda:0" if device == "cuda" else device


def danlu_bench(args, config_path):
    """`danlu train --bench-steps`'s JSON result, or (None, why)."""
    cmd = [args.danlu, "train", config_path, "--bench-steps", str(args.steps),
           "--warmup-steps", str(args.warmup), "--device", danlu_device(args.device)]
    for assignment in args.set:
        cmd += ["--set", assignment]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=danlu_env(args.threads))
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        said = [l for l in proc.stderr.splitlines() if l.strip() and "--help" not in l]
        why = said[-1] if said else f"exit {proc.returncode}"
        return None, f"danlu train --bench-steps: {why}"
    return json.loads(lines[-1]), None


def danlu_full(args, config_path, target):
    """Runs `danlu train` and reads its epochs from metrics.jsonl as they appear."""
    with tempfile.TemporaryDirectory(prefix="danlu-side-by-side-") as out:
        cmd = [args.danlu, "train", config_path, "--device", danlu_device(args.device),
               "--out", out, "--set", "eval_every=1"]
        for assignment in args.set:
            cmd += ["--set", assignment]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                env=danlu_env(args.threads))
        history, seen = [], 0
        while True:
            done = proc.poll() is not None
            records = read_records(os.path.join(out, "metrics.jsonl"))
            for r in records[seen:]:
                if r.get("kind") == "epoch" and "test_accuracy" in r:
                    history.append((r["epoch"], r["test_accuracy"], time.perf_counter() - start))
            seen = len(records)
            if done or (history and history[-1][1] >= target):
                break
            time.sleep(0.2)
        if not done:
            proc.terminate()
        _, err = proc.communicate()
        if done and proc.returncode != 0:
            raise RuntimeError(f"danlu train failed: {err.strip()}")
    return summarize(history, target)


def read_records(path):
    """The complete lines of a metrics.jsonl being written."""
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.split("\n")[:-1] if line]


# ---- the commands ------------------------------------------------------------

def check_model(args):
    """Compares each config's PyTorch model with danlu's; returns the exit status."""
    failures = 0
    for path in args.configs:
        config = load_config(path, args.set)
        torch.manual_seed(config["seed"])  # the same PyTorch draws every run
        model = build_model(config["model"])
        # The optimizer and scheduler are translated too, so their errors show here.
        Schedule(config["scheduler"], build_optimizer(config["optimizer"], model.parameters()), 1)
        ours = json.loads(subprocess.run([args.check_model, path], check=True, capture_output=True,
                                         text=True).stdout)
        theirs = dict(model.named_parameters())
        problems = [f"{name}: only in {'danlu' if name in ours else 'PyTorch'}"
                    for name in sorted(set(ours) ^ set(theirs))]
        for name in sorted(set(ours) & set(theirs)):
            problems += parameter_problems(name, ours[name], theirs[name].detach().double())
        count = lambda shapes: sum(math.prod(s) for s in shapes)
        print(f"{os.path.basename(path)}: {count(p.shape for p in theirs.values())} parameters in "
              f"PyTorch, {count(p['shape'] for p in ours.values())} in danlu"
              + "".join(f"\n  {p}" for p in problems))
        failures += bool(problems)
    return 1 if failures else 0


def parameter_problems(name, ours, theirs):
    """Shape, then init mean and std within five standard errors of their difference.

    Both sides are samples of n draws: each mean has a standard error of
    std / sqrt(n) and each std one of std / sqrt(2 n), so their differences
    have sqrt(2) times those."""
    if list(theirs.shape) != ours["shape"]:
        return [f"{name}: shape {list(theirs.shape)} in PyTorch, {ours['shape']} in danlu"]
    n, std = theirs.numel(), theirs.std(unbiased=False).item()
    mean_error = math.sqrt(2) * ours["std"] / math.sqrt(n)
    std_error = ours["std"] / math.sqrt(n)
    mean_ok = abs(theirs.mean().item() - ours["mean"]) <= 5 * mean_error + 1e-6
    std_ok = abs(std - ours["std"]) <= 5 * std_error + 1e-6
    if mean_ok and std_ok:
        return []
    return [f"{name}: init mean {theirs.mean().item():.4g} std {std:.4g} in PyTorch, "
            f"mean {ours['mean']:.4g} std {ours['std']:.4g} in danlu"]


def bench(args, path):
    """One config timed on both sides (medians over --repeats, alternating)."""
    config = load_config(path, args.set)
    data = load_split(config["data"], True, args.device)
    result = {"config": os.path.basename(path), "device": args.device,
              "batch_size": config["batch_size"], "steps": args.steps, "notes": []}
    ours, theirs = [], []
    for _ in range(args.repeats):
        theirs.append(time_steps(Run(config, args.device, data), args.steps, args.warmup))
        danlu, why = danlu_bench(args, path)
        if danlu:
            ours.append(danlu["images_per_second"])
            result["danlu"] = danlu
        elif why not in result["notes"]:
            result["notes"].append(why)
    result.update(danlu_runs=ours, torch_runs=theirs)
    result["danlu_images_per_second"] = statistics.median(ours) if ours else None
    result["torch_images_per_second"] = statistics.median(theirs)
    if args.compile:
        compiled, why = time_compiled(config, args.device, data, args.steps, args.warmup)
        result["compile_images_per_second"] = compiled
        result["notes"] += [why] if why else []
    else:
        result["compile_images_per_second"] = None
    if args.full:
        result["danlu_full"] = danlu_full(args, path, args.target)
        result["torch_full"] = torch_full(config, args.device, args.target)
    return result


def ratio(result):
    ours, theirs = result["danlu_images_per_second"], result["torch_images_per_second"]
    return ours / theirs if ours else None


def print_table(results, target):
    header = ("config", "device", "danlu img/s", "PyTorch eager img/s", "danlu/PyTorch",
              "compile img/s")
    fmt = lambda v, spec: "n/a" if v is None else format(v, spec)
    rows = [(r["config"], r["device"], fmt(r["danlu_images_per_second"], ".1f"),
             fmt(r["torch_images_per_second"], ".1f"), fmt(ratio(r), ".2f"),
             fmt(r["compile_images_per_second"], ".1f")) for r in results]
    widths = [max(len(row[i]) for row in [header] + rows) for i in range(len(header))]
    for row in [header] + rows:
        print("  ".join(cell.ljust(w) if i < 2 else cell.rjust(w)
                        for i, (cell, w) in enumerate(zip(row, widths))))
    for note in dict.fromkeys(n for r in results for n in r["notes"]):
        print(note)
    for r in results:
        if "danlu_full" in r:
            for side in ("danlu", "torch"):
                f = r[f"{side}_full"]
                to_target = (f"{f['seconds_to_target']:.0f} s (epoch {f['epoch_to_target']})"
                             if f["seconds_to_target"] else "not reached")
                print(f"{r['config']} {side}: {target:.0%} test accuracy in {to_target}; "
                      f"best {f['best_accuracy']:.2%} after {f['epochs']} epochs")


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cores": os.cpu_count(), "torch": torch.__version__,
            "date": time.strftime("%Y-%m-%d")}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=[
        os.path.join(ROOT, "configs", "fashion_cnn.json"),
        os.path.join(ROOT, "configs", "fashion_resnet20.json")])
    parser.add_argument("--device", choices=("cpu", "cuda"),
                        default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, help="timed steps (default 50 on a GPU, 10 on the CPU)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first, both sides")
    parser.add_argument("--repeats", type=int, default=1,
                        help="alternate the two sides this many times and take medians")
    parser.add_argument("--danlu", help="the danlu binary (default build/default/danlu, "
                                        "else build/cpu/danlu)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="CPU threads for both (default: every core, as danlu's OpenMP)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a config override for both sides, as danlu train --set")
    parser.add_argument("--json", help="write every result to this file")
    parser.add_argument("--compile", action="store_true",
                        help="also time PyTorch with torch.compile (minutes on a cold cache)")
    parser.add_argument("--full", action="store_true",
                        help="also train both from scratch and time them to --target")
    parser.add_argument("--target", type=float, default=0.93, help="test accuracy for --full")
    parser.add_argument("--check-model", metavar="MODEL_PARAMETERS",
                        help="compare the translated models with danlu's and exit")
    args = parser.parse_args()
    args.steps = args.steps or (50 if args.device == "cuda" else 10)
    if not args.danlu:
        built = [os.path.join(ROOT, "build", b, "danlu") for b in ("default", "cpu")]
        args.danlu = next((b for b in built if os.path.exists(b)), built[0])
    return args


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    try:
        if args.check_model:
            return check_model(args)
        results = [bench(args, path) for path in args.configs]
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    info = dict(machine(), threads=args.threads, steps=args.steps, repeats=args.repeats)
    print(f"{info['cpu']}, {info['cores']} cores, {args.threads} threads, torch {info['torch']}, "
          f"{args.steps} timed steps, median of {args.repeats}, {info['date']}")
    print_table(results, args.target)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "results": results}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
