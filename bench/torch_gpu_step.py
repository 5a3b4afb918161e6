"""PyTorch on the GPU for bench/gpu_device.sh: tokens/s of one GPT-1 training step.

The model, loss and optimizer are bench/torch_step.py's (the same GPT-1 as lib/model.ts: post-LN
blocks, fused q,k,v, causal SDPA attention, tanh GELU, learned positions, tied head, dropout 0.1,
global-norm clipping 1.0, AdamW with decoupled L2 0.01 on the matrices). Two modes:

- fp32: float32 everywhere with TF32 off (torch.backends.cuda.matmul.allow_tf32 = False and
  cudnn.allow_tf32 = False), the like-for-like comparison with our f32 WGSL engine;
- bf16: the forward pass under torch.autocast(dtype=torch.bfloat16) (weights and Adam in f32).

Each step is synchronized before and after (torch.cuda.synchronize); the first --warmup steps are
not timed; reported: the median step time and tokens/s = batch·T / median. Prints one JSON line
per mode: {"name", "mode", "device", "batch", "seq", "median_s", "tokens_per_s", "tflops",
"losses", "torch", "gpu"}, and appends them to --json when given. TFLOP/s uses the estimate
6·N_params + 12·L·T·C FLOPs per token.

    python3 bench/torch_gpu_step.py --name gpt1 --config "$(deno task bench:gpu --print-config gpt1)" \\
        --batch 8 --steps 10 --warmup 3 --modes fp32,bf16 --json bench/torch.jsonl
    python3 bench/torch_gpu_step.py --device cpu --name tiny --config '{...}' --batch 2 --steps 2
    python3 bench/torch_gpu_step.py --matmul 4096      # fp32 (TF32 off) product, TFLOP/s
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_step import build, loss_fn  # noqa: E402  (the one model definition of the benches)


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize()


def run(cfg, name, mode, dev, batch, steps, warmup, seed, max_seconds):
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    gen = torch.Generator().manual_seed(seed)
    p = {k: torch.nn.Parameter(v.detach().to(dev)) for k, v in build(cfg, gen).items()}
    decay = [t for t in p.values() if t.dim() > 1]
    rest = [t for t in p.values() if t.dim() <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": rest, "weight_decay": 0.0}],
                            lr=2.5e-4, betas=(0.9, 0.999), eps=1e-8, foreach=True)
    T, V = cfg["nCtx"], cfg["vocabSize"] + cfg["nSpecial"]
    times, losses = [], []
    t_start = time.perf_counter()
    for i in range(warmup + steps):
        ids = torch.randint(0, V, (batch, T), generator=gen).to(dev)
        sync(dev)
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        if mode == "bf16":
            with torch.autocast(dev.type, dtype=torch.bfloat16):
                loss = loss_fn(p, ids, cfg)
        else:
            loss = loss_fn(p, ids, cfg)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(p.values(), 1.0)
        opt.step()
        sync(dev)
        dt = time.perf_counter() - t0
        if i >= warmup:
            times.append(dt)
            losses.append(loss.item())
            if time.perf_counter() - t_start > max_seconds:
                break
    med = statistics.median(times)
    n_params = sum(t.numel() for t in p.values())
    flops_per_token = 6 * n_params + 12 * cfg["nLayer"] * T * cfg["nEmbd"]
    return {
        "name": name, "mode": mode, "device": str(dev), "batch": batch, "seq": T,
        "median_s": med, "tokens_per_s": batch * T / med,
        "tflops": batch * T * flops_per_token / med / 1e12, "losses": losses,
        "params": n_params, "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name(0) if dev.type == "cuda" else None,
    }


def matmul(n, dev, reps=10):
    """fp32 (TF32 off) n×n·n×n: TFLOP/s of `reps` back-to-back products after 3 warm-ups."""
    torch.backends.cuda.matmul.allow_tf32 = False
    a = torch.randn(n, n, device=dev)
    b = torch.randn(n, n, device=dev)
    for _ in range(3):
        a @ b
    sync(dev)
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    sync(dev)
    ms = (time.perf_counter() - t0) / reps * 1000
    return {"name": f"matmul{n}", "mode": "fp32-matmul", "device": str(dev), "n": n, "ms": ms,
            "tflops": 2 * n ** 3 / (ms / 1000) / 1e12, "torch": torch.__version__}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", help="Gpt1Config as JSON")
    ap.add_argument("--matmul", type=int, help="instead: time an fp32 N×N·N×N product")
    ap.add_argument("--name", default="custom")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--modes", default="fp32,bf16")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-seconds", type=float, default=60.0)
    ap.add_argument("--json", help="append the result lines to this file")
    a = ap.parse_args()
    dev = torch.device(a.device)
    if a.matmul:
        results = [matmul(a.matmul, dev)]
    else:
        if not a.config:
            ap.error("--config (or --matmul) is required")
        cfg = json.loads(a.config)
        results = (run(cfg, a.name, mode, dev, a.batch, a.steps, a.warmup, a.seed, a.max_seconds)
                   for mode in a.modes.split(","))
    for r in results:
        line = json.dumps(r)
        print(line, flush=True)
        if a.json:
            with open(a.json, "a") as f:
                f.write(line + "\n")


if __name__ == "__main__":
    main()
