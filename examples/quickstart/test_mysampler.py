"""The pytest plugin's fixture (README "From pytest"): ``pytest examples/quickstart``."""


def test_my_sampler_conforms(gumbel_check):
    gumbel_check("mysampler:sample", kind="categorical", budget="quick")
