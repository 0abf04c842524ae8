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
    write("sgd.json", sgd_cases())


if __name__ == "__main__":
    main()
