#!/usr/bin/python3
"""PyTorch peer of `esper bench train-step`: times one full training step on the CPU.

Usage:
  /usr/bin/python3 harness/bench/train-step-torch.py --threads N --batch 128 --warmup W --iters K \
      --model mlp|seeded --optimizer adamw|sgd

Prints one JSON object:
  {"torch_version", "blas", "config_blas", "threads", "model", "optimizer", "batch", "warmup", "iters", "params", "p50_ms", "p95_ms"}

What one timed step is (the TypeScript side must do the same work):
  zero the gradients, forward, mean cross-entropy loss, backward, optimizer step.
  The same batch is reused every step (data loading is not measured).

Data: torch.manual_seed(0); x = torch.rand(batch, 784) (float32 in [0, 1)),
      y = torch.randint(0, 10, (batch,)) (class indices).

Models (all layers are nn.Linear with bias, PyTorch default init, float32):
  mlp:     h = relu(L1(x)),  L1: 784 -> 256
           logits = L2(h),   L2: 256 -> 10
           parameters: 784*256 + 256 + 256*10 + 10 = 203,530
  seeded:  the mlp with two residual seed adapters applied in sequence after the hidden layer:
           h0 = relu(L1(x))
           h1 = h0 + alpha1 * U1(relu(D1(h0)))     D1: 256 -> 32, U1: 32 -> 256
           h2 = h1 + alpha2 * U2(relu(D2(h1)))     D2: 256 -> 32, U2: 32 -> 256
           logits = L2(h2)
           alpha1 = alpha2 = 0.5, constants (not trained); every adapter weight and bias is trained.
           parameters: 203,530 + 2 * (256*32 + 32 + 32*256 + 256) = 203,530 + 2 * 16,672 = 236,874

Optimizers: adamw = torch.optim.AdamW(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01);
            sgd   = torch.optim.SGD(lr=0.01, momentum=0.9).

Percentiles over the K timed steps (time.perf_counter around each step):
  p50 = median (statistics.median); p95 = nearest rank, sorted[ceil(0.95*K) - 1].
"""

import argparse
import json
import os
import math
import statistics
import sys
import time

try:
    import torch
    from torch import nn
except ImportError as err:  # the peer cannot run without torch: say so, no fallback
    sys.stderr.write(f"train-step-torch: cannot import torch ({err}); install python3-torch\n")
    sys.exit(2)

IN_FEATURES = 784
HIDDEN = 256
CLASSES = 10
ADAPTER_HIDDEN = 32
ALPHA = 0.5


class Adapter(nn.Module):
    """h + alpha * U(relu(D(h))), D: HIDDEN -> ADAPTER_HIDDEN, U: ADAPTER_HIDDEN -> HIDDEN."""

    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Linear(HIDDEN, ADAPTER_HIDDEN)
        self.up = nn.Linear(ADAPTER_HIDDEN, HIDDEN)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + ALPHA * self.up(torch.relu(self.down(h)))


class Mlp(nn.Module):
    """relu(L1(x)) -> [adapters in sequence] -> L2."""

    def __init__(self, seeds: int) -> None:
        super().__init__()
        self.l1 = nn.Linear(IN_FEATURES, HIDDEN)
        self.adapters = nn.ModuleList([Adapter() for _ in range(seeds)])
        self.l2 = nn.Linear(HIDDEN, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.l1(x))
        for adapter in self.adapters:
            h = adapter(h)
        return self.l2(h)



def blas_libraries():
    """The BLAS shared libraries mapped into this process (Debian's torch uses the system libblas.so.3
    alternative: the reference netlib BLAS unless OpenBLAS is installed), so reports say what was measured."""
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "blas" in line.lower() and "/" in line}
    return sorted(os.path.realpath(p) for p in paths)

def config_blas() -> str:
    """The BLAS lines of torch's build configuration (e.g. BLAS_INFO=mkl)."""
    return "\n".join(line for line in torch.__config__.show().splitlines() if "blas" in line.lower())


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be an integer > 0, got {text}")
    return value


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text}")
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=positive_int, required=True)
    parser.add_argument("--batch", type=positive_int, default=128)
    parser.add_argument("--warmup", type=non_negative_int, default=20)
    parser.add_argument("--iters", type=positive_int, default=200)
    parser.add_argument("--model", choices=["mlp", "seeded"], default="mlp")
    parser.add_argument("--optimizer", choices=["adamw", "sgd"], default="adamw")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = Mlp(seeds=2 if args.model == "seeded" else 0)
    x = torch.rand(args.batch, IN_FEATURES)
    y = torch.randint(0, CLASSES, (args.batch,))
    loss_fn = nn.CrossEntropyLoss()
    if args.optimizer == "adamw":
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step() -> None:
        opt.zero_grad(set_to_none=False)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    for _ in range(args.warmup):
        step()
    times_ms = []
    for _ in range(args.iters):
        t0 = time.perf_counter()
        step()
        times_ms.append((time.perf_counter() - t0) * 1000.0)
    ordered = sorted(times_ms)
    print(
        json.dumps(
            {
                "torch_version": torch.__version__,
                "blas": blas_libraries(),
                "config_blas": config_blas(),
                "threads": torch.get_num_threads(),
                "model": args.model,
                "optimizer": args.optimizer,
                "batch": args.batch,
                "warmup": args.warmup,
                "iters": args.iters,
                "params": sum(p.numel() for p in model.parameters()),
                "p50_ms": round(statistics.median(ordered), 4),
                "p95_ms": round(ordered[math.ceil(0.95 * len(ordered)) - 1], 4),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
