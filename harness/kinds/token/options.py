"""The run options of the ``token`` kind and the adapter they put around a target.

==========  ==========================  =====================================================
option      CLI / attribute             what
==========  ==========================  =====================================================
``law``     ``--law P`` /               the law profile (:data:`reference.token_laws.PROFILES`)
            ``gumbel_harness_law``      every check's expected law and probe uses (default hf)
``filters`` ``--filters a,b`` /         the parameters the engine has (``temperature``,
            ``gumbel_harness_filters``  ``top_k``, ``top_p``, ``min_p``; default all): the
                                        others are never passed, and the checks that need
                                        them are *not applicable*
``params``  ``--scalar-params`` /       ``scalar``: the engine takes one value per parameter
            ``gumbel_harness_params``   per call; the harness groups rows with equal
                                        parameters and calls once per group
``rng``     ``--rng global`` /          ``global``: the engine draws from torch's default
            ``gumbel_harness_rng``      generator; the harness seeds it before each call
                                        (``torch.manual_seed(seed)``) and does not report it
==========  ==========================  =====================================================

At the defaults :func:`wrap` returns the target itself (no adapter at all).
"""
from __future__ import annotations

from typing import Any, Callable

from harness.core.options import Option, Options

__all__ = ["OPTIONS", "FILTERS", "wrap", "seeds_torch", "declared", "TokenAdapter"]

#: every parameter a token engine may have, in the protocol's order
FILTERS = ("temperature", "top_k", "top_p", "min_p")
_OFF = {"top_k": 0, "top_p": 1.0, "min_p": 0.0}


def _law(v: Any) -> str:
    from reference.token_laws import get_profile

    return get_profile(v).name


def _filters(v: Any) -> tuple[str, ...]:
    items = [s.strip() for s in v.split(",")] if isinstance(v, str) else [str(s).strip() for s in v]
    items = [s for s in items if s and s != "none"]
    bad = [s for s in items if s not in FILTERS]
    if bad:
        raise ValueError(f"unknown filter(s) {', '.join(map(repr, bad))}; choose from {', '.join(FILTERS)} "
                         "(or none)")
    return tuple(f for f in FILTERS if f in items)


def _choice(*allowed: str) -> Callable[[Any], str]:
    def parse(v: Any) -> str:
        if str(v) not in allowed:
            raise ValueError(f"{v!r} is not one of {', '.join(allowed)}")
        return str(v)
    return parse


OPTIONS = (
    Option("law", "the law profile to check against (hf, vllm, sglang, llama.cpp, mlx-lm; default hf)", "hf",
           _law, metavar="PROFILE", headline="law profile {}"),
    Option("filters", "the parameters the engine has, comma-separated (temperature,top_k,top_p,min_p; default "
           "all): checks needing another are not applicable", FILTERS, _filters, metavar="LIST"),
    Option("params", "scalar: the engine takes one value per parameter per call (rows are grouped)", "batched",
           _choice("batched", "scalar"), flag="--scalar-params", const="scalar"),
    Option("rng", "global: the engine draws from torch's default generator (the harness seeds it before each "
           "call)", "argument", _choice("argument", "global"), metavar="argument|global"),
)


def declared(options: Options | None) -> tuple[str, ...]:
    """The filters the engine declares (all when no options)."""
    return tuple(options["filters"]) if options else FILTERS


def seeds_torch(options: Options) -> bool:
    """The harness seeds torch's global RNG (``rng = global``)."""
    return options["rng"] == "global"


class TokenAdapter:
    """The target under non-default options (module doc): drops undeclared parameters, calls
    once per group of rows with equal parameters (``params = scalar``, as Python scalars, "off"
    as ``None``), seeds torch's default generator before each call (``rng = global``)."""

    def __init__(self, fn: Callable, options: Options):
        self.fn = fn
        self.filters = declared(options)
        self.scalar = options["params"] == "scalar"
        self.global_rng = options["rng"] == "global"

    def __getattr__(self, item: str) -> Any:
        if item == "fn":
            raise AttributeError(item)
        return getattr(self.fn, item)

    def _call(self, x, t, kw: dict, seed: int):
        if self.global_rng:
            import torch

            torch.manual_seed(int(seed) % (2**63))
        kw = {k: v for k, v in kw.items() if k in self.filters}
        return self.fn(x, t, **kw, seed=seed)

    def __call__(self, logits: Any, temperature: Any = 1.0, *, top_k: Any = None, top_p: Any = None,
                 min_p: Any = None, seed: int = 0) -> Any:
        kw = {"top_k": top_k, "top_p": top_p, "min_p": min_p}
        if not self.scalar:
            return self._call(logits, temperature, kw, seed)
        import numpy as np
        import torch

        from reference.token_laws import row_params

        b = int(logits.shape[0])
        rows = row_params(b, temperature, top_k, top_p, min_p)
        out = torch.empty(b, dtype=torch.int64, device=logits.device)
        groups: dict[tuple, list[int]] = {}
        for i, r in enumerate(rows):
            groups.setdefault(tuple(r), []).append(i)
        for g, (key, idx) in enumerate(groups.items()):
            t, k, p, m = key
            vals = {"top_k": None if k in (None, 0) else int(k), "top_p": None if p in (None, 1.0) else float(p),
                    "min_p": None if m in (None, 0.0) else float(m)}
            sel = torch.as_tensor(np.asarray(idx), device=logits.device)
            s = seed if self.global_rng or g == 0 else (int(seed) + g * 0x9E3779B1) % (2**63)
            got = self._call(logits[sel], float(t), vals, s)
            out[sel] = torch.as_tensor(got).reshape(-1).to(device=logits.device, dtype=torch.int64)
        return out


def wrap(fn: Callable, options: Options) -> Callable:
    """``fn`` itself at the default filters / params / rng, else a :class:`TokenAdapter`."""
    if declared(options) == FILTERS and options["params"] == "batched" and options["rng"] == "argument":
        return fn
    return TokenAdapter(fn, options)
