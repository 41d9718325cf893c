"""Reference implementations for the Gumbel-max trick and the Gumbel-softmax relaxation.

Modules
-------
softmax
    Closed-form, max-subtracted ``logsumexp`` / ``log_softmax`` / ``softmax`` (NumPy) and the
    logit validation every entry point shares.
laws
    The exact laws of ``docs/spec.md``: Gumbel CDF/pdf, the Concrete density (C1), the
    logistic law of log-ratios (C2), the binary Concrete CDF (C4), Plackett-Luce (T5) and the
    pathwise Jacobian (G1).
numpy_sampler
    Seeded NumPy Gumbel-max sampler (samples, streaming counts, Gumbel-top-k).
torch_gumbel_softmax
    PyTorch Gumbel-softmax (CPU/CUDA, all float dtypes, straight-through).
"""
from reference.softmax import LogitsError, log_softmax, logsumexp, softmax, validate_logits

__all__ = ["LogitsError", "log_softmax", "logsumexp", "softmax", "validate_logits"]
