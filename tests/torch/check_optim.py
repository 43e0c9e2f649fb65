#!/usr/bin/python3
"""check_optim.py: train/optim.c's clipping and AdamW against torch.

Usage: /usr/bin/python3 tests/torch/check_optim.py DUMP...

Each DUMP is written by build/tests/optim-dump (format in its header
comment): hyper-parameters, the weight-decay mask, initial parameters,
and per step the learning rate, the gradients and what tamis computed:
the gradient norm, then the parameters and both moments after the step.
This script replays the steps with torch itself, in float64 from the same
float32 values, so that the reference is the update's formula without
float32's rounding (torch's own float32 clip_grad_norm_ sums in float32
and is 6e-6 off here): torch.optim.AdamW (the single-tensor path,
foreach=False), two
parameter groups (weight decay on the masked parameters, none on the
rest), the learning rate set per step, and
torch.nn.utils.clip_grad_norm_ before each step.  Before each step
torch's parameters are set to ours, so that each update is compared from
the same point; the moments run on their own for the whole dump.

Checks, per step, with ref the torch value:
    norm:    |ours - ref| / ref                          <= 1e-9
    update:  max|dp_ours - dp_ref| / max|dp_ref|         <= 1e-4
             (dp = parameters after the step - before; ours are
             float32, rounded twice (decay, update): up to ~4e-9
             at |p| < 0.0625, against updates about as large as the
             learning rate, >= 1.9e-4 in optim-dump's schedules:
             a few 1e-5 (2.6e-5 seen); a weight decay of 0.2 for 0.1
             gives 5e-3)
    m, v:    max|ours - ref| / max|ref|                  <= 1e-6
             (float32 moments)
Clipping must have been active on at least one step and idle on another.

Exit status: 0 when every check of every dump passes, 1 when one fails,
2 on a usage error or a malformed dump.
"""
import struct
import sys

import numpy as np
import torch

TOL = {"norm": 1e-9, "update": 1e-4, "m": 1e-6, "v": 1e-6}


def read_dump(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"TMOD":
        raise ValueError("%s: not an optimizer dump (magic)" % path)
    (version,) = struct.unpack_from("<I", data, 4)
    if version != 1:
        raise ValueError("%s: version %d, expected 1" % (path, version))
    (n,) = struct.unpack_from("<q", data, 8)
    (steps,) = struct.unpack_from("<i", data, 16)
    beta1, beta2, eps, wd, clip = struct.unpack_from("<5d", data, 20)
    off = 60
    per_step = 8 + 4 * n + 8 + 3 * 4 * n
    want = off + n + 4 * n + steps * per_step
    if n <= 0 or steps <= 0 or len(data) != want:
        raise ValueError("%s: %d bytes, the header says %d" % (path, len(data), want))
    decay = np.frombuffer(data, np.uint8, n, off).astype(bool)
    off += n
    p0 = np.frombuffer(data, np.float32, n, off)
    off += 4 * n
    rec = []
    for _ in range(steps):
        (lr,) = struct.unpack_from("<d", data, off)
        off += 8
        g = np.frombuffer(data, np.float32, n, off)
        off += 4 * n
        (norm,) = struct.unpack_from("<d", data, off)
        off += 8
        p, m, v = (np.frombuffer(data, np.float32, n, off + 4 * n * i) for i in range(3))
        off += 12 * n
        rec.append((lr, g, norm, p, m, v))
    hyper = dict(beta1=beta1, beta2=beta2, eps=eps, wd=wd, clip=clip)
    return hyper, decay, p0, rec


def rel(a, b):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-30))


def check(path):
    hyper, decay, p0, rec = read_dump(path)
    pd = torch.nn.Parameter(torch.tensor(p0[decay].astype(np.float64)))
    pn = torch.nn.Parameter(torch.tensor(p0[~decay].astype(np.float64)))
    opt = torch.optim.AdamW(
        [{"params": [pd], "weight_decay": hyper["wd"]},
         {"params": [pn], "weight_decay": 0.0}],
        lr=rec[0][0], betas=(hyper["beta1"], hyper["beta2"]), eps=hyper["eps"],
        foreach=False)
    worst = dict.fromkeys(TOL, 0.0)
    clipped = idle = 0
    prev = p0.astype(np.float64)
    for step, (lr, g, norm, p, m, v) in enumerate(rec, 1):
        pd.grad = torch.tensor(g[decay].astype(np.float64))
        pn.grad = torch.tensor(g[~decay].astype(np.float64))
        ref_norm = float(torch.nn.utils.clip_grad_norm_([pd, pn], hyper["clip"]))
        if ref_norm > hyper["clip"]:
            clipped += 1
        else:
            idle += 1
        for group in opt.param_groups:
            group["lr"] = lr
        opt.step()
        ref_p = np.empty(len(p0))
        ref_m = np.empty(len(p0))
        ref_v = np.empty(len(p0))
        for mask, t in ((decay, pd), (~decay, pn)):
            st = opt.state[t]
            ref_p[mask] = t.detach().numpy()
            ref_m[mask] = st["exp_avg"].numpy()
            ref_v[mask] = st["exp_avg_sq"].numpy()
        got = {
            "norm": abs(norm - ref_norm) / ref_norm,
            "update": rel(p.astype(np.float64) - prev, ref_p - prev),
            "m": rel(m, ref_m),
            "v": rel(v, ref_v),
        }
        for k, e in got.items():
            worst[k] = max(worst[k], e)
        prev = p.astype(np.float64)
        with torch.no_grad():
            pd.copy_(torch.tensor(p[decay].astype(np.float64)))
            pn.copy_(torch.tensor(p[~decay].astype(np.float64)))
    ok = all(worst[k] <= TOL[k] for k in TOL) and clipped and idle
    print("# %s: %d parameters (%d with weight decay), %d steps, clipped on %d"
          % (path, len(p0), int(decay.sum()), len(rec), clipped))
    for k in TOL:
        print("#   %-7s %.3e  tol %.0e  %s" % (k, worst[k], TOL[k],
                                              "ok" if worst[k] <= TOL[k] else "FAIL"))
    if not (clipped and idle):
        print("#   clipping was not both active and idle: FAIL")
    return ok


def main(argv):
    if len(argv) < 2 or argv[1].startswith("-"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    try:
        results = [check(p) for p in argv[1:]]
    except (OSError, ValueError) as e:
        print("check_optim.py: %s" % e, file=sys.stderr)
        return 2
    if all(results):
        print("# all passed")
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
