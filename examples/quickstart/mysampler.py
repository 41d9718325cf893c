"""A Gumbel-max categorical sampler, the shape of what gumbel-harness checks (README "Check a sampler").

    gumbel-harness check mysampler:sample --kind categorical --budget quick
"""
import numpy as np


def sample(logits, n, seed):
    """``n`` draws of ``argmax(logits + g)``, g i.i.d. standard Gumbel: the `categorical` protocol."""
    x = np.asarray(logits, dtype=np.float64)
    if x.ndim != 1 or x.size == 0 or np.isnan(x).any() or np.isposinf(x).any() or np.isneginf(x).all():
        raise ValueError("logits must be a non-empty 1-D array, finite or -inf, not all -inf")
    x = x - x.max()  # logits ~ 1e30 would swallow the noise
    e = np.random.default_rng(seed).standard_exponential((n, x.size))
    e[e == 0.0] = np.finfo(np.float64).tiny  # E = 0 (probability 2^-53) would give g = inf
    return np.argmax(x - np.log(e), axis=1)  # g = -log E, E ~ Exp(1): standard Gumbel noise


def sample_probs_as_logits(logits, n, seed):
    """The same with a classic bug (bugs.md B3): probabilities used as logits."""
    x = np.asarray(logits, dtype=np.float64)
    p = np.exp(x - x.max())
    return sample(p / p.sum(), n, seed)
