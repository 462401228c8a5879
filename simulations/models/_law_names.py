"""The names of the input laws (no numpy: the command line lists them at start-up)."""

__all__ = ["DISTRIBUTIONS"]

#: input-law name -> one-line description (see :func:`simulations.models.input_law`).
DISTRIBUTIONS = {
    "normal": "Gaussian N(0, 1) (default)",
    "gaussian": "alias of normal",
    "laplace": "Laplace (double exponential), excess kurtosis 3",
    "uniform": "uniform on an interval, excess kurtosis -1.2",
    "t": "Student t with --df degrees of freedom",
    "exponential": "exponential, skewness 2, excess kurtosis 6",
    "lognormal": "log-normal exp(N(0, 1)), skewness 6.18, excess kurtosis 110.9",
    "relu": "ReLU of a standard Gaussian, max(0, Z)",
}
