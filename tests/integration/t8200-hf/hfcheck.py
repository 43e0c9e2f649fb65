"""hfcheck.py: the other side of t8200-hf.sh: reads and writes Hugging Face
Llama directories without tamis, from the safetensors spec with json and
numpy only (and, where they are importable, with the safetensors package
and transformers), so that tamis's writer and reader are checked against
an independent implementation.

  hfcheck.py written DIR RAW F32|BF16   check a directory tamis wrote against
                                        RAW (tamis's fp32 parameter block)
  hfcheck.py foreign DIR RAW            write a directory as another tool may
                                        (two files and an index, F16, BF16 and
                                        F32, tied, unaligned data, rotary
                                        buffers) and the block tamis must load
  hfcheck.py safetensors DIR RAW F32|BF16   the same check as `written`, by
                                        the safetensors package
  hfcheck.py transformers DIR RAW F32|BF16 FREQS   LlamaConfig and
                                        LlamaForCausalLM.from_pretrained agree
                                        with RAW and tamis's RoPE frequencies

Exit 0 when all holds, 1 with a message when not, 77 when a package the
command needs is not importable (the test then skips).
"""
import json
import os
import struct
import sys

import numpy as np


def fail(msg):
    print("hfcheck: " + msg, file=sys.stderr)
    sys.exit(1)


def layout(cfg):
    """(name, shape) in tamis's parameter order (train/llama.h)."""
    d, f, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    h = cfg["num_attention_heads"]
    kv = cfg.get("num_key_value_heads") or h
    hd = d // h
    t = [("model.embed_tokens.weight", [v, d])]
    for i in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % i
        t += [(p + "input_layernorm.weight", [d]),
              (p + "self_attn.q_proj.weight", [h * hd, d]),
              (p + "self_attn.k_proj.weight", [kv * hd, d]),
              (p + "self_attn.v_proj.weight", [kv * hd, d]),
              (p + "self_attn.o_proj.weight", [d, h * hd]),
              (p + "post_attention_layernorm.weight", [d]),
              (p + "mlp.gate_proj.weight", [f, d]),
              (p + "mlp.up_proj.weight", [f, d]),
              (p + "mlp.down_proj.weight", [d, f])]
    t += [("model.norm.weight", [d]), ("lm_head.weight", [v, d])]
    return t


def split(raw, cfg):
    """RAW as {name: uint32 bits} in layout order."""
    out, at = {}, 0
    for name, shape in layout(cfg):
        n = int(np.prod(shape))
        out[name] = raw[at:at + n]
        at += n
    if at != raw.size:
        fail("RAW holds %d floats, the layout %d" % (raw.size, at))
    return out


def bf16_bits(u32):
    """bfloat16 bits of fp32 bits, to nearest, ties to even; NaN stays NaN."""
    u = u32.astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    nan = (u32 & 0x7FFFFFFF) > 0x7F800000
    r[nan] = ((u32[nan] >> 16) | 0x40).astype(np.uint16)
    return r


def f16_to_f32_bits(h):
    """fp32 bits of binary16 bits, by the IEEE formula (exact)."""
    h = h.astype(np.uint32)
    s, e, m = (h & 0x8000) << 16, (h >> 10) & 0x1F, h & 0x3FF
    out = s | ((e + 112) << 23) | (m << 13)
    special = e == 0x1F
    out[special] = s[special] | 0x7F800000 | (m[special] << 13)
    sub = e == 0
    mag = (m[sub].astype(np.float32) * np.float32(2.0 ** -24)).view(np.uint32)
    out[sub] = s[sub] | mag
    return out


def read_st(path):
    """A safetensors file by the spec: (header length, keys in order, metadata, {name: (dtype, shape, bytes)})."""
    d = open(path, "rb").read()
    (n,) = struct.unpack_from("<Q", d, 0)
    if n > len(d) - 8 or d[8:9] != b"{":
        fail("%s: header length %d" % (path, n))
    text = d[8:8 + n].decode("utf-8")
    pairs = json.loads(text, object_pairs_hook=lambda p: p)
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        fail("%s: a key twice" % path)
    hdr = dict(pairs)
    meta = hdr.pop("__metadata__", None)
    meta = dict(meta) if meta is not None else None
    data = d[8 + n:]
    sizes = {"F32": 4, "BF16": 2, "F16": 2}
    spans, out = [], {}
    for name, e in hdr.items():
        e = dict(e)
        b, en = e["data_offsets"]
        shape = e["shape"]
        if e["dtype"] not in sizes or int(np.prod(shape)) * sizes[e["dtype"]] != en - b:
            fail("%s: tensor %s: %s" % (path, name, e))
        spans.append((b, en, name))
        out[name] = (e["dtype"], shape, data[b:en])
    spans.sort()
    at = 0
    for b, en, name in spans:
        if b != at:
            fail("%s: tensor %s begins at %d, not %d" % (path, name, b, at))
        at = en
    if at != len(data):
        fail("%s: %d bytes after the last tensor" % (path, len(data) - at))
    return n, keys, meta, out, spans


def as_bits(dtype, raw_bytes):
    """The tensor's element bits: uint32 for F32, uint16 for BF16/F16."""
    return np.frombuffer(raw_bytes, "<u4" if dtype == "F32" else "<u2")


def expect_bits(want32, dtype):
    return want32 if dtype == "F32" else bf16_bits(want32)


def written(d, raw_path, dtype):
    cfg = json.load(open(os.path.join(d, "config.json")))
    want_cfg = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "hidden_act": "silu", "attention_bias": False, "mlp_bias": False,
        "tie_word_embeddings": False,
        "head_dim": cfg["hidden_size"] // cfg["num_attention_heads"],
        "torch_dtype": {"F32": "float32", "BF16": "bfloat16"}[dtype],
        "bos_token_id": 1, "eos_token_id": 2,
    }
    for k, v in want_cfg.items():
        if cfg.get(k) != v:
            fail("config.json: %s is %r, expected %r" % (k, cfg.get(k), v))
    rs = cfg["rope_scaling"]
    if rs is not None and (rs.get("rope_type") != "llama3" or
                           sorted(rs) != ["factor", "high_freq_factor", "low_freq_factor",
                                          "original_max_position_embeddings", "rope_type"]):
        fail("config.json: rope_scaling %r" % rs)
    text = open(os.path.join(d, "config.json")).read()
    if text != json.dumps(cfg, indent=2, sort_keys=True) + "\n":
        fail("config.json is not in transformers' layout (json.dumps(indent=2, sort_keys=True))")
    raw = split(np.fromfile(raw_path, "<u4"), cfg)
    n, keys, meta, tensors, spans = read_st(os.path.join(d, "model.safetensors"))
    order = [name for name, _ in layout(cfg)]
    if n % 8 or keys != ["__metadata__"] + order:
        fail("header: length %d, keys %s" % (n, keys[:4]))
    if [name for _, _, name in spans] != order:
        fail("data is not in the layout order")
    if meta is None or meta.get("format") != "pt":
        fail("metadata %r" % meta)
    for name, shape in layout(cfg):
        dt, sh, b = tensors[name]
        if dt != dtype or sh != shape:
            fail("%s: %s %s, expected %s %s" % (name, dt, sh, dtype, shape))
        got, want = as_bits(dt, b), expect_bits(raw[name], dt)
        if not np.array_equal(got, want):
            i = int(np.nonzero(got != want)[0][0])
            fail("%s[%d]: 0x%x, expected 0x%x" % (name, i, got[i], want[i]))
    print("%d tensors, %s, bit for bit" % (len(order), dtype))


def foreign(d, raw_path):
    """A directory as another writer may make it, and the fp32 block tamis must load from it."""
    rng = np.random.default_rng(8200)
    cfg = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 1024,
        "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
        "rope_scaling": {"type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                         "high_freq_factor": 4.0, "original_max_position_embeddings": 64},
        "tie_word_embeddings": True, "torch_dtype": "float16",
    }
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f)
    files = {"model-00001-of-00002.safetensors": {}, "model-00002-of-00002.safetensors": {}}
    want = {}
    for name, shape in layout(cfg):
        n = int(np.prod(shape))
        if name == "lm_head.weight":
            continue                    # tied: not in the files
        if name == "model.embed_tokens.weight":
            # all 65536 binary16 values, shuffled
            bits = rng.permutation(np.arange(65536, dtype=np.uint32)).astype(np.uint16)
            dt, payload, w = "F16", bits.astype("<u2").tobytes(), f16_to_f32_bits(bits)
            nonnan = (bits & 0x7C00) != 0x7C00
            alt = bits[nonnan].view(np.float16).astype(np.float32).view(np.uint32)
            if not np.array_equal(alt, w[nonnan]):
                fail("the F16 formula disagrees with numpy")
        elif name.startswith("model.layers.0."):
            bits = rng.integers(0, 65536, n, dtype=np.uint32).astype(np.uint16)
            dt, payload, w = "BF16", bits.astype("<u2").tobytes(), bits.astype(np.uint32) << 16
        else:
            vals = rng.standard_normal(n).astype("<f4")
            dt, payload, w = "F32", vals.tobytes(), vals.view(np.uint32)
        want[name] = w
        f = "model-00001-of-00002.safetensors" if name.startswith(("model.embed", "model.layers.0.")) \
            else "model-00002-of-00002.safetensors"
        files[f][name] = (dt, shape, payload)
    for i, f in enumerate(files):
        files[f]["model.layers.%d.self_attn.rotary_emb.inv_freq" % i] = (
            "F32", [8], rng.standard_normal(8).astype("<f4").tobytes())
    want["lm_head.weight"] = want["model.embed_tokens.weight"]
    weight_map = {}
    for f, ts in files.items():
        names = list(ts)
        rng.shuffle(names)              # keys in one order ...
        data_order = list(names)
        rng.shuffle(data_order)         # ... data in another
        hdr, at, blob = {"__metadata__": {"format": "pt"}}, 0, b""
        for name in data_order:
            dt, shape, payload = ts[name]
            blob += payload
        offs = {}
        for name in data_order:
            offs[name] = (at, at + len(ts[name][2]))
            at += len(ts[name][2])
        for name in names:
            dt, shape, _ = ts[name]
            hdr[name] = {"dtype": dt, "shape": shape, "data_offsets": list(offs[name])}
            weight_map[name] = f
        text = json.dumps(hdr).encode()
        if (8 + len(text)) % 4 == 0:
            text += b" "                # no 8-byte padding: data unaligned
        with open(os.path.join(d, f), "wb") as out:
            out.write(struct.pack("<Q", len(text)) + text + blob)
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f, indent=2)
    np.concatenate([want[name] for name, _ in layout(cfg)]).astype("<u4").tofile(raw_path)


def with_safetensors(d, raw_path, dtype):
    try:
        from safetensors import safe_open
    except ImportError:
        sys.exit(77)
    cfg = json.load(open(os.path.join(d, "config.json")))
    raw = split(np.fromfile(raw_path, "<u4"), cfg)
    with safe_open(os.path.join(d, "model.safetensors"), framework="np") as f:
        if f.metadata().get("format") != "pt":
            fail("safetensors: metadata %r" % f.metadata())
        for name, shape in layout(cfg):
            if dtype == "F32":
                got = f.get_tensor(name).view(np.uint32).reshape(-1)
            else:
                sl = f.get_slice(name)
                if sl.get_dtype() != "BF16" or list(sl.get_shape()) != shape:
                    fail("safetensors: %s is %s %s" % (name, sl.get_dtype(), sl.get_shape()))
                continue                # numpy has no bfloat16: shapes only
            if not np.array_equal(got, raw[name]):
                fail("safetensors: %s differs" % name)
    print("the safetensors package agrees")


def with_transformers(d, raw_path, dtype, freqs_path):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import torch
        import transformers
    except ImportError:
        sys.exit(77)
    cfg = json.load(open(os.path.join(d, "config.json")))
    c = transformers.LlamaConfig.from_pretrained(d)
    for k in ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
              "num_key_value_heads", "vocab_size", "max_position_embeddings"):
        if getattr(c, k) != cfg[k]:
            fail("LlamaConfig.%s is %r" % (k, getattr(c, k)))
    if getattr(c, "head_dim", cfg["head_dim"]) != cfg["head_dim"] or c.tie_word_embeddings:
        fail("LlamaConfig: head_dim %r, tied %r" % (getattr(c, "head_dim", None),
                                                    c.tie_word_embeddings))
    rope = getattr(c, "rope_parameters", None) or getattr(c, "rope_scaling", None) or {}
    theta = rope.get("rope_theta", getattr(c, "rope_theta", None))
    if theta != cfg["rope_theta"] or abs(c.rms_norm_eps - cfg["rms_norm_eps"]) > 0:
        fail("LlamaConfig: rope_theta %r, rms_norm_eps %r" % (theta, c.rms_norm_eps))
    if cfg["rope_scaling"] and (rope.get("rope_type", rope.get("type")) != "llama3" or
                                rope.get("factor") != cfg["rope_scaling"]["factor"]):
        fail("LlamaConfig: RoPE %r" % rope)
    torch_dtype = torch.float32 if dtype == "F32" else torch.bfloat16
    major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
    kw = {"dtype" if (major, minor) >= (4, 56) else "torch_dtype": torch_dtype}
    model, info = transformers.LlamaForCausalLM.from_pretrained(
        d, output_loading_info=True, **kw)
    if any(info.get(k) for k in ("missing_keys", "unexpected_keys", "mismatched_keys",
                                 "error_msgs")):
        fail("from_pretrained: %r" % info)
    sd = model.state_dict()
    raw = split(np.fromfile(raw_path, "<u4"), cfg)
    for name, shape in layout(cfg):
        t = sd[name]
        if list(t.shape) != shape or t.dtype != torch_dtype:
            fail("transformers: %s is %s %s" % (name, t.dtype, list(t.shape)))
        if dtype == "F32":
            got = t.contiguous().view(torch.int32).numpy().view(np.uint32).reshape(-1)
        else:
            got = t.contiguous().view(torch.int16).numpy().view(np.uint16).reshape(-1)
        if not np.array_equal(got, expect_bits(raw[name], dtype)):
            fail("transformers: %s differs" % name)
    inv = model.model.rotary_emb.inv_freq
    rtol = 2e-6 if inv.dtype == torch.float32 else 1e-2
    inv = inv.double().numpy()
    want = np.loadtxt(freqs_path, ndmin=1)
    if inv.shape != want.shape or not np.allclose(inv, want, rtol=rtol, atol=0):
        fail("RoPE inverse frequencies: transformers %s, tamis %s" % (inv[:4], want[:4]))
    print("transformers %s loads it: config, %d tensors bit for bit, RoPE frequencies"
          % (transformers.__version__, len(sd)))


def main():
    a = sys.argv[1:]
    if len(a) == 4 and a[0] == "written":
        written(a[1], a[2], a[3])
    elif len(a) == 3 and a[0] == "foreign":
        foreign(a[1], a[2])
    elif len(a) == 4 and a[0] == "safetensors":
        with_safetensors(a[1], a[2], a[3])
    elif len(a) == 5 and a[0] == "transformers":
        with_transformers(a[1], a[2], a[3], a[4])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
