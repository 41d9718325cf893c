"""The context every check runs in: budget (sample sizes, family alpha), run seed, family size
(for power statements) and how to reproduce."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from harness.core.budgets import DEFAULT_FAMILY_SIZE, Budget, get_budget
from harness.core.options import Options
from harness.core.seeds import derive_seed, validate_seed

__all__ = ["RunContext"]


@dataclass(frozen=True)
class RunContext:
    """``budget``: sample sizes and family-wise alpha. ``seed``: the run seed; each check's own
    seed is ``derive_seed(seed, check_id)``. ``family_size``: number of statistical checks
    expected in the run (power statements use ``alpha / family_size``). ``reproduce``: a
    command shown in FAIL verdicts to reproduce a check; ``{check}`` and ``{seed}`` are filled in. ``device``: torch device for torch targets.
    ``workers``: processes for chunked Monte Carlo (None = all cores). ``scheduler``: a Dask
    scheduler address, or ``"local"`` for a LocalCluster, for the large chunked Monte Carlo
    loops (None = local processes, no Dask). ``options``: the kind's resolved run options
    (:mod:`harness.core.options`; empty for a kind that declares none)."""

    budget: Budget = field(default_factory=lambda: get_budget("standard"))
    seed: int = 0
    family_size: int = DEFAULT_FAMILY_SIZE
    reproduce: str = ""
    device: str = "cpu"
    workers: int | None = None
    scheduler: str | None = None
    options: Options = field(default_factory=Options)

    def __post_init__(self) -> None:
        validate_seed(self.seed)

    @property
    def alpha(self) -> float:
        return self.budget.alpha

    def seed_for(self, check_id: str) -> int:
        return derive_seed(self.seed, check_id)

    def repro(self, check: str, seed: int | None = None) -> str:
        """``reproduce`` with ``{check}`` and ``{seed}`` (default ``seed_for(check)``) filled in;
        empty when unset."""
        if not self.reproduce:
            return ""
        return self.reproduce.format(check=check, seed=self.seed_for(check) if seed is None else seed)

    def check_kwargs(self, check: str) -> dict:
        """Keyword arguments of the :mod:`harness.checks.builders` builders for check ``check``: its seed,
        reproduce command, family alpha and family size."""
        seed = self.seed_for(check)
        return dict(seed=seed, reproduce=self.repro(check, seed), alpha=self.alpha,
                    family_size=self.family_size)

    def parallel_kwargs(self) -> dict:
        """Keyword arguments for :func:`harness.core.streaming.counts` /
        :func:`harness.core.parallel.run_chunks` inside a check: the Dask scheduler when one is set,
        otherwise one process (experiments already run in parallel with each other)."""
        if self.scheduler:
            return {"scheduler": self.scheduler}
        return {"workers": 1}

    def with_family_size(self, m: int) -> "RunContext":
        return replace(self, family_size=max(1, int(m)))
