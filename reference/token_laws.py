r"""Closed-form laws of LLM token sampling: temperature, top-k, top-p, min-p, greedy.

For one row of logits ``x`` (length ``V``; entries finite or ``-inf``, at least one finite)
and the per-row parameters ``(T, k, p, m)``, the token law is :func:`token_probs`:

1. **Temperature first.** ``T = 0`` is greedy decoding: the law is the point mass at the
   *lowest index* among the maximal logits (``numpy.argmax`` / ``torch.argmax`` order); the
   filters are then irrelevant (every filter keeps the argmax). For ``T > 0`` the scores are
   ``z = x / T`` (float64). A tiny ``T`` (``1e-5``) is *not* greedy: ties share the mass
   equally and tokens ``T`` nats apart keep the ratio ``e``.
2. **top-k** (``k = None`` or ``0``: off; ``k >= V``: no-op). With ``tau`` the k-th largest
   score (``-inf`` entries counted, so ``tau = -inf`` removes nothing when fewer than ``k``
   tokens are finite), token ``i`` is kept iff ``z_i >= tau``: **every token tied with the
   k-th value is kept**, so more than ``k`` tokens can survive on ties. This is
   HuggingFace's ``TopKLogitsWarper`` (``scores < topk(scores, k).values[..., -1]`` removed)
   and vLLM's threshold form; an implementation keeping exactly ``k`` indices (breaking the
   boundary tie by position) does not follow this law.
3. **top-p** (``p = None`` or ``1``: off; ``0 < p <= 1``). On ``q = softmax(z)`` over the
   tokens kept so far, order the tokens by score ``z`` descending (equal scores: lower index
   first; HuggingFace sorts the scores, so two scores whose probabilities round equal keep
   their order) and keep
   token ``j`` iff the mass of the tokens *before* it is ``< p``: the smallest prefix whose
   mass reaches ``p``, **including the token that crosses p** (the top token is always
   kept). HuggingFace's ``TopPLogitsWarper`` (ascending cumsum ``<= 1 - p`` removed) is the
   same set in exact arithmetic; it orders ties arbitrarily, so the checks never put a tie or
   a cumulative mass within 1e-3 of ``p`` at the boundary.
4. **min-p** (``m = None`` or ``0``: off; ``0 <= m <= 1``). Relative to the **maximum
   probability** of the current (temperature-scaled, top-k/top-p filtered) distribution:
   token ``i`` is kept iff ``q_i >= m * max_j q_j``, i.e. ``z_i - max z >= log m``
   (HuggingFace ``MinPLogitsWarper``, applied after top-p as in ``generate``).
5. The law is ``softmax(z)`` restricted to the kept tokens and renormalised; ``-inf`` logits
   (masked tokens) have probability exactly 0 whatever the filters do.

Order: temperature, top-k, top-p, min-p (HuggingFace ``generate``'s warper order). top-k and
min-p commute with temperature only through ``z``; top-p does not (its cumulative mass is
computed at temperature ``T``: applying temperature after top-p is a different law).

:func:`token_probs` is the vectorised implementation (sorts); :func:`token_probs_bruteforce`
restates every definition by pairwise enumeration in plain Python (no sort, no cumsum); the
tests check they agree on random and tied rows, and that the HuggingFace warpers keep the
same sets.

**Law profiles.** That law is the :data:`HF` profile. Other engines order the stages
differently or break ties differently; each convention is a frozen :class:`LawProfile` (data:
stage order, top-k rule, top-p base / crossing / tie order, greedy threshold and tie rule, the
engine's "off" values, and the source read), registered in :data:`PROFILES` (``hf``, ``vllm``,
``sglang``, ``llama.cpp``, ``mlx-lm``; :func:`get_profile`). One generic :func:`token_probs`
(``profile=``, default ``hf``, unchanged bit for bit) reads the fields; :func:`ambiguous` says
when a profile does not determine a row's law (an unspecified tie order that matters, or a
boundary rounding decides); :func:`discriminating_rows` finds rows where two profiles' laws differ
(TV, and the aspect of :data:`ASPECTS` that differs).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = ["token_probs", "token_probs_batch", "kept_mask", "token_probs_bruteforce", "validate_token_params", "row_params", "LawProfile", "PROFILES", "get_profile", "stage_names", "STAGE_NAMES", "HF", "VLLM", "SGLANG", "LLAMA_CPP", "MLX_LM", "ambiguous", "unpack_row", "tv_distance"]


def _finite_or_neginf(x: np.ndarray, what: str = "logits") -> np.ndarray:
    if x.dtype.kind not in "fiu":
        raise ValueError(f"{what} must be real numbers, got dtype {x.dtype}")
    x = x.astype(np.float64)
    if np.isnan(x).any():
        raise ValueError(f"{what} contain NaN")
    if np.isposinf(x).any():
        raise ValueError(f"{what} contain +inf")
    if x.shape[-1] == 0:
        raise ValueError(f"{what} have an empty vocabulary (V = 0)")
    if (~np.isfinite(x)).all(axis=-1).any():
        raise ValueError(f"a row of {what} is all -inf: no token can be sampled")
    return x


def validate_token_params(temperature: float, top_k: Any = None, top_p: Any = None,
                          min_p: Any = None) -> tuple[float, int, float, float]:
    """One row's parameters, normalised to ``(T, k, p, m)`` with ``k = 0``, ``p = 1``,
    ``m = 0`` meaning "off". ``ValueError`` for T < 0, NaN or inf, k < 0 or not an integer,
    p outside (0, 1], m outside [0, 1]."""
    t = float(temperature)
    if not math.isfinite(t) or t < 0:
        raise ValueError(f"temperature must be finite and >= 0 (0 = greedy), got {temperature!r}")
    if top_k is None:
        k = 0
    else:
        kf = float(top_k)
        if not math.isfinite(kf) or kf != int(kf) or kf < 0:
            raise ValueError(f"top_k must be a non-negative integer (0 or None = off), got {top_k!r}")
        k = int(kf)
    p = 1.0 if top_p is None else float(top_p)
    if not (0.0 < p <= 1.0):
        raise ValueError(f"top_p must be in (0, 1] (1 or None = off), got {top_p!r}")
    m = 0.0 if min_p is None else float(min_p)
    if not (0.0 <= m <= 1.0):
        raise ValueError(f"min_p must be in [0, 1] (0 or None = off), got {min_p!r}")
    return t, k, p, m


def _softmax_kept(z: np.ndarray, keep: np.ndarray) -> np.ndarray:
    zz = np.where(keep, z, -np.inf)
    e = np.exp(zz - zz.max())
    return e / e.sum()


# --------------------------------------------------------------------------------------------
# Law profiles: the engines' conventions as data
# --------------------------------------------------------------------------------------------

#: the four stages of a token law, in HuggingFace ``generate``'s order
STAGE_NAMES: tuple[str, ...] = ("temperature", "top_k", "top_p", "min_p")
TOP_K_RULES = ("ties_kept", "exact_lowest_index", "exact_unspecified")
TOP_P_BASES = ("renormalised", "full")
TOP_P_CROSSINGS = ("kept", "kept_inclusive", "dropped")
TIE_ORDERS = ("lowest_index", "unspecified")
GREEDY_TIES = ("lowest_index", "any")


@dataclass(frozen=True)
class LawProfile:
    r"""One engine's token-sampling convention, as data (no code path per engine).

    :func:`token_probs` reads these fields and nothing else; every filter works on the
    *current scores* ``s`` of the row (``s = x`` until the ``"temperature"`` stage, ``x / T``
    after it) and on the tokens still kept, in the order of :attr:`stages`; the law is always
    ``softmax(x / T)`` over the tokens kept at the end.

    Fields:

    * ``stages``: a permutation of :data:`STAGE_NAMES`. Where ``"temperature"`` sits decides
      whether top-p / min-p see ``x / T`` or the ``T = 1`` distribution (top-k is
      order-invariant under a positive scale, so only its position relative to top-p matters).
    * ``top_k_rule``: ``"ties_kept"`` (keep ``s_i >=`` the k-th largest score: more than k
      tokens on ties), ``"exact_lowest_index"`` (exactly k, boundary ties to the lower index),
      ``"exact_unspecified"`` (exactly k, which tied token survives is unspecified: a row with a
      tie at the k-th value is *ambiguous*, :func:`ambiguous`).
    * ``top_p_base``: ``"renormalised"`` (mass of the tokens kept so far, renormalised) or
      ``"full"`` (mass of the full distribution at the current scale, earlier removals ignored).
    * ``top_p_crossing``: ``"kept"`` (keep ``j`` iff the mass ranked before it is ``< p``: the
      token crossing p is kept), ``"kept_inclusive"`` (``<= p``: one more token when that mass
      equals p exactly), ``"dropped"`` (keep iff the mass *including* ``j`` is ``< p``; the top
      token is always kept).
    * ``top_p_ties``: order of equal scores in the top-p ranking: ``"lowest_index"`` or
      ``"unspecified"`` (an unstable sort; a tie split by the boundary is ambiguous).
    * min-p keeps ``q_i >= m max q`` on the current distribution (a ratio, so renormalisation
      does not matter); its *position* is in ``stages`` and its *base* (max probability before
      or after the temperature) follows from it: :attr:`min_p_base`.
    * ``greedy_below``: the row is greedy when ``T == 0`` or ``T < greedy_below`` (``0``: only
      ``T == 0``); ``greedy_ties``: ``"lowest_index"`` (``argmax`` order) or ``"any"`` (any
      maximal index: a greedy row with a tied maximum is ambiguous).
    * ``off``: the engine's own "off" values per parameter (``(parameter, values)`` pairs, for
      adapters; :func:`token_probs` always takes the harness convention ``k = 0 / None``,
      ``p = 1 / None``, ``m = 0 / None``), ``top_k_at_least_v``: ``"noop"`` or ``"error"``.
    * ``source``: repository, file, function and commit the profile was read from;
      ``notes``: what the fields do not capture.
    """

    name: str
    stages: tuple[str, ...] = STAGE_NAMES
    top_k_rule: str = "ties_kept"
    top_p_base: str = "renormalised"
    top_p_crossing: str = "kept"
    top_p_ties: str = "unspecified"
    greedy_below: float = 0.0
    greedy_ties: str = "lowest_index"
    off: tuple[tuple[str, tuple[Any, ...]], ...] = (("top_k", (None, 0)), ("top_p", (None, 1.0)),
                                                    ("min_p", (None, 0.0)))
    top_k_at_least_v: str = "noop"
    source: str = ""
    notes: str = ""

    def __post_init__(self) -> None:
        if sorted(self.stages) != sorted(STAGE_NAMES):
            raise ValueError(f"stages must be a permutation of {STAGE_NAMES}, got {self.stages}")
        for field_name, allowed in (("top_k_rule", TOP_K_RULES), ("top_p_base", TOP_P_BASES),
                                    ("top_p_crossing", TOP_P_CROSSINGS), ("top_p_ties", TIE_ORDERS),
                                    ("greedy_ties", GREEDY_TIES), ("top_k_at_least_v", ("noop", "error"))):
            if getattr(self, field_name) not in allowed:
                raise ValueError(f"{field_name} must be one of {allowed}, got {getattr(self, field_name)!r}")
        if not (self.greedy_below >= 0 and math.isfinite(self.greedy_below)):
            raise ValueError(f"greedy_below must be finite and >= 0, got {self.greedy_below!r}")

    @property
    def min_p_base(self) -> str:
        """``"after_temperature"`` or ``"before_temperature"``: which distribution's max
        probability min-p is relative to (follows from :attr:`stages`)."""
        return ("after_temperature" if self.stages.index("min_p") > self.stages.index("temperature")
                else "before_temperature")

    def is_greedy(self, temperature: float) -> bool:
        """Whether a row with this temperature is decoded greedily."""
        t = float(temperature)
        return t == 0.0 or t < self.greedy_below

    def off_values(self, parameter: str) -> tuple[Any, ...]:
        """The engine's values meaning "off" for ``parameter`` (``top_k``, ``top_p``, ``min_p``)."""
        return dict(self.off)[parameter]

    def describe(self) -> str:
        """One line: the order and the rules."""
        greedy = "T = 0" if self.greedy_below == 0 else f"T < {self.greedy_below:g}"
        return (f"{self.name}: {' -> '.join(self.stages)}; top-k {self.top_k_rule}; top-p on the "
                f"{self.top_p_base} mass, crossing token {self.top_p_crossing}, ties {self.top_p_ties}; "
                f"min-p {self.min_p_base.replace('_', ' ')}; greedy {greedy}, ties {self.greedy_ties}")


HF = LawProfile(
    name="hf",
    stages=("temperature", "top_k", "top_p", "min_p"),
    top_k_rule="ties_kept", top_p_base="renormalised", top_p_crossing="kept", top_p_ties="unspecified",
    greedy_below=0.0, greedy_ties="lowest_index",
    off=(("top_k", (None, 0)), ("top_p", (None, 1.0)), ("min_p", (None,))),
    source=("huggingface/transformers src/transformers/generation/logits_process.py @ "
            "aa5108b449965084a90a4c8ce130a156aebf28f1: TopKLogitsWarper (scores < topk(scores, k)[0][..., -1] "
            "removed: ties kept), TopPLogitsWarper (torch.sort ascending, cumsum of softmax, "
            "cumulative <= 1 - top_p removed, last min_tokens_to_keep kept: crossing token kept; the "
            "sort is not stable: tie order unspecified), MinPLogitsWarper (probs < min_p * max probs "
            "removed, after the temperature). Order temperature, top_k, top_p, min_p: "
            "generation/utils.py _get_logits_processor (read through code-search excerpts, commit not "
            "pinned). Greedy: do_sample=False is argmax (lowest index); TemperatureLogitsWarper "
            "rejects T = 0."),
    notes=("today's law (the default). token_probs orders top-p ties lower index first; HF's sort "
           "does not promise it, so ambiguous() flags a tie split by the top-p boundary. min_p = 0 "
           "still builds a MinPLogitsWarper (it removes nothing)."),
)

VLLM = LawProfile(
    name="vllm",
    stages=("temperature", "min_p", "top_k", "top_p"),
    top_k_rule="ties_kept", top_p_base="renormalised", top_p_crossing="kept", top_p_ties="unspecified",
    greedy_below=1e-5, greedy_ties="lowest_index",
    off=(("top_k", (None, 0, -1)), ("top_p", (None, 1.0)), ("min_p", (None, 0.0))),
    source=("vllm-project/vllm vllm/v1/sample/sampler.py @ 3e342658b2e9c85a30a54d19e64e5ad77b8a26a6: "
            "Sampler.sample (greedy_sample = logits.argmax before the temperature, used where "
            "temperature < _SAMPLING_EPS = 1e-5; apply_temperature; then the argmax-invariant logits "
            "processors, i.e. min-p; then topk_topp_sampler). "
            "vllm/v1/sample/logits_processor/builtin.py @ bf17660a2493b9cec475b6ba790a390afd317e8b: "
            "MinPLogitsProcessor.apply (softmax of the temperature-scaled logits, probs < amax * min_p "
            "-> -inf). vllm/v1/sample/ops/topk_topp_sampler.py @ 01fa3fe74b058bb604f236341ab2361c7cf3d25b: "
            "apply_top_k_top_p_pytorch (ascending sort; top-k: logits_sort < logits_sort[V - k] removed, "
            "ties kept; top-p: softmax of the top-k-masked sorted logits, cumsum <= 1 - p removed, last "
            "kept), apply_top_k_only (threshold by topk, ties kept), random_sample (probs / "
            "exponential_, argmax)."),
    notes=("the PyTorch path (CPU, or no Triton). With Triton, apply_top_k_top_p calls "
           "apply_top_k_top_p_triton (topk_topp_triton.py, pivot search that keeps a counted number "
           "of tokens tied at the pivot): boundary ties may differ from this profile. FlashInfer "
           "(CUDA, no per-request generators) is 'statistically equivalent' per vLLM. Rows without "
           "top-k get k = V internally."),
)

SGLANG = LawProfile(
    name="sglang",
    stages=("temperature", "top_k", "top_p", "min_p"),
    top_k_rule="exact_unspecified", top_p_base="full", top_p_crossing="kept_inclusive",
    top_p_ties="unspecified", greedy_below=1e-6, greedy_ties="any",
    off=(("top_k", (None, -1, 1 << 30)), ("top_p", (None, 1.0)), ("min_p", (None, 0.0))),
    source=("sgl-project/sglang python/sglang/srt/layers/sampler.py @ 584f55d1ce76e57478ef233d04f6afbfd585960f: "
            "Sampler.forward (logits.div_(temperatures); softmax) and "
            "top_k_top_p_min_p_sampling_from_probs_torch (probs.sort descending, not stable; "
            "probs_sum = cumsum of the FULL sorted probs; positions >= top_k zeroed: exactly k; "
            "(probs_sum - probs_sort) > top_p zeroed: mass before <= p kept; min-p: probs_sort < "
            "probs_sort[:, 0] * min_p zeroed; torch.multinomial). The same lines in a newer stored "
            "version (with sampling_seed). python/sglang/srt/sampling/sampling_params.py @ "
            "0bebedd800a35ae29a9adeab6617605970d724bd: 0 <= temperature < _SAMPLING_EPS = 1e-6 -> "
            "temperature 1, top_k 1 (greedy through an exact top-1 of an unstable sort); top_k -1 -> "
            "TOP_K_ALL = 1 << 30; top_k 0 is rejected by verify()."),
    notes=("the 'pytorch' sampling backend. An all-greedy batch takes torch.argmax (lowest index); "
           "in a mixed batch the greedy row's top-1 may be any maximal index: greedy_ties = any. The "
           "flashinfer backend (top_k_renorm_prob, top_p_renorm_prob, min_p_sampling_from_probs) is "
           "not this profile."),
)

LLAMA_CPP = LawProfile(
    name="llama.cpp",
    stages=("top_k", "top_p", "min_p", "temperature"),
    top_k_rule="exact_unspecified", top_p_base="renormalised", top_p_crossing="kept",
    top_p_ties="unspecified", greedy_below=0.0, greedy_ties="any",
    off=(("top_k", (None, 0, -1)), ("top_p", (None, 1.0)), ("min_p", (None, 0.0))),
    source=("ggml-org/llama.cpp src/llama-sampler.cpp @ 6f7f63ee4dffdf00f29be2f1fa00ad3c341ff7b2: "
            "llama_sampler_top_k_impl (k <= 0: off; partial sort, size = k: exactly k, std::partial_sort "
            "is not stable), llama_sampler_top_p_apply (softmax over the current candidates, i.e. "
            "renormalised after top-k; cumulative sum in descending order, stop at the first i with "
            "cum_sum >= p and keep it: crossing kept; p >= 1 off), llama_sampler_min_p_apply (logit >= "
            "max_logit + log(p) on the candidates; p <= 0 off), llama_sampler_temp_impl (logit /= temp; "
            "temp <= 0 keeps only the first strictly larger logit in the current, possibly sorted, "
            "order), llama_sampler_dist_apply (one uniform double, inverse CDF). "
            "common/sampling.cpp @ 3b3f5fed31ab654c4ed858b98b70df1b9855a2aa: common_sampler_init builds "
            "the chain in params.samplers order and appends dist; the default order (common/common.h, "
            "read through code-search excerpts) is penalties, dry, top_n_sigma, top_k, typical_p, top_p, "
            "min_p, xtc, temperature."),
    notes=("the default chain with dry/typical/xtc/top-n-sigma off: top-k -> top-p -> min-p -> "
           "temperature last -> dist. Greedy (temp <= 0) after a top-k sort picks any maximal index."),
)

MLX_LM = LawProfile(
    name="mlx-lm",
    stages=("top_p", "min_p", "top_k", "temperature"),
    top_k_rule="exact_unspecified", top_p_base="full", top_p_crossing="kept", top_p_ties="unspecified",
    greedy_below=0.0, greedy_ties="any",
    off=(("top_k", (None, 0)), ("top_p", (None, 0.0, 1.0)), ("min_p", (None, 0.0))),
    top_k_at_least_v="error",
    source=("ml-explore/mlx-lm mlx_lm/sample_utils.py @ d78bf58e217c904ec282ed8da9b947491f78c022: "
            "make_sampler (temp == 0 -> mx.argmax; chain apply_top_p if 0 < top_p < 1, apply_min_p if "
            "min_p != 0, apply_xtc, apply_top_k if top_k > 0; then categorical_sampling(logits * (1 / "
            "temp)): temperature last), apply_top_p (probs = exp(logprobs) of the full T = 1 "
            "distribution, ascending argsort, cumulative > 1 - top_p kept: crossing kept), apply_min_p "
            "(logprobs < max logprob + log(min_p) removed: before the temperature), apply_top_k "
            "(argpartition, exactly k, ties unspecified; raises unless 0 < top_k < V). mlx_lm/generate.py "
            "(same commit): the sampler gets logprobs = logits - logsumexp(logits)."),
    notes=("greedy ties: mx.argmax's tie rule is not documented (not verified here): 'any'. top_k >= V "
           "raises ValueError in apply_top_k. XTC off."),
)

#: the built-in profiles by name
PROFILES: dict[str, LawProfile] = {pr.name: pr for pr in (HF, VLLM, SGLANG, LLAMA_CPP, MLX_LM)}


def get_profile(name: "str | LawProfile | None" = None) -> LawProfile:
    """The profile called ``name`` (``None``: :data:`HF`; a :class:`LawProfile` is returned
    as is). ``KeyError`` naming the built-in profiles otherwise."""
    if name is None:
        return HF
    if isinstance(name, LawProfile):
        return name
    try:
        return PROFILES[str(name)]
    except KeyError:
        raise KeyError(f"unknown law profile {name!r}; built-in: {', '.join(PROFILES)}") from None


def stage_names(profile: "str | LawProfile | None" = None) -> tuple[str, ...]:
    """The stage names in ``profile``'s order (no profile: :data:`STAGE_NAMES`)."""
    return STAGE_NAMES if profile is None else get_profile(profile).stages



def _desc_order(s: np.ndarray, flip: bool = False) -> np.ndarray:
    """Indices by score descending; equal scores lower index first (``flip``: higher first)."""
    if not flip:
        return np.argsort(-s, kind="stable")
    return (s.size - 1) - np.argsort(-s[::-1], kind="stable")


def _stage_top_k(s: np.ndarray, keep: np.ndarray, k: int, rule: str, flip: bool = False) -> np.ndarray:
    sm = np.where(keep, s, -np.inf)
    if rule == "ties_kept":
        tau = np.sort(sm)[::-1][k - 1]
        return sm >= tau
    # exactly k; canonical: boundary ties to the lower index (flip: to the higher, if unspecified)
    order = _desc_order(sm, flip and rule == "exact_unspecified")
    ks = np.zeros(s.size, dtype=bool)
    ks[order[:k]] = True
    return ks


def _stage_top_p(s: np.ndarray, keep: np.ndarray, finite: np.ndarray, p: float,
                 prof: LawProfile, flip: bool = False) -> np.ndarray:
    q = _softmax_kept(s, keep if prof.top_p_base == "renormalised" else finite)
    # scores descending, ties: lower index first (flip: higher first, if the order is unspecified)
    order = _desc_order(s, flip and prof.top_p_ties == "unspecified")
    incl = np.cumsum(q[order])
    before = incl - q[order]
    if prof.top_p_crossing == "kept":
        inside = before < p
    elif prof.top_p_crossing == "kept_inclusive":
        inside = before <= p
    else:  # dropped
        inside = incl < p
    ks = np.zeros(s.size, dtype=bool)
    ks[order] = inside
    if prof.top_p_crossing == "dropped":  # the top kept token is always kept
        ks[order[np.flatnonzero(keep[order])[0]]] = True
    return ks


def _filtered(x: np.ndarray, t: float, k: int, p: float, m: float, prof: LawProfile,
              on_stage: Any = None, flip: bool = False) -> np.ndarray:
    """The kept mask of one validated row under ``prof`` (``T > 0``, not greedy).
    ``on_stage(name, s, keep)`` is called before each active filter (for :func:`ambiguous`);
    ``flip`` breaks the *unspecified* ties the other way (higher index first)."""
    v = x.size
    finite = np.isfinite(x)
    keep = finite.copy()
    s = x
    for st in prof.stages:
        if st == "temperature":
            s = x / t
            finite = finite & np.isfinite(s)  # x / T overflowing to +-inf is not a finite score
            keep &= finite
            continue
        active = (st == "top_k" and 0 < k < v) or (st == "top_p" and p < 1.0) or (st == "min_p" and m > 0.0)
        if not active:
            continue
        if on_stage is not None:
            on_stage(st, s, keep)
        if st == "top_k":
            keep &= _stage_top_k(s, keep, k, prof.top_k_rule, flip)
        elif st == "top_p":
            keep &= _stage_top_p(s, keep, finite, p, prof, flip)
        else:
            q = _softmax_kept(s, keep)
            keep &= q >= m * q.max()
    return keep


def kept_mask(logits: Sequence[float], temperature: float = 1.0, *, top_k: Any = None,
              top_p: Any = None, min_p: Any = None,
              profile: "str | LawProfile | None" = None) -> NDArray[np.bool_]:
    """The tokens of one row that survive the filters of ``profile`` (default :data:`HF`:
    module doc, steps 1-4). ``-inf`` tokens are never kept; on a greedy row only the greedy
    token is (lowest maximal index: the canonical choice where the profile allows any)."""
    prof = get_profile(profile)
    x = _finite_or_neginf(np.asarray(logits))
    if x.ndim != 1:
        raise ValueError(f"kept_mask takes one row (1-D logits), got shape {x.shape}")
    t, k, p, m = validate_token_params(temperature, top_k, top_p, min_p)
    if prof.is_greedy(t):
        keep = np.zeros(x.size, dtype=bool)
        keep[int(np.argmax(x))] = True
        return keep
    return _filtered(x, t, k, p, m, prof)


def token_probs(logits: Sequence[float], temperature: float = 1.0, *, top_k: Any = None,
                top_p: Any = None, min_p: Any = None,
                profile: "str | LawProfile | None" = None) -> NDArray[np.float64]:
    """The law of the sampled token for one row under ``profile`` (default :data:`HF`, the
    module doc's law): float64 probabilities of length ``V``, exactly 0 outside
    :func:`kept_mask`, ``softmax(x / T)`` renormalised on it. Where the profile leaves a choice
    unspecified (tie orders), this is the law under the canonical choice (lower index first);
    :func:`ambiguous` says whether the row depends on it. Bad logits or parameters raise
    ``ValueError``; an unknown profile name raises ``KeyError``."""
    prof = get_profile(profile)
    x = _finite_or_neginf(np.asarray(logits))
    keep = kept_mask(x, temperature, top_k=top_k, top_p=top_p, min_p=min_p, profile=prof)
    t = float(temperature)
    if prof.is_greedy(t):
        return keep.astype(np.float64)
    return _softmax_kept(x / t, keep)


def row_params(b: int, temperature: Any, top_k: Any = None, top_p: Any = None,
               min_p: Any = None) -> list[tuple[Any, Any, Any, Any]]:
    """Broadcast scalar-or-``[B]`` parameters to ``b`` per-row tuples ``(T, k, p, m)``
    (``None`` stays ``None``). A ``[B]`` of the wrong length raises ``ValueError``."""
    def per_row(v, name):
        if v is None:
            return [None] * b
        if hasattr(v, "detach"):
            v = v.detach().cpu().numpy()
        a = np.asarray(v)
        if a.ndim == 0:
            return [a.item()] * b
        if a.shape != (b,):
            raise ValueError(f"{name} must be a scalar or have shape ({b},), got {a.shape}")
        return a.tolist()

    cols = [per_row(temperature, "temperature"), per_row(top_k, "top_k"), per_row(top_p, "top_p"),
            per_row(min_p, "min_p")]
    return list(zip(*cols))


def token_probs_batch(logits: Any, temperature: Any = 1.0, *, top_k: Any = None, top_p: Any = None,
                      min_p: Any = None) -> NDArray[np.float64]:
    """:func:`token_probs` of every row of ``[B, V]`` logits with scalar or ``[B]`` parameters."""
    if hasattr(logits, "detach"):
        logits = logits.detach().cpu().double().numpy()
    x = np.asarray(logits)
    if x.ndim != 2:
        raise ValueError(f"logits must have shape [B, V], got {x.shape}")
    rows = row_params(x.shape[0], temperature, top_k, top_p, min_p)
    out = np.zeros(x.shape, dtype=np.float64)
    for i, (t, k, p, m) in enumerate(rows):
        out[i] = token_probs(x[i], t, top_k=k, top_p=p, min_p=m)
    return out


def token_probs_bruteforce(logits: Sequence[float], temperature: float = 1.0, *, top_k: Any = None,
                           top_p: Any = None, min_p: Any = None,
                           profile: "str | LawProfile | None" = None) -> list[float]:
    """The same law restated by enumeration, for tests: no sort, no cumsum, plain Python, one
    stage at a time in ``profile``'s order (default :data:`HF`).

    Ranking: ``i`` ranks before ``j`` iff ``s_i > s_j``, or ``s_i == s_j`` and ``i < j`` (the
    canonical tie order). top-k: ``ties_kept``: ``i`` kept iff fewer than ``k`` kept tokens have
    a strictly larger score; exact rules: iff fewer than ``k`` kept tokens rank before it. top-p:
    the mass ``B_j`` of the tokens ranked before ``j`` (among the kept tokens, renormalised, or
    among all finite tokens for the ``full`` base); ``kept``: ``B_j < p``, ``kept_inclusive``:
    ``B_j <= p``, ``dropped``: ``B_j + q_j < p`` or ``j`` is the top kept token. min-p:
    ``q_i >= m max q``. Greedy (per the profile's threshold): the first maximal logit.
    """
    prof = get_profile(profile)
    x = [float(v) for v in logits]
    t, k, p, m = validate_token_params(temperature, top_k, top_p, min_p)
    v = len(x)
    if prof.is_greedy(t):
        best = max(x)
        first = next(i for i in range(v) if x[i] == best)
        return [1.0 if i == first else 0.0 for i in range(v)]
    s = list(x)
    finite = [xi != -math.inf for xi in x]
    keep = list(finite)

    def probs(kp, sc):
        top = max(sc[i] for i in range(v) if kp[i])
        w = [math.exp(sc[i] - top) if kp[i] else 0.0 for i in range(v)]
        tot = math.fsum(w)
        return [wi / tot for wi in w]

    def before(i, j, sc):
        return sc[i] > sc[j] or (sc[i] == sc[j] and i < j)

    for st in prof.stages:
        if st == "temperature":
            s = [xi / t for xi in x]
            finite = [finite[i] and math.isfinite(s[i]) for i in range(v)]
            keep = [keep[i] and finite[i] for i in range(v)]
        elif st == "top_k" and 0 < k < v:
            if prof.top_k_rule == "ties_kept":
                keep = [keep[i] and sum(1 for j in range(v) if keep[j] and s[j] > s[i]) < k for i in range(v)]
            else:
                keep = [keep[i] and sum(1 for j in range(v) if keep[j] and before(j, i, s)) < k
                        for i in range(v)]
        elif st == "top_p" and p < 1.0:
            base = keep if prof.top_p_base == "renormalised" else finite
            q = probs(base, s)
            mass = [math.fsum(q[i] for i in range(v) if base[i] and before(i, j, s)) for j in range(v)]
            if prof.top_p_crossing == "kept":
                inside = [mass[j] < p for j in range(v)]
            elif prof.top_p_crossing == "kept_inclusive":
                inside = [mass[j] <= p for j in range(v)]
            else:
                top = next(j for j in range(v) if keep[j] and
                           not any(keep[i] and before(i, j, s) for i in range(v)))
                inside = [mass[j] + q[j] < p or j == top for j in range(v)]
            keep = [keep[j] and inside[j] for j in range(v)]
        elif st == "min_p" and m > 0.0:
            q = probs(keep, s)
            top = max(q)
            keep = [keep[i] and q[i] >= m * top for i in range(v)]
    return probs(keep, [xi / t for xi in x])


def unpack_row(row: Any) -> tuple[np.ndarray, float, Any, Any, Any]:
    """``(logits, T, k, p, m)`` from a tuple / list, a mapping or an object with ``logits``,
    ``temperature``, ``top_k``, ``top_p``, ``min_p`` attributes (the checker's ``Row``)."""
    if isinstance(row, dict):
        vals = (row["logits"], row.get("temperature", 1.0), row.get("top_k"), row.get("top_p"), row.get("min_p"))
    elif hasattr(row, "logits"):
        vals = (row.logits, getattr(row, "temperature", 1.0), getattr(row, "top_k", None),
                getattr(row, "top_p", None), getattr(row, "min_p", None))
    else:
        vals = tuple(row) + (None,) * (5 - len(row))
        if len(row) < 2 or len(row) > 5:
            raise ValueError(f"a row is (logits, T[, k, p, m]), got {len(row)} items")
    return (_finite_or_neginf(np.asarray(vals[0], dtype=np.float64)),) + tuple(vals[1:])  # type: ignore[return-value]


def ambiguous(row: Any, profile: "str | LawProfile | None" = None, *, tol: float = 1e-9) -> str | None:
    """Why ``profile`` does not determine the law of ``row`` (``None``: it does).

    ``row`` is ``(logits, T, k, p, m)`` (or a mapping / an object with those attributes).
    A row is ambiguous when the profile leaves a choice open that changes the law:

    * a greedy row (per the profile's threshold) whose maximum is tied, under ``greedy_ties =
      "any"``;
    * a tie at the k-th score under ``top_k_rule = "exact_unspecified"`` (which tied token
      survives is unspecified);
    * a group of equal scores split by the top-p boundary under ``top_p_ties = "unspecified"``;

    and, for every profile, when rounding decides (``tol``): a temperature within a relative
    ``tol`` of the greedy threshold, the k-th and (k+1)-th distinct scores within ``tol``
    (relative), a top-p cumulative mass within ``tol`` of ``p``, a min-p ratio ``q_i / max q``
    within ``tol`` of ``m``. Checks pass ``tol = 1e-3`` or so for float32 engines. Returns a
    sentence naming the stage."""
    prof = get_profile(profile)
    x, t, k, p, m = unpack_row(row)
    t, k, p, m = validate_token_params(t, k, p, m)
    name = prof.name
    if prof.greedy_below > 0 and t > 0 and abs(t - prof.greedy_below) <= tol * prof.greedy_below:
        return (f"greedy: T = {t:g} is within a relative {tol:g} of {name}'s greedy threshold "
                f"{prof.greedy_below:g} (rounding decides greedy or not)")
    if prof.is_greedy(t):
        n_max = int(np.sum(x == x.max()))
        if prof.greedy_ties == "any" and n_max > 1:
            return f"greedy: {n_max} tokens tie for the maximum and {name} may return any of them"
        return None
    ties: list[str] = []
    rounding: list[str] = []

    def on_stage(st: str, s: np.ndarray, keep: np.ndarray) -> None:
        if st == "top_k":
            sm = np.sort(np.where(keep, s, -np.inf))[::-1]
            tau = sm[k - 1]
            if not np.isfinite(tau):
                return
            n_gt, n_ge = int(np.sum(sm > tau)), int(np.sum(sm >= tau))
            if prof.top_k_rule == "exact_unspecified" and n_gt < k < n_ge:
                ties.append(f"top_k: {n_ge - n_gt} tokens tie at the k-th score (k = {k}) and {name} "
                            "keeps exactly k of them, which ones unspecified")
            below, above = sm[sm < tau], sm[sm > tau]
            for hi, lo in ((tau, below[0] if below.size and np.isfinite(below[0]) else None),
                           (above[-1] if above.size else None, tau)):
                if hi is not None and lo is not None and k in (n_gt, n_ge) and \
                        abs(hi - lo) <= tol * max(1.0, abs(hi)):
                    rounding.append(f"top_k: scores {hi:.9g} and {lo:.9g} at the k-th boundary are within "
                                    f"a relative {tol:g} (rounding decides which is kept)")
        elif st == "top_p":
            finite = np.isfinite(s) & np.isfinite(x)
            base = keep if prof.top_p_base == "renormalised" else finite
            q = _softmax_kept(s, base)
            order = _desc_order(s)
            incl = np.cumsum(q[order])
            crit = incl if prof.top_p_crossing == "dropped" else incl - q[order]
            near = keep[order] & (q[order] > 0) & (np.abs(crit - p) <= tol)
            near[np.flatnonzero(keep[order])[:1]] = False  # the top kept token stays whatever the mass
            if near.any():
                j = int(order[np.flatnonzero(near)[0]])
                rounding.append(f"top_p: the cumulative mass at token {j} is within {tol:g} of p = {p:g} "
                                "(rounding decides whether it is kept)")
            if prof.top_p_ties == "unspecified":
                ks = _stage_top_p(s, keep, finite, p, prof)
                for val in np.unique(s[keep & np.isfinite(s)]):
                    grp = keep & (s == val)
                    if grp.sum() > 1 and ks[grp].any() and not ks[grp].all():
                        ties.append(f"top_p: {int(grp.sum())} tokens with equal scores straddle the top-p "
                                    f"boundary and {name}'s sort order among them is unspecified")
                        break
        elif st == "min_p":
            q = _softmax_kept(s, keep)
            r = q[keep] / q.max()
            if m < 1.0 and np.any(np.abs(r - m) <= tol):
                rounding.append(f"min_p: a ratio q_i / max q is within {tol:g} of m = {m:g} "
                                "(rounding decides whether it is kept)")

    keep = _filtered(x, t, k, p, m, prof, on_stage=on_stage)
    # a tie matters iff breaking every unspecified tie the other way changes the kept set
    if not np.array_equal(keep, _filtered(x, t, k, p, m, prof, flip=True)):
        return ties[0] if ties else f"ties: the kept set depends on {name}'s unspecified tie order"
    return rounding[0] if rounding else None


def tv_distance(a: Sequence[float], b: Sequence[float]) -> float:
    """Total-variation distance ``0.5 * sum |a - b|`` of two laws."""
    return 0.5 * float(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)).sum())
