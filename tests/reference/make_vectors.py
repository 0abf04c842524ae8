#!/usr/bin/python3
"""Writes the PyTorch reference vectors that tests/reference/*_test.cpp check.

Run it with Debian's PyTorch (package python3-torch) from anywhere:

    /usr/bin/python3 tests/reference/make_vectors.py

It rewrites tests/reference/<family>.json next to this script. The output is
deterministic (fixed seeds, float64 on the CPU), so running it twice gives
byte-identical files; commit the JSON, the test suite never needs Python.

Format: {"generator": ..., "cases": [case, ...]}, one case per line. A case is
a flat object: its name, the op's parameters, and tensors as
{"shape": [...], "data": [...row-major...]}. Conventions inside a case:
  x, w, b, ...     inputs (w/b: weight/bias)
  gy               the upstream gradient passed to y.backward(gy); absent when
                   the output is a scalar loss (backward() with no argument)
  y                the forward output
  gx, gw, gb, ...  d(loss)/d(input), named after the input
  running_mean/var[_after]  batch norm's running statistics before/after
Floats are written with Python's repr, which round-trips float64 exactly.
"""

import json
import os
import struct

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))
F64 = torch.float64


def T(t):
    """A tensor as JSON: shape plus row-major data (ints stay ints)."""
    t = t.detach().contiguous()
    return {"shape": list(t.shape), "data": t.reshape(-1).tolist()}


def randn(*shape, scale=1.0, shift=0.0):
    return torch.randn(*shape, dtype=F64) * scale + shift


def leaf(t):
    return t.clone().requires_grad_(True)


def write(name, cases):
    path = os.path.join(HERE, name)
    lines = [json.dumps(c, separators=(",", ":")) for c in cases]
    with open(path, "w") as f:
        f.write('{"generator":"tests/reference/make_vectors.py, torch %s, float64",\n'
                % torch.__version__.split("a")[0].split("+")[0])
        f.write('"cases":[\n' + ",\n".join(lines) + "\n]}\n")
    print("%-22s %3d cases %7d bytes" % (name, len(cases), os.path.getsize(path)))


def backward_case(name, fn, inputs, params=None, grad_names=None, scalar=False):
    """Runs fn(**leaves) forward and backward; returns the case dict.

    inputs: ordered dict name -> tensor (floating ones become leaves that
    require grad; integer ones are passed as they are).
    """
    leaves = {k: (leaf(v) if v.is_floating_point() else v) for k, v in inputs.items()}
    y = fn(**leaves)
    case = {"name": name}
    case.update(params or {})
    for k, v in inputs.items():
        case[k] = T(v)
    if scalar:
        y.backward()
    else:
        gy = randn(*y.shape)
        case["gy"] = T(gy)
        y.backward(gy)
    case["y"] = T(y)
    for k, v in leaves.items():
        if v.is_floating_point() and (grad_names is None or k in grad_names):
            case["g" + k] = T(v.grad)
    return case


# ---- conv2d ------------------------------------------------------------------
def conv_cases():
    torch.manual_seed(1)
    configs = [
        # name, x shape, w shape, bias, stride, padding, dilation, groups
        ("plain_3x3", (2, 3, 6, 5), (4, 3, 3, 3), True, (1, 1), (0, 0), (1, 1), 1),
        ("stride2_pad1", (2, 3, 7, 6), (4, 3, 3, 3), True, (2, 2), (1, 1), (1, 1), 1),
        ("dilation2", (1, 2, 8, 7), (3, 2, 3, 3), True, (1, 1), (2, 1), (2, 2), 1),
        ("groups2", (2, 4, 5, 5), (6, 2, 3, 3), True, (1, 1), (1, 1), (1, 1), 2),
        ("depthwise", (2, 3, 6, 6), (3, 1, 3, 3), True, (1, 1), (1, 1), (1, 1), 3),
        ("kernel_3x2_stride21", (2, 3, 6, 5), (4, 3, 3, 2), True, (2, 1), (1, 0), (1, 1), 1),
        ("no_bias", (2, 3, 5, 5), (2, 3, 3, 3), False, (1, 1), (0, 0), (1, 1), 1),
        ("pointwise_1x1", (2, 5, 4, 4), (3, 5, 1, 1), True, (1, 1), (0, 0), (1, 1), 1),
    ]
    cases = []
    for name, xs, ws, has_bias, stride, padding, dilation, groups in configs:
        inputs = {"x": randn(*xs), "w": randn(*ws, scale=0.5)}
        if has_bias:
            inputs["b"] = randn(ws[0])

        def fn(x, w, b=None, s=stride, p=padding, d=dilation, g=groups):
            return F.conv2d(x, w, b, stride=s, padding=p, dilation=d, groups=g)

        params = {"stride": list(stride), "padding": list(padding),
                  "dilation": list(dilation), "groups": groups}
        cases.append(backward_case(name, fn, inputs, params))
    return cases


# ---- batch norm / layer norm -------------------------------------------------
def batch_norm_cases():
    torch.manual_seed(2)
    cases = []
    for name, xs, training, eps in [("train_4d", (4, 3, 3, 2), True, 1e-5),
                                    ("train_2d", (8, 5), True, 1e-3),
                                    ("eval_4d", (3, 4, 2, 2), False, 1e-5)]:
        c = xs[1]
        x = randn(*xs, scale=2.0, shift=0.5)
        w, b = randn(c, scale=0.5, shift=1.0), randn(c)
        rm0, rv0 = randn(c, scale=0.3), torch.rand(c, dtype=F64) + 0.5
        rm, rv = rm0.clone(), rv0.clone()

        def fn(x, w, b, rm=rm, rv=rv, training=training, eps=eps):
            return F.batch_norm(x, rm, rv, w, b, training=training, momentum=0.1, eps=eps)

        case = backward_case(name, fn, {"x": x, "w": w, "b": b},
                             {"training": training, "momentum": 0.1, "eps": eps})
        case["running_mean"], case["running_var"] = T(rm0), T(rv0)
        # The running statistics after the step (unchanged in eval).
        case["running_mean_after"], case["running_var_after"] = T(rm), T(rv)
        cases.append(case)
    return cases


def layer_norm_cases():
    torch.manual_seed(3)
    cases = []
    for name, xs, norm_shape in [("last_dim", (2, 3, 6), [6]),
                                 ("last_two_dims", (2, 3, 4), [3, 4])]:
        inputs = {"x": randn(*xs, scale=1.5, shift=-0.3),
                  "w": randn(*norm_shape, scale=0.5, shift=1.0), "b": randn(*norm_shape)}

        def fn(x, w, b, ns=norm_shape):
            return F.layer_norm(x, ns, w, b, eps=1e-5)

        cases.append(backward_case(name, fn, inputs, {"normalized_shape": norm_shape,
                                                      "eps": 1e-5}))
    return cases


# ---- pooling -----------------------------------------------------------------
def pool_cases():
    torch.manual_seed(4)
    cases = []
    # Continuous random values: no ties, so the max-pool argmax is unambiguous.
    configs = [
        # name, op, x shape, kernel, stride, padding, ceil_mode, count_include_pad
        ("max_k2_s2", "max", (2, 3, 6, 6), (2, 2), (2, 2), (0, 0), False, True),
        ("max_k3_s2_p1", "max", (2, 2, 7, 7), (3, 3), (2, 2), (1, 1), False, True),
        ("max_k2_s2_ceil", "max", (1, 2, 7, 7), (2, 2), (2, 2), (0, 0), True, True),
        # ceil_mode's last window would start in the right padding: PyTorch drops it.
        ("max_k2_s2_p1_ceil_drop", "max", (1, 2, 5, 5), (2, 2), (2, 2), (1, 1), True, True),
        ("max_k3x2_s21", "max", (2, 2, 6, 5), (3, 2), (2, 1), (1, 0), False, True),
        ("avg_k3_s2_p1_incl", "avg", (2, 2, 6, 5), (3, 3), (2, 2), (1, 1), False, True),
        ("avg_k3_s2_p1_excl", "avg", (2, 2, 6, 5), (3, 3), (2, 2), (1, 1), False, False),
        ("avg_k2_s2", "avg", (2, 3, 6, 6), (2, 2), (2, 2), (0, 0), False, True),
        # With ceil_mode the divisor of a window that hangs past the padding
        # counts only up to the padded edge.
        ("avg_k3_s2_p1_ceil_incl", "avg", (1, 2, 6, 6), (3, 3), (2, 2), (1, 1), True, True),
        ("avg_k3_s2_p1_ceil_excl", "avg", (1, 2, 6, 6), (3, 3), (2, 2), (1, 1), True, False),
    ]
    for name, op, xs, k, s, p, ceil, incl in configs:
        if op == "max":
            def fn(x, k=k, s=s, p=p, ceil=ceil):
                return F.max_pool2d(x, k, s, p, ceil_mode=ceil)
        else:
            def fn(x, k=k, s=s, p=p, ceil=ceil, incl=incl):
                return F.avg_pool2d(x, k, s, p, ceil_mode=ceil, count_include_pad=incl)
        cases.append(backward_case(name, fn, {"x": randn(*xs)},
                                   {"op": op, "kernel": list(k), "stride": list(s),
                                    "padding": list(p), "ceil_mode": ceil,
                                    "count_include_pad": incl}))
    for name, xs, out in [("adaptive_5x7_to_3x2", (2, 2, 5, 7), (3, 2)),
                          ("adaptive_7x5_to_4x3", (1, 2, 7, 5), (4, 3)),
                          ("adaptive_6x6_to_1x1", (2, 3, 6, 6), (1, 1))]:
        def fn(x, out=out):
            return F.adaptive_avg_pool2d(x, out)
        cases.append(backward_case(name, fn, {"x": randn(*xs)},
                                   {"op": "adaptive_avg", "output_size": list(out)}))
    return cases


# ---- losses ------------------------------------------------------------------
def cross_entropy_cases():
    torch.manual_seed(5)
    cases = []
    logits = randn(6, 5, scale=2.0)
    target = torch.randint(0, 5, (6,))
    for reduction in ["mean", "sum", "none"]:
        for ls in [0.0, 0.1]:
            def fn(logits, target, r=reduction, ls=ls):
                return F.cross_entropy(logits, target, reduction=r, label_smoothing=ls)
            cases.append(backward_case("%s_ls%g" % (reduction, ls), fn,
                                       {"logits": logits, "target": target},
                                       {"reduction": reduction, "label_smoothing": ls},
                                       scalar=(reduction != "none")))
    return cases


def mse_cases():
    torch.manual_seed(6)
    cases = []
    x, t = randn(3, 4), randn(3, 4)
    for reduction in ["mean", "sum", "none"]:
        def fn(x, target, r=reduction):
            return F.mse_loss(x, target, reduction=r)
        cases.append(backward_case(reduction, fn, {"x": x, "target": t},
                                   {"reduction": reduction}, scalar=(reduction != "none")))
    return cases


# ---- softmax and activations -------------------------------------------------
def softmax_cases():
    torch.manual_seed(7)
    cases = []
    x = randn(3, 4, 5, scale=2.0)
    for op, f in [("softmax", F.softmax), ("log_softmax", F.log_softmax)]:
        for dim in [1, -1, 0]:
            def fn(x, f=f, dim=dim):
                return f(x, dim=dim)
            cases.append(backward_case("%s_dim%d" % (op, dim), fn, {"x": x},
                                       {"op": op, "dim": dim}))
    return cases


def activation_cases():
    torch.manual_seed(8)
    # Spread over [-4, 4]; no value sits within 1e-3 of 0, where relu-like
    # kinks make the gradient convention-dependent.
    x = randn(4, 6, scale=2.0)
    x = torch.where(x.abs() < 1e-3, torch.full_like(x, 0.5), x)
    configs = [
        ("relu", {}, F.relu),
        ("leaky_relu", {"negative_slope": 0.01}, lambda x: F.leaky_relu(x, 0.01)),
        ("leaky_relu", {"negative_slope": 0.2}, lambda x: F.leaky_relu(x, 0.2)),
        ("elu", {"alpha": 1.0}, lambda x: F.elu(x, 1.0)),
        ("elu", {"alpha": 0.7}, lambda x: F.elu(x, 0.7)),
        ("gelu", {"approximate": "none"}, lambda x: F.gelu(x, approximate="none")),
        ("gelu", {"approximate": "tanh"}, lambda x: F.gelu(x, approximate="tanh")),
        ("silu", {}, F.silu),
        ("sigmoid", {}, torch.sigmoid),
        ("tanh", {}, torch.tanh),
    ]
    cases = []
    for op, params, f in configs:
        name = op + "".join("_%s" % v for v in params.values())
        cases.append(backward_case(name, lambda x, f=f: f(x), {"x": x}, dict(op=op, **params)))
    return cases


def linear_cases():
    torch.manual_seed(9)
    cases = []
    cases.append(backward_case("linear_2d", lambda x, w, b: F.linear(x, w, b),
                               {"x": randn(3, 4), "w": randn(5, 4), "b": randn(5)}, {"op": "linear"}))
    cases.append(backward_case("linear_3d", lambda x, w, b: F.linear(x, w, b),
                               {"x": randn(2, 3, 4), "w": randn(5, 4), "b": randn(5)},
                               {"op": "linear"}))
    cases.append(backward_case("linear_no_bias", lambda x, w: F.linear(x, w),
                               {"x": randn(3, 4), "w": randn(2, 4)}, {"op": "linear"}))
    cases.append(backward_case("matmul_2d", lambda a, b: torch.matmul(a, b),
                               {"a": randn(3, 4), "b": randn(4, 5)}, {"op": "matmul"}))
    cases.append(backward_case("matmul_3d", lambda a, b: torch.matmul(a, b),
                               {"a": randn(2, 3, 4), "b": randn(2, 4, 5)}, {"op": "matmul"}))
    cases.append(backward_case("bmm", lambda a, b: torch.bmm(a, b),
                               {"a": randn(3, 2, 4), "b": randn(3, 4, 3)}, {"op": "bmm"}))
    return cases


# ---- attention and the Transformer encoder --------------------------------------
def module_case(name, module, inputs, params, call=None):
    """A module's forward and backward (dropout off, training mode, so PyTorch
    takes its composite path): its parameters, inputs, output and every
    gradient. inputs: ordered dict name -> tensor (floating ones require grad;
    integer ones, such as bool masks stored as 0/1, are passed as they are)."""
    leaves = {k: (leaf(v) if v.is_floating_point() else v) for k, v in inputs.items()}
    y = (call or module)(**leaves)
    gy = randn(*y.shape)
    y.backward(gy)
    case = {"name": name}
    case.update(params)
    for k, v in inputs.items():
        case[k] = T(v)
    case["gy"] = T(gy)
    case["y"] = T(y)
    for k, v in leaves.items():
        if v.is_floating_point() and v.grad is not None:  # masks may get none
            case["g" + k] = T(v.grad)
    case["params"] = {k: T(v) for k, v in module.named_parameters()}
    case["grads"] = {k: T(v.grad) for k, v in module.named_parameters()}
    return case


def attention_cases():
    torch.manual_seed(19)
    cases = []
    for scale, mask_shape in [(0.5, None), (0.7, (4, 5)), (1.0, (3, 4, 5))]:
        inputs = {"x": randn(2, 3, 4, 5)}
        if mask_shape:
            mask = randn(*mask_shape)
            mask[..., 1] = -30.0  # one key all but dropped (JSON has no -inf; bool masks drop)
            inputs["mask"] = mask
        def fn(x, mask=None, scale=scale):
            return F.softmax(scale * x + (mask if mask is not None else 0.0), dim=-1)
        name = "softmax_scale_%g_mask_%s" % (scale, "x".join(map(str, mask_shape or ())) or "none")
        cases.append(backward_case(name, fn, inputs, {"op": "scaled_masked_softmax",
                                                      "scale": scale}, grad_names=["x"]))

    def mha_case(name, embed, heads, batch_first, q_len, kv_len, mask=None, self_attn=True,
                 padding=None, weights=None):
        """weights: None (need_weights=False), "average" or "per_head"."""
        mha = torch.nn.MultiheadAttention(embed, heads, batch_first=batch_first)
        shape = (lambda n, l: (n, l, embed)) if batch_first else (lambda n, l: (l, n, embed))
        inputs = {"query": randn(*shape(2, q_len))}
        if not self_attn:
            inputs["key"] = randn(*shape(2, kv_len))
            inputs["value"] = randn(*shape(2, kv_len))
        if mask is not None:
            inputs["attn_mask"] = mask
        if padding is not None:
            inputs["key_padding_mask"] = padding

        def as_mask(m):
            return m if m is None or m.is_floating_point() else m.bool()

        def attend(query, key=None, value=None, attn_mask=None, key_padding_mask=None):
            key = query if key is None else key
            value = query if value is None else value
            return mha(query, key, value, attn_mask=as_mask(attn_mask),
                       key_padding_mask=as_mask(key_padding_mask), need_weights=weights is not None,
                       average_attn_weights=weights == "average")

        params = {"op": "multihead_attention", "embed_dim": embed, "num_heads": heads,
                  "batch_first": batch_first}
        case = module_case(name, mha, inputs, params, lambda **kw: attend(**kw)[0])
        if weights is not None:
            with torch.no_grad():
                case["weights"] = T(attend(**inputs)[1])
            case["average_weights"] = weights == "average"
        return case

    cases.append(mha_case("mha_self_batch_first", 8, 2, True, 5, 5))
    float_mask = randn(3, 5)
    float_mask[0, 2] = -30.0
    cases.append(mha_case("mha_cross_float_mask", 8, 4, True, 3, 5, float_mask, False))
    causal = torch.triu(torch.ones(4, 4, dtype=torch.int64), diagonal=1)  # 1 = dropped
    cases.append(mha_case("mha_causal_bool_mask_seq_first", 6, 3, False, 4, 4, causal))
    padding = torch.tensor([[0, 0, 0, 1, 1], [0, 1, 0, 0, 0]], dtype=torch.int64)  # 1 = dropped
    float_mask = randn(4, 5)
    cases.append(mha_case("mha_cross_key_padding_bool_average_weights", 8, 2, True, 4, 5,
                          float_mask, False, padding, "average"))
    # Boolean key padding only: PyTorch 1.13 treats a floating one as boolean
    # too, PyTorch 2 adds it (as danlu does).
    self_padding = torch.tensor([[0, 0, 0, 1], [1, 0, 0, 0]], dtype=torch.int64)
    per_head = torch.zeros(6, 4, 4, dtype=torch.int64)
    per_head[1, 2, 3] = per_head[4, 0, 1] = 1
    cases.append(mha_case("mha_self_key_padding_per_head_weights_seq_first", 6, 3, False,
                          4, 4, per_head, True, self_padding, "per_head"))
    return cases


def encoder_cases():
    torch.manual_seed(20)
    cases = []
    for norm_first in (False, True):
        for activation in ("relu", "gelu"):
            layer = torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0,
                                                     activation=activation, batch_first=True,
                                                     norm_first=norm_first)
            name = "encoder_layer_%s_%s" % ("pre_norm" if norm_first else "post_norm", activation)
            params = {"op": "encoder_layer", "d_model": 8, "nhead": 2, "dim_feedforward": 16,
                      "activation": activation, "norm_first": norm_first}
            cases.append(module_case(name, layer, {"x": randn(2, 5, 8)}, params,
                                     lambda x, layer=layer: layer(x)))
    layer = torch.nn.TransformerEncoderLayer(8, 4, dim_feedforward=12, dropout=0.0,
                                             activation="gelu", batch_first=True, norm_first=True)
    stack = torch.nn.TransformerEncoder(layer, 2, norm=torch.nn.LayerNorm(8),
                                        enable_nested_tensor=False)
    causal = torch.triu(torch.ones(6, 6, dtype=torch.int64), diagonal=1)  # 1 = dropped
    params = {"op": "encoder", "d_model": 8, "nhead": 4, "dim_feedforward": 12,
              "activation": "gelu", "norm_first": True, "num_layers": 2}
    cases.append(module_case("encoder_2_layers_pre_norm_causal", stack,
                             {"x": randn(2, 6, 8), "mask": causal}, params,
                             lambda x, mask: stack(x, mask=mask.bool())))
    return cases


def sgd_cases():
    """SGD trajectories: the parameter after each of 5 steps with given gradients."""
    torch.manual_seed(10)
    cases = []
    configs = [("sgd_plain", dict(lr=0.1)),
               ("sgd_momentum", dict(lr=0.1, momentum=0.9)),
               ("sgd_dampening", dict(lr=0.05, momentum=0.8, dampening=0.5)),
               ("sgd_nesterov", dict(lr=0.1, momentum=0.9, nesterov=True)),
               ("sgd_weight_decay", dict(lr=0.1, momentum=0.9, weight_decay=0.01))]
    for name, options in configs:
        p = torch.nn.Parameter(randn(2, 3))
        grads = [randn(2, 3) for _ in range(5)]
        case = {"name": name, "options": options, "p": T(p), "grads": [T(g) for g in grads]}
        opt = torch.optim.SGD([p], **options)
        trajectory = []
        for g in grads:
            p.grad = g.clone()
            opt.step()
            trajectory.append(T(p))
        case["trajectory"] = trajectory
        cases.append(case)
    return cases


# ---- optimizers ----------------------------------------------------------------
OPT_STEPS = 20


def swats_reference(params, groups, a, noise, options):
    """SWATS in plain Python floats: Keskar & Socher 2017, "Improving
    Generalization Performance by Switching from Adam to SGD" (arXiv:1712.07628),
    Algorithm 1, run per param group (dot products over the group's parameters):
        k += 1;  g = grad + weight_decay * p
        SGD phase:  buf = beta1 * buf + g;  p -= (1 - beta1) * Lambda * buf
        Adam phase: m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g^2
                    s = -lr * sqrt(1 - beta2^k) / (1 - beta1^k) * m / (sqrt(v) + eps);  p += s
                    if s.g != 0:  gamma = s.s / -s.g;  lambda = beta2 * lambda + (1 - beta2) * gamma
                                  if k > 1 and |lambda / (1 - beta2^k) - gamma| < eps_switch:
                                      SGD phase from now on, Lambda = lambda / (1 - beta2^k)
    (the paper's a_k is v here, its v_k is buf, which starts at 0 at the switch;
    the paper uses one epsilon, 1e-9, for both eps and eps_switch). The
    operations run in the C++ kernel's order, so f64 results agree bit for bit.
    Returns the trajectory and, per group, [switch step or 0, Lambda or 0].
    """
    import math
    flat = lambda ts: [t.reshape(-1).tolist() for t in ts]
    p, a, noise = flat(params), flat(a), [flat(n) for n in noise]
    m = [[0.0] * len(x) for x in p]
    v = [[0.0] * len(x) for x in p]
    buf = [[0.0] * len(x) for x in p]
    trajectory = []
    phases = [{"o": dict(options, **g["options"]), "lam": 0.0, "switch_step": 0, "Lambda": 0.0}
              for g in groups]
    for t in range(OPT_STEPS):
        for group, ph in zip(groups, phases):
            o = ph["o"]
            lr, (b1, b2), eps, wd = o["lr"], o["betas"], o["eps"], o["weight_decay"]
            k = t + 1
            sg = ss = 0.0
            for j in group["params"]:
                sg_j = ss_j = 0.0  # per parameter, then summed: the C++ order
                for i in range(len(p[j])):
                    g = 2 * a[j][i] * p[j][i] + noise[t][j][i]
                    g = g + wd * p[j][i]
                    if ph["switch_step"]:
                        buf[j][i] = b1 * buf[j][i] + g
                        p[j][i] += -(1 - b1) * ph["Lambda"] * buf[j][i]
                        continue
                    m[j][i] = b1 * m[j][i] + (1 - b1) * g
                    v[j][i] = b2 * v[j][i] + (1 - b2) * g * g
                    rate = -lr * math.sqrt(1 - b2 ** k) / (1 - b1 ** k)
                    s = rate * m[j][i] / (math.sqrt(v[j][i]) + eps)
                    p[j][i] += s
                    sg_j += s * g
                    ss_j += s * s
                sg += sg_j
                ss += ss_j
            if ph["switch_step"] or sg == 0.0:
                continue
            gamma = ss / -sg
            ph["lam"] = b2 * ph["lam"] + (1 - b2) * gamma
            estimate = ph["lam"] / (1 - b2 ** k)
            if k > 1 and abs(estimate - gamma) < o["eps_switch"]:
                ph["switch_step"], ph["Lambda"] = k, estimate
        trajectory.append([{"shape": list(p0.shape), "data": list(x)}
                           for p0, x in zip(params, p)])
    return trajectory, [[ph["switch_step"], ph["Lambda"]] for ph in phases]


def optimizer_cases():
    """Optimizer trajectories: OPT_STEPS steps on the loss sum(a * p^2 + noise_t * p).

    The gradient at each step is a function of the parameter,
    grad = 2 * a * p + noise_t, with fixed curvatures a in [0.5, 2.5) and a
    fixed noise sequence, so the C++ test recomputes it from its own parameters
    and the whole trajectory exercises the rule. Every case has two parameters,
    (2, 3) and (4,); "groups" gives each param group's parameter indices and
    option overrides. "options" are the constructor's, by PyTorch name.
    """
    torch.manual_seed(11)
    shapes = [(2, 3), (4,)]
    p0 = [randn(*s) for s in shapes]
    a = [torch.rand(*s, dtype=F64) * 2 + 0.5 for s in shapes]
    noise = [[randn(*s, scale=0.5) for s in shapes] for _ in range(OPT_STEPS)]
    one = [{"params": [0, 1], "options": {}}]
    swats = {"lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-9, "weight_decay": 0.0,
             "eps_switch": 1e-9}
    configs = [
        ("sgd_plain", "SGD", {"lr": 0.1}, one),
        ("sgd_momentum", "SGD", {"lr": 0.05, "momentum": 0.9}, one),
        ("sgd_dampening", "SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3}, one),
        ("sgd_nesterov_weight_decay", "SGD",
         {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}, one),
        ("sgd_two_groups", "SGD", {"lr": 0.1, "momentum": 0.5},
         [{"params": [0], "options": {}},
          {"params": [1], "options": {"lr": 0.02, "momentum": 0.9}}]),
        ("adam", "Adam", {"lr": 0.05}, one),
        ("adam_weight_decay", "Adam", {"lr": 0.05, "betas": [0.8, 0.99], "weight_decay": 0.1}, one),
        ("adam_amsgrad", "Adam", {"lr": 0.05, "amsgrad": True, "eps": 1e-3}, one),
        ("adam_two_groups", "Adam", {"lr": 0.05},
         [{"params": [0], "options": {}},
          {"params": [1], "options": {"lr": 0.01, "betas": [0.5, 0.9]}}]),
        ("adamw", "AdamW", {"lr": 0.05}, one),
        ("adamw_amsgrad", "AdamW", {"lr": 0.05, "weight_decay": 0.5, "amsgrad": True}, one),
        ("adagrad", "Adagrad", {"lr": 0.1}, one),
        ("adagrad_lr_decay_weight_decay", "Adagrad",
         {"lr": 0.2, "lr_decay": 0.05, "weight_decay": 0.1, "initial_accumulator_value": 0.5,
          "eps": 1e-6}, one),
        ("adadelta", "Adadelta", {}, one),
        ("adadelta_rho_weight_decay", "Adadelta",
         {"lr": 0.5, "rho": 0.8, "eps": 1e-4, "weight_decay": 0.1}, one),
        ("rmsprop", "RMSprop", {"lr": 0.01}, one),
        ("rmsprop_momentum", "RMSprop", {"lr": 0.01, "momentum": 0.9}, one),
        ("rmsprop_centered", "RMSprop", {"lr": 0.01, "alpha": 0.9, "centered": True}, one),
        ("rmsprop_centered_momentum_weight_decay", "RMSprop",
         {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.1, "eps": 1e-4}, one),
        # eps_switch picked so that a switch happens (step 9) with |Lambda - gamma|
        # at least 10% away from it on every step: f32 runs switch on the same step.
        ("swats_adam_phase", "SWATS", swats, one),
        ("swats_switch", "SWATS", dict(swats, eps_switch=3.5e-5), one),
        ("swats_two_groups_weight_decay", "SWATS", dict(swats, eps_switch=3e-5, weight_decay=0.1),
         [{"params": [0], "options": {}}, {"params": [1], "options": {"lr": 0.03}}]),
    ]
    cases = []
    for name, kind, options, groups in configs:
        case = {"name": name, "type": kind, "options": options, "groups": groups,
                "p0": [T(p) for p in p0], "a": [T(x) for x in a],
                "noise": [[T(n) for n in step] for step in noise]}
        if kind == "SWATS":
            case["trajectory"], case["switch"] = swats_reference(p0, groups, a, noise, options)
        else:
            params = [torch.nn.Parameter(p.clone()) for p in p0]
            torch_options = {k: tuple(v) if k == "betas" else v for k, v in options.items()}
            torch_groups = [dict({k: tuple(v) if k == "betas" else v
                                  for k, v in g["options"].items()},
                                 params=[params[i] for i in g["params"]]) for g in groups]
            opt = getattr(torch.optim, kind)(torch_groups, **torch_options)
            case["trajectory"] = []
            for step_noise in noise:
                for p, x, n in zip(params, a, step_noise):
                    p.grad = 2 * x * p.detach() + n
                opt.step()
                case["trajectory"].append([T(p) for p in params])
        cases.append(case)
    return cases


# ---- learning-rate schedulers ----------------------------------------------
def scheduler_cases():
    """LR sequences: PyTorch's schedulers run over an SGD with momentum and two
    param groups; Paddle's, TensorFlow's and Caffe's computed from their
    published formulas (restated below with their source). A case holds the
    JSON spec make_scheduler() reads, the optimizer's per-group lr and momentum,
    and lrs[t] = the per-group lrs after t step() calls (t = 0: after the
    constructor); "momentum" the same for momentum-cycling schedules,
    "metrics" the values passed to ReduceLROnPlateau.step(), "lambdas" the
    names of LambdaLR's/MultiplicativeLR's functions (C++ lambdas in the test).
    """
    import math
    import warnings
    from torch.optim import lr_scheduler as S

    group_lrs, group_momentum, steps = [0.1, 0.05], [0.9, 0.8], 60
    lambdas = {"pow095": lambda e: 0.95 ** e, "inv_epoch1": lambda e: 1.0 / (e + 1),
               "const09": lambda e: 0.9, "linear001": lambda e: 1.0 - 0.01 * e}

    def optimizer():
        groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr, "momentum": m}
                  for lr, m in zip(group_lrs, group_momentum)]
        return torch.optim.SGD(groups, lr=0.1, momentum=0.9)

    def build(opt, spec, names=None):
        kwargs = {k: v for k, v in spec.items() if k != "type"}
        if "schedulers" in kwargs:
            kwargs["schedulers"] = [build(opt, s) for s in kwargs["schedulers"]]
            if spec["type"] == "ChainedScheduler":
                return S.ChainedScheduler(**kwargs)
        if names:
            kwargs["lr_lambda"] = [lambdas[n] for n in names]
        return getattr(S, spec["type"])(opt, **kwargs)

    def torch_case(name, spec, n=steps, metrics=None, names=None):
        opt = optimizer()
        sched = build(opt, spec, names)
        lrs = [list(group_lrs)] if metrics else [sched.get_last_lr()]
        momentum = [[g["momentum"] for g in opt.param_groups]]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SequentialLR's own step(0) is "deprecated"
            for t in range(n - 1):
                opt.step()
                if metrics:
                    sched.step(metrics[t])
                    lrs.append([g["lr"] for g in opt.param_groups])
                else:
                    sched.step()
                    lrs.append(sched.get_last_lr())
                momentum.append([g["momentum"] for g in opt.param_groups])
        case = {"name": name, "spec": spec, "group_lrs": group_lrs,
                "group_momentum": group_momentum, "lrs": lrs}
        if spec.get("cycle_momentum", spec["type"] in ("CyclicLR", "OneCycleLR")):
            case["momentum"] = momentum
        if metrics:
            case["metrics"] = metrics[:n - 1]
        if names:
            case["lambdas"] = names
        return case

    plateau_metrics = [1.0, 0.9, 0.8, 0.8, 0.8, 0.8, 0.79, 0.795, 0.7, 0.7, 0.7, 0.7, 0.7,
                       0.69, 0.5, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.4, 0.4, 0.4,
                       0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4]
    cases = [
        torch_case("LambdaLR_per_group", {"type": "LambdaLR"}, names=["pow095", "inv_epoch1"]),
        torch_case("MultiplicativeLR_per_group", {"type": "MultiplicativeLR"},
                   names=["const09", "linear001"]),
        torch_case("StepLR", {"type": "StepLR", "step_size": 7, "gamma": 0.5}),
        torch_case("StepLR_every_step", {"type": "StepLR", "step_size": 1, "gamma": 0.9}),
        torch_case("MultiStepLR_repeated_milestone",
                   {"type": "MultiStepLR", "milestones": [5, 5, 20, 40], "gamma": 0.3}),
        torch_case("MultiStepLR_milestone_0", {"type": "MultiStepLR", "milestones": [0, 10]}),
        torch_case("ConstantLR", {"type": "ConstantLR", "factor": 0.25, "total_iters": 8}),
        torch_case("ConstantLR_defaults", {"type": "ConstantLR"}),
        torch_case("LinearLR_warmup", {"type": "LinearLR", "start_factor": 0.1,
                                       "total_iters": 10}),
        torch_case("LinearLR_to_zero", {"type": "LinearLR", "start_factor": 1.0,
                                        "end_factor": 0.0, "total_iters": 20}),
        torch_case("ExponentialLR", {"type": "ExponentialLR", "gamma": 0.93}),
        torch_case("PolynomialLR", {"type": "PolynomialLR", "total_iters": 30, "power": 2.0}),
        torch_case("PolynomialLR_defaults", {"type": "PolynomialLR"}),
        torch_case("CosineAnnealingLR_periodic", {"type": "CosineAnnealingLR", "T_max": 10,
                                                  "eta_min": 0.001}),
        torch_case("CosineAnnealingLR", {"type": "CosineAnnealingLR", "T_max": 25}),
        torch_case("CosineAnnealingWarmRestarts", {"type": "CosineAnnealingWarmRestarts",
                                                   "T_0": 5, "eta_min": 0.001}),
        torch_case("CosineAnnealingWarmRestarts_T_mult2",
                   {"type": "CosineAnnealingWarmRestarts", "T_0": 3, "T_mult": 2}),
        torch_case("CyclicLR_triangular", {"type": "CyclicLR", "base_lr": [0.01, 0.005],
                                           "max_lr": [0.1, 0.05], "step_size_up": 5}),
        torch_case("CyclicLR_triangular2", {"type": "CyclicLR", "base_lr": 0.001, "max_lr": 0.1,
                                            "step_size_up": 4, "step_size_down": 6,
                                            "mode": "triangular2", "base_momentum": 0.85,
                                            "max_momentum": [0.95, 0.9]}),
        torch_case("CyclicLR_exp_range", {"type": "CyclicLR", "base_lr": 0.01, "max_lr": 0.1,
                                          "step_size_up": 5, "mode": "exp_range",
                                          "gamma": 0.97}),
        torch_case("CyclicLR_no_momentum", {"type": "CyclicLR", "base_lr": 0.01, "max_lr": 0.1,
                                            "step_size_up": 3, "cycle_momentum": False}),
        torch_case("OneCycleLR_cos", {"type": "OneCycleLR", "max_lr": [0.5, 0.25],
                                      "total_steps": 59}),
        torch_case("OneCycleLR_linear_three_phase",
                   {"type": "OneCycleLR", "max_lr": 0.4, "total_steps": 59,
                    "anneal_strategy": "linear", "three_phase": True}),
        torch_case("OneCycleLR_epochs", {"type": "OneCycleLR", "max_lr": 0.3, "epochs": 6,
                                         "steps_per_epoch": 10, "pct_start": 0.25,
                                         "div_factor": 10.0, "final_div_factor": 100.0,
                                         "base_momentum": 0.8, "max_momentum": 0.9}),
        torch_case("OneCycleLR_no_momentum", {"type": "OneCycleLR", "max_lr": 0.2,
                                              "total_steps": 40, "cycle_momentum": False},
                   n=41),
        torch_case("ReduceLROnPlateau_min_rel_cooldown",
                   {"type": "ReduceLROnPlateau", "factor": 0.5, "patience": 2, "cooldown": 2,
                    "threshold": 0.01, "min_lr": [0.01, 0.0]},
                   n=40, metrics=plateau_metrics),
        torch_case("ReduceLROnPlateau_max_abs_eps",
                   {"type": "ReduceLROnPlateau", "mode": "max", "factor": 0.7, "patience": 1,
                    "threshold": 0.05, "threshold_mode": "abs", "eps": 0.01},
                   n=40, metrics=[1.0 - m for m in plateau_metrics]),
        torch_case("SequentialLR_warmup_cosine",
                   {"type": "SequentialLR", "milestones": [5], "schedulers": [
                       {"type": "LinearLR", "start_factor": 0.1, "total_iters": 5},
                       {"type": "CosineAnnealingLR", "T_max": 20, "eta_min": 0.001}]}),
        torch_case("SequentialLR_constant_exponential",
                   {"type": "SequentialLR", "milestones": [2], "schedulers": [
                       {"type": "ConstantLR", "factor": 0.1, "total_iters": 2},
                       {"type": "ExponentialLR", "gamma": 0.9}]}),
        torch_case("SequentialLR_three",
                   {"type": "SequentialLR", "milestones": [3, 20], "schedulers": [
                       {"type": "ConstantLR", "factor": 0.5, "total_iters": 3},
                       {"type": "StepLR", "step_size": 4, "gamma": 0.7},
                       {"type": "CosineAnnealingWarmRestarts", "T_0": 8}]}),
        torch_case("SequentialLR_restarts_first",
                   {"type": "SequentialLR", "milestones": [20], "schedulers": [
                       {"type": "CosineAnnealingWarmRestarts", "T_0": 7, "eta_min": 0.01},
                       {"type": "ExponentialLR", "gamma": 0.95}]}),
        torch_case("ChainedScheduler_constant_exponential",
                   {"type": "ChainedScheduler", "schedulers": [
                       {"type": "ConstantLR", "factor": 0.1, "total_iters": 2},
                       {"type": "ExponentialLR", "gamma": 0.9}]}),
        torch_case("ChainedScheduler_warmup_cosine",
                   {"type": "ChainedScheduler", "schedulers": [
                       {"type": "LinearLR", "start_factor": 0.2, "total_iters": 6},
                       {"type": "CosineAnnealingLR", "T_max": 30}]}),
    ]

    def formula_case(name, spec, lr_at):
        """lr_at(t, group_lr) -> the lr after t steps."""
        lrs = [[lr_at(t, g) for g in group_lrs] for t in range(steps)]
        return {"name": name, "spec": spec, "group_lrs": group_lrs,
                "group_momentum": group_momentum, "lrs": lrs}

    # paddle.optimizer.lr (Paddle 2.x, python/paddle/optimizer/lr.py). Their
    # learning_rate defaults to the param group's lr here.
    def piecewise(boundaries, values):
        def at(t, base):
            for b, v in zip(boundaries, values):
                if t < b:
                    return v
            return values[-1]
        return at

    def polynomial_decay(decay_steps, end_lr, power, cycle, lr=None):
        def at(t, base):
            base = base if lr is None else lr
            epoch, steps_ = t, decay_steps
            if cycle:
                div_res = 1 if t == 0 else math.ceil(float(t) / float(decay_steps))
                steps_ = decay_steps * div_res
            else:
                epoch = min(t, decay_steps)
            return (base - end_lr) * ((1 - float(epoch) / float(steps_)) ** power) + end_lr
        return at

    def noam(d_model, warmup_steps, lr=None):
        def at(t, base):
            a = 1 if t == 0 else t ** -0.5
            b = warmup_steps ** -1.5 * t
            return (base if lr is None else lr) * (d_model ** -0.5) * min(a, b)
        return at

    def linear_warmup(warmup_steps, start_lr, end_lr, after):
        def at(t, base):
            if t < warmup_steps:
                return (end_lr - start_lr) * float(t) / float(warmup_steps) + start_lr
            return after(t - warmup_steps, base)
        return at

    def torch_closed_form(spec):
        """A PyTorch schedule stepped with step(epoch), as Paddle's LinearWarmup
        steps the schedule it hands over to: one run per group's lr."""
        sequences = {}
        for g, base in enumerate(group_lrs):
            opt = optimizer()
            sched = build(opt, spec)
            seq = []
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for e in range(steps):
                    sched.step(e)
                    seq.append(sched.get_last_lr()[g])
            sequences[base] = seq
        return lambda e, base: sequences[base][e]

    # tf.keras.optimizers.schedules (keras learning_rate_schedule.py, TF 2.x)
    # and tf.compat.v1.train.(noisy_)linear_cosine_decay.
    def cosine_decay(decay_steps, alpha):
        def at(t, base):
            step = min(float(t), float(decay_steps))
            cosine_decayed = 0.5 * (1.0 + math.cos(math.pi * (step / decay_steps)))
            return base * ((1 - alpha) * cosine_decayed + alpha)
        return at

    def cosine_decay_restarts(first_decay_steps, t_mul, m_mul, alpha, lr=None):
        def at(t, base):
            completed_fraction = float(t) / float(first_decay_steps)
            if t_mul == 1.0:
                i_restart = math.floor(completed_fraction)
                completed_fraction -= i_restart
            else:
                i_restart = math.floor(math.log(1.0 - completed_fraction * (1.0 - t_mul)) /
                                       math.log(t_mul))
                sum_r = (1.0 - t_mul ** i_restart) / (1.0 - t_mul)
                completed_fraction = (completed_fraction - sum_r) / t_mul ** i_restart
            m_fac = m_mul ** i_restart
            cosine_decayed = 0.5 * m_fac * (1.0 + math.cos(math.pi * completed_fraction))
            return (base if lr is None else lr) * ((1 - alpha) * cosine_decayed + alpha)
        return at

    def splitmix64(seed, n):
        # schedulers/noise.h: output n of the SplitMix64 stream seeded with `seed`.
        mask = (1 << 64) - 1
        z = (seed + (n + 1) * 0x9E3779B97F4A7C15) & mask
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        return z ^ (z >> 31)

    def standard_normal(seed, step):
        u1 = float((splitmix64(seed, 2 * step) >> 11) + 1) * 2.0 ** -53
        u2 = float(splitmix64(seed, 2 * step + 1) >> 11) * 2.0 ** -53
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)

    def linear_cosine(decay_steps, num_periods, alpha, beta, noise=None):
        """noise = (initial_variance, variance_decay, seed) for the noisy one."""
        def at(t, base):
            step = min(float(t), float(decay_steps))
            linear_decayed = (decay_steps - step) / decay_steps
            if noise:
                initial_variance, variance_decay, seed = noise
                variance = initial_variance / ((1.0 + step) ** variance_decay)
                linear_decayed = linear_decayed + standard_normal(seed, t) * math.sqrt(variance)
            fraction = 2.0 * num_periods * (step / decay_steps)
            cosine_decayed = 0.5 * (1.0 + math.cos(math.pi * fraction))
            return base * ((alpha + linear_decayed) * cosine_decayed + beta)
        return at

    cases += [
        formula_case("PiecewiseDecay", {"type": "PiecewiseDecay", "boundaries": [5, 15, 30],
                                        "values": [0.1, 0.05, 0.01, 0.001]},
                     piecewise([5, 15, 30], [0.1, 0.05, 0.01, 0.001])),
        # lr = learning_rate * exp(-gamma * epoch)
        formula_case("NaturalExpDecay", {"type": "NaturalExpDecay", "gamma": 0.1},
                     lambda t, base: base * math.exp(-1 * 0.1 * t)),
        formula_case("NaturalExpDecay_own_lr", {"type": "NaturalExpDecay", "gamma": 0.05,
                                                "learning_rate": 0.5},
                     lambda t, base: 0.5 * math.exp(-1 * 0.05 * t)),
        # lr = learning_rate / (1 + gamma * epoch)
        formula_case("InverseTimeDecay", {"type": "InverseTimeDecay", "gamma": 0.5},
                     lambda t, base: base / (1 + 0.5 * t)),
        formula_case("PolynomialDecay", {"type": "PolynomialDecay", "decay_steps": 20,
                                         "end_lr": 0.001, "power": 2.0},
                     polynomial_decay(20, 0.001, 2.0, False)),
        formula_case("PolynomialDecay_cycle", {"type": "PolynomialDecay", "decay_steps": 15,
                                               "cycle": True, "learning_rate": 0.2},
                     polynomial_decay(15, 0.0001, 1.0, True, lr=0.2)),
        formula_case("LinearWarmup_number", {"type": "LinearWarmup", "learning_rate": 0.08,
                                             "warmup_steps": 10, "start_lr": 0.0,
                                             "end_lr": 0.1},
                     linear_warmup(10, 0.0, 0.1, lambda e, base: 0.08)),
        formula_case("LinearWarmup_group_lr", {"type": "LinearWarmup", "warmup_steps": 4,
                                               "start_lr": 0.01, "end_lr": 0.2},
                     linear_warmup(4, 0.01, 0.2, lambda e, base: base)),
        formula_case("LinearWarmup_PolynomialDecay",
                     {"type": "LinearWarmup", "warmup_steps": 8, "start_lr": 0.0,
                      "end_lr": 0.1, "learning_rate": {"type": "PolynomialDecay",
                                                       "decay_steps": 30, "power": 1.5}},
                     linear_warmup(8, 0.0, 0.1, polynomial_decay(30, 0.0001, 1.5, False))),
        formula_case("LinearWarmup_CosineAnnealingLR",
                     {"type": "LinearWarmup", "warmup_steps": 5, "start_lr": 0.001,
                      "end_lr": 0.1, "learning_rate": {"type": "CosineAnnealingLR",
                                                       "T_max": 20, "eta_min": 0.002}},
                     linear_warmup(5, 0.001, 0.1, torch_closed_form(
                         {"type": "CosineAnnealingLR", "T_max": 20, "eta_min": 0.002}))),
        formula_case("NoamDecay", {"type": "NoamDecay", "d_model": 64, "warmup_steps": 10,
                                   "learning_rate": 1.0}, noam(64, 10, lr=1.0)),
        formula_case("NoamDecay_group_lr", {"type": "NoamDecay", "d_model": 0.01,
                                            "warmup_steps": 25}, noam(0.01, 25)),
        # lr = initial_learning_rate * ((1 - alpha) * 0.5 * (1 + cos(pi * step / decay_steps)) + alpha)
        formula_case("CosineDecay", {"type": "CosineDecay", "decay_steps": 40, "alpha": 0.1},
                     cosine_decay(40, 0.1)),
        formula_case("CosineDecayRestarts", {"type": "CosineDecayRestarts",
                                             "first_decay_steps": 10, "m_mul": 0.8,
                                             "alpha": 0.05},
                     cosine_decay_restarts(10, 2.0, 0.8, 0.05)),
        formula_case("CosineDecayRestarts_t_mul1", {"type": "CosineDecayRestarts",
                                                    "initial_learning_rate": 0.3,
                                                    "first_decay_steps": 7, "t_mul": 1.0,
                                                    "m_mul": 0.5},
                     cosine_decay_restarts(7, 1.0, 0.5, 0.0, lr=0.3)),
        formula_case("LinearCosineDecay", {"type": "LinearCosineDecay", "decay_steps": 50,
                                           "num_periods": 2.0},
                     linear_cosine(50, 2.0, 0.0, 0.001)),
        formula_case("NoisyLinearCosineDecay", {"type": "NoisyLinearCosineDecay",
                                                "decay_steps": 50, "initial_variance": 0.1,
                                                "seed": 7},
                     linear_cosine(50, 0.5, 0.0, 0.001, noise=(0.1, 0.55, 7))),
        # Caffe SGDSolver::GetLearningRate: "inv" and "sigmoid".
        formula_case("caffe_inv", {"type": "inv", "gamma": 0.1, "power": 0.75},
                     lambda t, base: base * (1 + 0.1 * t) ** -0.75),
        formula_case("caffe_sigmoid_decay", {"type": "sigmoid", "gamma": -0.2, "stepsize": 30},
                     lambda t, base: base * (1. / (1. + math.exp(0.2 * (t - 30))))),
        formula_case("caffe_sigmoid_rise", {"type": "sigmoid", "base_lr": 0.3, "gamma": 0.5,
                                            "stepsize": 10},
                     lambda t, base: 0.3 * (1. / (1. + math.exp(-0.5 * (t - 10))))),
    ]
    return cases


SAFETENSORS_DTYPES = {torch.float32: ("F32", "f"), torch.float64: ("F64", "d"),
                      torch.int64: ("I64", "q")}


def write_safetensors(name, tensors, metadata):
    """Writes (name, tensor) pairs to tests/reference/<name> in the
    safetensors format, implemented here from the spec (not the safetensors
    package): a u64 little-endian header length, the JSON header padded with
    spaces so the data starts 8-byte aligned, then each tensor's
    little-endian bytes."""
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for key, t in tensors:
        dtype, fmt = SAFETENSORS_DTYPES[t.dtype]
        blob = struct.pack("<%d%s" % (t.numel(), fmt), *t.reshape(-1).tolist())
        header[key] = {"dtype": dtype, "shape": list(t.shape),
                       "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    path = os.path.join(HERE, name)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    print("%-22s %3d tensors %5d bytes" % (name, len(tensors), os.path.getsize(path)))


def torch_written_safetensors():
    """Writes torch_written.safetensors, a small PyTorch model's state_dict plus
    a few extra tensors, with the format implemented here from the spec (not
    the safetensors package), and torch_written.json with what the C++ test
    must read back: names in file order, dtypes, shapes and exact values."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2)).float()
    with torch.no_grad():
        for _ in range(2):  # moves the running statistics; num_batches_tracked = 2
            model(torch.randn(4, 1, 5, 5, dtype=torch.float32))
    extra = [("extra.f64", torch.randn(2, 3, dtype=F64)),
             ("extra.empty", torch.zeros(0, 3, dtype=torch.float32)),
             ("extra.i64", torch.tensor([-5, 0, 2 ** 62], dtype=torch.int64))]
    tensors = list(model.state_dict().items()) + extra
    metadata = {"format": "pt", "source": "tests/reference/make_vectors.py"}

    write_safetensors("torch_written.safetensors", tensors, metadata)

    lines = [json.dumps(dict(name=n, dtype=SAFETENSORS_DTYPES[t.dtype][0], **T(t)),
                        separators=(",", ":"))
             for n, t in tensors]
    with open(os.path.join(HERE, "torch_written.json"), "w") as f:
        f.write('{"generator":"tests/reference/make_vectors.py, torch %s",\n'
                % torch.__version__.split("a")[0].split("+")[0])
        f.write('"metadata":%s,\n' % json.dumps(metadata, separators=(",", ":")))
        f.write('"extra":%s,\n' % json.dumps([n for n, _ in extra], separators=(",", ":")))
        f.write('"tensors":[\n' + ",\n".join(lines) + "\n]}\n")


def torch_fashion_cnn():
    """Writes torch_fashion_cnn.safetensors, the state_dict of a PyTorch twin of
    danlu's fashion_cnn preset (random weights, BatchNorm statistics moved by
    three training batches), and torch_fashion_cnn.json with two input images
    and the logits PyTorch computes for them in eval mode: loading the file
    into danlu must give the same logits."""
    torch.manual_seed(0)
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64),
                          nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 7 * 7, 10)).float()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(8, 1, 28, 28, dtype=torch.float32))
    model.eval()
    x = torch.randn(2, 1, 28, 28, dtype=torch.float32)
    with torch.no_grad():
        logits = model(x)
    write_safetensors("torch_fashion_cnn.safetensors", list(model.state_dict().items()),
                      {"format": "pt"})
    with open(os.path.join(HERE, "torch_fashion_cnn.json"), "w") as f:
        f.write('{"generator":"tests/reference/make_vectors.py, torch %s",\n'
                % torch.__version__.split("a")[0].split("+")[0])
        f.write('"input":%s,\n' % json.dumps(T(x), separators=(",", ":")))
        f.write('"logits":%s}\n' % json.dumps(T(logits), separators=(",", ":")))


def main():
    write("conv2d.json", conv_cases())
    write("batch_norm.json", batch_norm_cases())
    write("layer_norm.json", layer_norm_cases())
    write("pool.json", pool_cases())
    write("cross_entropy.json", cross_entropy_cases())
    write("mse_loss.json", mse_cases())
    write("softmax.json", softmax_cases())
    write("activation.json", activation_cases())
    write("linear.json", linear_cases())
    write("attention.json", attention_cases())
    write("transformer_encoder.json", encoder_cases())
    write("sgd.json", sgd_cases())
    write("optimizers.json", optimizer_cases())
    write("schedulers.json", scheduler_cases())
    torch_written_safetensors()
    torch_fashion_cnn()


if __name__ == "__main__":
    main()
