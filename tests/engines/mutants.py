r"""Four bugs from public issues as variants of the ports (each rejected under its engine's own
profile by the stage it breaks):

* :func:`llama_cpp_dropped_crossing`: llama.cpp before ggml-org/llama.cpp#1953 ("Fix top-p sampling
  to match the canonical definition": the top-p sampler kept the largest set with cumulative
  probability ``<= p``, dropping the token that crosses p). Stage: top-p crossing rule.
* :func:`hf_temperature_after_top_p`: HuggingFace ``generate`` before huggingface/transformers#8686
  ("moved temperature warper before topP/topK warpers": in v3.5.x the temperature warper ran after
  top-k / top-p, so the nucleus was measured at T = 1). Stage: temperature position.
* :func:`vllm_rows_share_noise`: vllm-project/vllm#50440 ("Broadcasting one seeded SamplingParams
  across a batch gives every prompt the same noise vector": each request's generator gets the same
  seed, so identical rows draw identical exponentials and always return the same token). Stage:
  independence of the rows of a batch.
* :func:`vllm_masked_zero_exponential`: an exponential of exactly ``-0.0`` reaching vLLM's
  ``probs.div(q).argmax()``: a masked token has ``probs = 0`` and ``0 / -0.0 = NaN``, which
  ``argmax`` returns. The mechanism of pytorch/pytorch#192577 (MPS ``exponential_`` emitted -0.0,
  "the fingerprint of a negated log at a boundary uniform"; vllm-metal#622 per the README): here
  ``q = -log(1 - torch.rand())``, which is ``-0.0`` whenever ``torch.rand`` returns 0 (probability
  ``2^-24`` per element in float32). Stage: masked tokens (the harness's ``u=0`` adversarial stream
  forces it).
"""
from __future__ import annotations

from typing import Any

from tests.engines import hf_port, llama_cpp_port, vllm_port


def llama_cpp_dropped_crossing(logits: Any, temperature: Any = 1.0, **kw: Any):
    return llama_cpp_port.sample(logits, temperature, top_p_rule="pre_1953", **kw)


def hf_temperature_after_top_p(logits: Any, temperature: Any = 1.0, **kw: Any):
    return hf_port.sample(logits, temperature, temperature_last=True, **kw)


def vllm_rows_share_noise(logits: Any, temperature: Any = 1.0, **kw: Any):
    return vllm_port.sample(logits, temperature, noise="shared_seed", **kw)


def vllm_masked_zero_exponential(logits: Any, temperature: Any = 1.0, **kw: Any):
    return vllm_port.sample(logits, temperature, noise="neg_log_uniform", **kw)


#: mutant -> (engine profile, the public issue, the stage it breaks)
MUTANTS = {
    "llama_cpp_dropped_crossing": (llama_cpp_dropped_crossing, "llama.cpp", "ggml-org/llama.cpp#1953",
                                   "top_p.crossing"),
    "hf_temperature_after_top_p": (hf_temperature_after_top_p, "hf", "huggingface/transformers#8686",
                                   "temperature"),
    "vllm_rows_share_noise": (vllm_rows_share_noise, "vllm", "vllm-project/vllm#50440", "batch.pairs"),
    "vllm_masked_zero_exponential": (vllm_masked_zero_exponential, "vllm", "pytorch/pytorch#192577",
                                     "mask"),
}
