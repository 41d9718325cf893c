"""Hostile targets for tests/test_isolation.py: each misbehaves in one way a checker must survive.

Categorical targets follow ``fn(logits, n, seed)``; the ``torch_*`` ones follow the
``F.gumbel_softmax`` contract. Correct sampling is ``reference_categorical`` / ``F.gumbel_softmax``.
"""
import ctypes
import os
import re
import sys
import threading
import time

import numpy as np

from harness.checks.samplers import reference_categorical


def os_exit0(logits, n, seed):
    os._exit(0)


def sys_exit_in_array(logits, n, seed):
    class Out:
        def __array__(self, dtype=None, copy=None):
            sys.exit(0)
    return Out()


def segfault(logits, n, seed):
    return ctypes.string_at(0)


def gil_hang(logits, n, seed):  # catastrophic backtracking: C code holding the GIL
    re.match(r"(a+)+$", "a" * 40 + "b")
    return reference_categorical(logits, n, seed)


def sleep_hang(logits, n, seed):
    time.sleep(3600)


def busy_loop(logits, n, seed):
    while True:
        pass


def memory_hog(logits, n, seed):
    hoard = []
    while True:
        hoard.append(np.ones(1 << 24))  # 128 MiB a step, touched


def leaks_thread(logits, n, seed):
    threading.Thread(target=time.sleep, args=(3600,), name="leaked-by-target").start()
    return reference_categorical(logits, n, seed)


_FIRST_CALL = [0]


def thread_on_first_call(logits, n, seed):  # the first call is the protocol trial (issue 18 item 7)
    _FIRST_CALL[0] += 1
    if _FIRST_CALL[0] == 1:
        threading.Thread(target=time.sleep, args=(3600,), name="first-call-thread").start()
    return reference_categorical(logits, n, seed)


def prints_megabytes(logits, n, seed):
    print("x" * (1 << 20))
    os.write(2, b"y" * (1 << 20))  # C-level write to fd 2
    return reference_categorical(logits, n, seed)


def prints_forever(logits, n, seed):
    line = "z" * 4096
    while True:
        print(line)


def seeds_numpy_global(logits, n, seed):
    np.random.seed(seed % (2**32))
    np.random.random()
    return reference_categorical(logits, n, seed)


def torch_sets_default_dtype(logits, tau=1.0, hard=False, dim=-1):
    import torch
    import torch.nn.functional as F

    torch.set_default_dtype(torch.float64)
    return F.gumbel_softmax(logits, tau=tau, hard=hard, dim=dim)


def torch_zeroes_input(logits, tau=1.0, hard=False, dim=-1):
    import torch.nn.functional as F

    out = F.gumbel_softmax(logits, tau=tau, hard=hard, dim=dim)
    logits.data.zero_()
    return out


def torch_exit_in_backward(logits, tau=1.0, hard=False, dim=-1):
    import torch
    import torch.nn.functional as F

    class ExitInBackward(torch.autograd.Function):
        @staticmethod
        def forward(ctx, y):
            return y.clone()

        @staticmethod
        def backward(ctx, grad):
            sys.exit(0)

    return ExitInBackward.apply(F.gumbel_softmax(logits, tau=tau, hard=hard, dim=dim))


def hangs_on_nan(logits, n, seed):  # one probe case (NaN logits) hangs; every other call is correct
    if np.isnan(np.asarray(logits, dtype=np.float64)).any():
        time.sleep(3600)
    return reference_categorical(logits, n, seed)


_CALLS = {"n": 0}


def hangs_every_other_call(logits, n, seed):  # one call returns between two hangs: never "twice in a row"
    _CALLS["n"] += 1
    if _CALLS["n"] % 2 == 0:
        time.sleep(3600)
    return reference_categorical(logits, n, seed)


def daemonizes(logits, n, seed):  # a child in a new session: out of the worker's process group
    path = os.environ.get("GUMBEL_TEST_DAEMON_PIDS")
    if path and not os.path.exists(path + ".done"):
        open(path + ".done", "w").close()
        pid = os.fork()
        if pid == 0:
            os.setsid()
            with open(path, "w") as f:
                f.write(str(os.getpid()))
            time.sleep(3600)
            os._exit(0)
    return reference_categorical(logits, n, seed)


def marks_its_process(logits, n, seed):
    """Marks the NumPy module of the process it runs in; a mark left by *another* process means
    that process's state reached this one (a worker forked from a polluted fork server)."""
    import numpy

    mark = getattr(numpy, "_gumbel_test_mark", None)
    if mark is not None and mark != os.getpid():
        raise RuntimeError(f"state of process {mark} leaked into process {os.getpid()}")
    numpy._gumbel_test_mark = os.getpid()
    return reference_categorical(logits, n, seed)
