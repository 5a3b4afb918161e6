"""PyTorch reference for bench/train_step.ts: times one GPT-1 training step on the CPU.

The same model as lib/model.ts (post-LN blocks, fused q,k,v, causal attention, tanh GELU,
learned positions, no final LayerNorm, LM head tied to the token embedding, dropout 0.1 on
embeddings / attention / residuals, N(0, 0.02) init) written the way a PyTorch user would:
F.scaled_dot_product_attention, F.gelu(approximate="tanh"), F.layer_norm, F.cross_entropy.
One step = forward + backward + global-norm clipping (1.0) + Adam with decoupled L2 (AdamW,
foreach), like OpenAIAdam in lib/optim.ts.

Prints one JSON line: {"threads", "batch", "seq", "median_s", "median_cpu_s", "tokens_per_s",
"step_s", "losses", "torch"} (CPU time = process time of all threads).

    python3 bench/torch_step.py --config '{"vocabSize": 8192, ...}' --batch 16 --seq 128 \
        --steps 5 --warmup 2 --threads 1
"""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn.functional as F


def build(cfg, gen):
    C, Fi, V = cfg["nEmbd"], cfg["nInner"], cfg["vocabSize"] + cfg["nSpecial"]
    std = cfg["initStd"]

    def w(*shape):
        return torch.nn.Parameter(torch.randn(*shape, generator=gen) * std)

    def z(*shape):
        return torch.nn.Parameter(torch.zeros(*shape))

    def o(*shape):
        return torch.nn.Parameter(torch.ones(*shape))

    p = {"wpe": w(cfg["nCtx"], C), "wte": w(V, C)}
    for l in range(cfg["nLayer"]):
        p.update({
            f"{l}.attn_w": w(C, 3 * C), f"{l}.attn_b": z(3 * C),
            f"{l}.proj_w": w(C, C), f"{l}.proj_b": z(C),
            f"{l}.ln1_g": o(C), f"{l}.ln1_b": z(C),
            f"{l}.fc_w": w(C, Fi), f"{l}.fc_b": z(Fi),
            f"{l}.mproj_w": w(Fi, C), f"{l}.mproj_b": z(C),
            f"{l}.ln2_g": o(C), f"{l}.ln2_b": z(C),
        })
    return p


def loss_fn(p, ids, cfg, training=True):
    B, T = ids.shape
    C, H = cfg["nEmbd"], cfg["nHead"]
    D = C // H
    eps = cfg["layerNormEps"]
    drop = lambda x, rate: F.dropout(x, rate, training)
    x = drop(p["wte"][ids] + p["wpe"][:T], cfg["embdPdrop"])
    for l in range(cfg["nLayer"]):
        qkv = torch.addmm(p[f"{l}.attn_b"], x.view(B * T, C), p[f"{l}.attn_w"])
        q, k, v = qkv.view(B, T, 3, H, D).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(
            q, k, v, dropout_p=cfg["attnPdrop"] if training else 0.0, is_causal=True)
        a = torch.addmm(p[f"{l}.proj_b"], a.transpose(1, 2).reshape(B * T, C), p[f"{l}.proj_w"])
        n = F.layer_norm(x + drop(a.view(B, T, C), cfg["residPdrop"]), (C,), p[f"{l}.ln1_g"],
                         p[f"{l}.ln1_b"], eps)
        h = F.gelu(torch.addmm(p[f"{l}.fc_b"], n.view(B * T, C), p[f"{l}.fc_w"]), approximate="tanh")
        m = torch.addmm(p[f"{l}.mproj_b"], h, p[f"{l}.mproj_w"])
        x = F.layer_norm(n + drop(m.view(B, T, C), cfg["residPdrop"]), (C,), p[f"{l}.ln2_g"],
                         p[f"{l}.ln2_b"], eps)
    logits = F.linear(x[:, :-1].reshape(-1, C), p["wte"])  # tied head
    return F.cross_entropy(logits, ids[:, 1:].reshape(-1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True, help="Gpt1Config as JSON")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=0, help="sequence length (default nCtx)")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    cfg = json.loads(a.config)
    T = a.seq or cfg["nCtx"]
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    p = build(cfg, gen)
    decay = [t for t in p.values() if t.dim() > 1]
    rest = [t for t in p.values() if t.dim() <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": rest, "weight_decay": 0.0}],
                            lr=2.5e-4, betas=(0.9, 0.999), eps=1e-8, foreach=True)
    V = cfg["vocabSize"] + cfg["nSpecial"]
    batches = [torch.randint(0, V, (a.batch, T), generator=gen) for _ in range(a.warmup + a.steps)]
    times, cpu, losses = [], [], []
    for i, ids in enumerate(batches):
        t0, c0 = time.perf_counter(), time.process_time()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(p, ids, cfg)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(p.values(), 1.0)
        opt.step()
        lv = loss.item()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        if i >= a.warmup:
            times.append(dt)
            cpu.append(dc)
            losses.append(lv)
    med = statistics.median(times)
    print(json.dumps({
        "threads": a.threads, "batch": a.batch, "seq": T, "median_s": med,
        "median_cpu_s": statistics.median(cpu),
        "tokens_per_s": a.batch * T / med, "step_s": times, "losses": losses,
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
