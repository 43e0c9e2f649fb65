#!/usr/bin/env python3
"""bench/gpu_torch.py: PyTorch's training speed on the shape tamis trains,
for bench/gpu.sh to print side by side with tamis's CUDA backend.

transformers' LlamaForCausalLM from a LlamaConfig of the same shape
(untied embeddings, no biases, the same RoPE), fp32 parameters, bf16
autocast, SDPA attention (plain causal: no document mask), torch.compile
(unless compile=0), AdamW(fused=True), gradient clipping at 1.0, random
tokens.  Three warm-up steps (compilation), then `steps` timed ones.

usage: gpu_torch.py preset=NAME B=16 T=1024 steps=10 peak=989e12 compile=1 \\
           dim=.. layers=.. heads=.. kv=.. ffn=.. vocab=.. eps=.. theta=.. \\
           scaling=0|1 factor=.. low=.. high=.. orig=.. flops_per_token=..
(the shape words as `cuda-check config` prints them).

Prints one line: bench torch preset=.. B=.. T=.. step_s=.. tok_s=.. mfu=..
mem_gib=.. compile=0|1 loss=..; exit 77 (with the reason) when torch,
CUDA or transformers is missing, 1 on another failure.
"""
import sys
import time


def skip(why):
    print("skip: " + why)
    sys.exit(77)


def main():
    a = dict(w.split("=", 1) for w in sys.argv[1:])
    try:
        import torch
    except Exception as e:  # noqa: BLE001 - any import failure is a skip
        skip("torch not importable (%s)" % e)
    if not torch.cuda.is_available():
        skip("torch sees no CUDA device")
    try:
        from transformers import LlamaConfig, LlamaForCausalLM
    except Exception as e:  # noqa: BLE001
        skip("transformers not importable (%s)" % e)

    B, T, steps = int(a.get("B", 16)), int(a.get("T", 1024)), int(a.get("steps", 10))
    peak = float(a.get("peak", 0))
    scaling = None
    if a.get("scaling") == "1":
        scaling = {"rope_type": "llama3", "factor": float(a["factor"]),
                   "low_freq_factor": float(a["low"]), "high_freq_factor": float(a["high"]),
                   "original_max_position_embeddings": int(a["orig"])}
    cfg = LlamaConfig(vocab_size=int(a["vocab"]), hidden_size=int(a["dim"]),
                      intermediate_size=int(a["ffn"]), num_hidden_layers=int(a["layers"]),
                      num_attention_heads=int(a["heads"]), num_key_value_heads=int(a["kv"]),
                      max_position_embeddings=max(T, int(a.get("orig", T))),
                      rms_norm_eps=float(a["eps"]), rope_theta=float(a["theta"]),
                      rope_scaling=scaling, tie_word_embeddings=False, attention_bias=False,
                      mlp_bias=False, use_cache=False)
    torch.manual_seed(1)
    try:
        model = LlamaForCausalLM._from_config(cfg, attn_implementation="sdpa")
    except (TypeError, ValueError):  # an older or newer signature
        model = LlamaForCausalLM(cfg)
    model = model.float().cuda()
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.95),
                            weight_decay=0.1, eps=1e-8, fused=True)
    use_compile = a.get("compile", "1") == "1"
    run = model
    if use_compile:
        try:
            run = torch.compile(model)
        except Exception as e:  # noqa: BLE001 - then eager, said so
            print("note: torch.compile unavailable (%s): eager" % e, file=sys.stderr)
            use_compile = False
    x = torch.randint(0, cfg.vocab_size, (B, T), device="cuda")

    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = run(input_ids=x, labels=x).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    try:
        for _ in range(3):
            step()
    except Exception as e:  # noqa: BLE001
        if not use_compile:
            raise
        print("note: compiled step failed (%s): eager" % str(e).splitlines()[0],
              file=sys.stderr)
        run, use_compile = model, False
        for _ in range(2):
            step()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = step()
    torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    tps = B * T * steps / dt
    mfu = tps * float(a["flops_per_token"]) / peak if peak > 0 else float("nan")
    print("bench torch preset=%s B=%d T=%d steps=%d step_s=%.4f tok_s=%.0f mfu=%.4f "
          "mem_gib=%.1f compile=%d loss=%.3f torch=%s"
          % (a.get("preset", "?"), B, T, steps, dt / steps, tps, mfu,
             torch.cuda.max_memory_allocated() / 2**30, use_compile, loss.item(),
             torch.__version__))


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception as e:  # noqa: BLE001 - one line for the table, then fail
        print("error: %s" % str(e).splitlines()[0] if str(e) else repr(e))
        sys.exit(1)
