#!/usr/bin/python3
"""check_model.py: the CPU model (train/model.c) against torch autograd.

Usage: /usr/bin/python3 tests/torch/check_model.py [--tol 1e-4] DUMP...

Each DUMP is written by build/tests/model-dump (format in its header
comment): configuration, parameters, a batch with BOS tokens and -1
targets, and what tamis computed in fp32: logits, mean cross-entropy and
the gradient of every parameter.  This script builds the same Llama 3 model
from those parameters, written independently in torch and in float64:
RMSNorm, q/k/v projections, RoPE in Hugging Face's rotate_half layout
with inverse frequencies computed as transformers'
_compute_llama3_parameters does (when rope_scaling is on), grouped-query
attention by repeat_interleave of the kv heads, a causal mask that also
stops attention across documents (a BOS token starts one), SwiGLU,
final norm, untied lm_head, mean cross-entropy over targets != -1.  It
takes logits, loss and gradients by autograd and compares.

Metric, per tensor (logits; the loss; each parameter's gradient):
    rel = max|ours - ref| / max(max|ref|, 1e-30)
with ref the float64 torch value.  A tensor passes when rel <= tol
(default 1e-4).  For each dump a table gives the worst rel per tensor
kind (a kind is a parameter name without its layer number); the last
table gives the worst over all dumps.

Exit status: 0 when every tensor of every dump passes, 1 when one fails,
2 on a usage error or a malformed dump.
"""
import math
import re
import struct
import sys

import numpy as np
import torch

TINY = 1e-30


def read_dump(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"TMMD":
        raise ValueError("%s: not a model dump (magic)" % path)
    (version,) = struct.unpack_from("<I", data, 4)
    if version != 1:
        raise ValueError("%s: version %d, expected 1" % (path, version))
    hdr = struct.unpack_from("<11i", data, 8)
    dbl = struct.unpack_from("<5d", data, 8 + 44)
    (np_,) = struct.unpack_from("<q", data, 8 + 44 + 40)
    keys = "dim layers heads kv ffn vocab B T bos scaling orig".split()
    cfg = dict(zip(keys, hdr))
    cfg.update(zip("eps theta factor low high".split(), dbl))
    n = cfg["B"] * cfg["T"]
    off = 8 + 44 + 40 + 8
    want = off + 4 * (np_ + 2 * n + n * cfg["vocab"] + 1 + np_)
    if len(data) != want:
        raise ValueError("%s: %d bytes, the header says %d" % (path, len(data), want))

    def take(dtype, count):
        nonlocal off
        a = np.frombuffer(data, dtype=dtype, count=count, offset=off)
        off += a.itemsize * count
        return a

    params = take("<f4", np_)
    tokens = take("<i4", n).reshape(cfg["B"], cfg["T"])
    targets = take("<i4", n).reshape(cfg["B"], cfg["T"])
    logits = take("<f4", n * cfg["vocab"]).reshape(cfg["B"], cfg["T"], cfg["vocab"])
    loss = float(take("<f4", 1)[0])
    grads = take("<f4", np_)
    return cfg, params, tokens, targets, logits, loss, grads


def tensor_layout(cfg):
    """(name, shape) in llama.h's order: HF names, [out, in] weights."""
    D, F, V = cfg["dim"], cfg["ffn"], cfg["vocab"]
    hd = D // cfg["heads"]
    Q, KV = cfg["heads"] * hd, cfg["kv"] * hd
    out = [("model.embed_tokens.weight", (V, D))]
    for l in range(cfg["layers"]):
        p = "model.layers.%d." % l
        out += [
            (p + "input_layernorm.weight", (D,)),
            (p + "self_attn.q_proj.weight", (Q, D)),
            (p + "self_attn.k_proj.weight", (KV, D)),
            (p + "self_attn.v_proj.weight", (KV, D)),
            (p + "self_attn.o_proj.weight", (D, Q)),
            (p + "post_attention_layernorm.weight", (D,)),
            (p + "mlp.gate_proj.weight", (F, D)),
            (p + "mlp.up_proj.weight", (F, D)),
            (p + "mlp.down_proj.weight", (D, F)),
        ]
    out += [("model.norm.weight", (D,)), ("lm_head.weight", (V, D))]
    return out


def split(flat, layout):
    out, off = {}, 0
    for name, shape in layout:
        n = math.prod(shape)
        out[name] = flat[off:off + n].reshape(shape)
        off += n
    if off != len(flat):
        raise ValueError("parameter count %d, layout %d" % (len(flat), off))
    return out


def inv_freq(cfg):
    """transformers' default RoPE frequencies, then _compute_llama3_parameters."""
    hd = cfg["dim"] // cfg["heads"]
    base = cfg["theta"]
    inv = 1.0 / (base ** (torch.arange(0, hd, 2, dtype=torch.int64).double() / hd))
    if not cfg["scaling"]:
        return inv
    factor, low, high = cfg["factor"], cfg["low"], cfg["high"]
    old = cfg["orig"]
    low_wl, high_wl = old / low, old / high
    wavelen = 2 * math.pi / inv
    inv_l = torch.where(wavelen > low_wl, inv / factor, inv)
    smooth = (old / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * inv_l / factor + smooth * inv_l
    medium = ~(wavelen < high_wl) * ~(wavelen > low_wl)
    return torch.where(medium, smoothed, inv_l)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rmsnorm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def model(cfg, P, tokens, targets):
    B, T, D = cfg["B"], cfg["T"], cfg["dim"]
    H, KV = cfg["heads"], cfg["kv"]
    hd = D // H
    eps = cfg["eps"]
    pos = torch.arange(T, dtype=torch.float64)
    freqs = torch.outer(pos, inv_freq(cfg))
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[None, None], emb.sin()[None, None]  # [1, 1, T, hd]

    # allowed[b, t, s]: s <= t in the same document of row b
    if cfg["bos"] >= 0:
        doc = torch.cumsum((tokens == cfg["bos"]).long(), dim=1)
    else:
        doc = torch.zeros_like(tokens)
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    allowed = causal[None] & (doc[:, :, None] == doc[:, None, :])

    x = P["model.embed_tokens.weight"][tokens]
    for l in range(cfg["layers"]):
        p = "model.layers.%d." % l
        h = rmsnorm(x, P[p + "input_layernorm.weight"], eps)
        q = (h @ P[p + "self_attn.q_proj.weight"].T).view(B, T, H, hd).transpose(1, 2)
        k = (h @ P[p + "self_attn.k_proj.weight"].T).view(B, T, KV, hd).transpose(1, 2)
        v = (h @ P[p + "self_attn.v_proj.weight"].T).view(B, T, KV, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(H // KV, dim=1)
        v = v.repeat_interleave(H // KV, dim=1)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        s = s.masked_fill(~allowed[:, None], float("-inf"))
        a = torch.softmax(s, dim=-1) @ v
        a = a.transpose(1, 2).reshape(B, T, H * hd)
        x = x + a @ P[p + "self_attn.o_proj.weight"].T
        h = rmsnorm(x, P[p + "post_attention_layernorm.weight"], eps)
        g = h @ P[p + "mlp.gate_proj.weight"].T
        u = h @ P[p + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(g) * u) @ P[p + "mlp.down_proj.weight"].T
    x = rmsnorm(x, P["model.norm.weight"], eps)
    logits = x @ P["lm_head.weight"].T
    loss = torch.nn.functional.cross_entropy(
        logits.reshape(-1, cfg["vocab"]), targets.reshape(-1).long(), ignore_index=-1)
    return logits, loss


def rel(ours, ref):
    ours = torch.as_tensor(np.asarray(ours, dtype=np.float64))
    ref = ref.detach().reshape(ours.shape)
    return (ours - ref).abs().max().item() / max(ref.abs().max().item(), TINY)


def kind(name):
    return re.sub(r"^model\.layers\.\d+\.", "layers.*.", name)


def check(path, tol, worst):
    cfg, flat, tokens, targets, logits, loss, grads = read_dump(path)
    layout = tensor_layout(cfg)
    P = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
         for k, v in split(flat, layout).items()}
    ref_logits, ref_loss = model(cfg, P, torch.tensor(tokens).long(), torch.tensor(targets))
    ref_loss.backward()
    G = split(grads, layout)

    rows = {"logits": rel(logits, ref_logits),
            "loss": abs(loss - ref_loss.item()) / max(abs(ref_loss.item()), TINY)}
    for name, _ in layout:
        k = "grad " + kind(name)
        rows[k] = max(rows.get(k, 0.0), rel(G[name], P[name].grad))
    nbos = int((tokens == cfg["bos"]).sum()) if cfg["bos"] >= 0 else 0
    print("# %s: dim %d layers %d heads %d kv %d ffn %d vocab %d B %d T %d "
          "rope_scaling %d bos %d (%d in the batch), loss %.6f (torch %.6f)" %
          (path, cfg["dim"], cfg["layers"], cfg["heads"], cfg["kv"], cfg["ffn"],
           cfg["vocab"], cfg["B"], cfg["T"], cfg["scaling"], cfg["bos"], nbos, loss,
           ref_loss.item()))
    bad = 0
    for k, r in rows.items():
        ok = r <= tol
        bad += not ok
        worst[k] = max(worst.get(k, 0.0), r)
        print("  %-44s %.3e %s" % (k, r, "ok" if ok else "FAIL"))
    return bad


def main(argv):
    tol = 1e-4
    args = argv[1:]
    if len(args) >= 2 and args[0] == "--tol":
        tol = float(args[1])
        args = args[2:]
    if not args or any(a.startswith("-") for a in args):
        print("usage: check_model.py [--tol 1e-4] DUMP...", file=sys.stderr)
        return 2
    torch.set_grad_enabled(True)
    worst, bad = {}, 0
    for path in args:
        try:
            bad += check(path, tol, worst)
        except (OSError, ValueError) as e:
            print("check_model.py: %s" % e, file=sys.stderr)
            return 2
    print("# worst over %d dumps (tolerance %.0e)" % (len(args), tol))
    for k, r in worst.items():
        print("  %-44s %.3e %s" % (k, r, "ok" if r <= tol else "FAIL"))
    print("# %s" % ("all passed" if not bad else "%d tensors FAILED" % bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
