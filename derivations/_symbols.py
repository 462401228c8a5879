"""The sympy symbols shared by all derivations, with their numeric keyword names.

Momentum is the weight on history (lambda, tau). All quantities are in population units
(mu = 0, sigma = 1) unless a derivation says otherwise.
"""

from ._params import param

m = param("m", positive=True)                       # batch size
ddof = param("ddof", nonnegative=True)              # delta degrees of freedom
p = param("p", "power", real=True)                  # exponent of the scale moment
x = param("x", real=True)                           # a value / population-normalised input
t = param("t", real=True)                           # MGF argument (never a numeric input)
momentum = param("lambda", "momentum", positive=True)
n = param("n", "steps", integer=True, positive=True)  # EMA steps from the start value
v = param("v", positive=True)                       # variance of one batch statistic
m0 = param("m_0", "m0", positive=True)
epochs = param("T", "epochs", integer=True, positive=True)
epoch = param("t_e", "epoch", integer=True, positive=True)
tau0 = param("tau_0", "tau0", positive=True)
N = param("N", positive=True)                       # training-set size
h = param("h", real=True)                           # population-normalised pre-activation
gamma = param("gamma", real=True)                   # BN scale
beta = param("beta", real=True)                     # BN shift
y = param("y", real=True)                           # GLM response
eps = param("epsilon", "eps", positive=True)
mu3 = param("mu_3", "mu3", real=True)               # third central moment
mu4 = param("mu_4", "mu4", positive=True)           # fourth central moment
sigma = param("sigma", positive=True)                # population standard deviation
skewness = param("g_1", "skewness", real=True)
excess_kurtosis = param("g_2", "excess_kurtosis", real=True)
k = param("k", nonnegative=True)                     # half the order of an even moment
