"""The library: everything between decoded samples and declipped samples.

``Declipper`` (a stream, block by block), ``declip`` (a whole signal),
``params`` (presets and the validation of every solver setting), ``detect``
(clip levels per channel and polarity), ``windows`` (analysis/synthesis
pairs), ``metrics`` (SDR) and ``reference`` (a slow numpy port of the
solvers, used by the tests and benchmarks to check the C core).
"""
