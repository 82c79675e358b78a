"""Signals synthesised from simulated neural activity: BOLD and electrophysiology (MODEL.md §8).

- :mod:`cmftvb.signals.bold`: TVB's Volterra-kernel Bold monitor and the Balloon-Windkessel model.
- :mod:`cmftvb.signals.ephys`: rates at 250 Hz, Welch spectra, band features, spectral modes,
  coherence, firing-rate summaries against physiological ranges.
- :mod:`cmftvb.signals.run`: :func:`run_signals`, one simulation batch -> BOLD and features
  (rule signals), from a run's summary.
- :mod:`cmftvb.signals.stream`: the same BOLD, spectra and coherence accumulated chunk by chunk.
- :mod:`cmftvb.signals.stream_run`: chunk sinks of whole runs (``cmftvb simulate --monitor
  signals``; the workflow's summary, ``simulation.store``).
- :mod:`cmftvb.signals.names`: feature and array names, built and parsed in one place.
"""

from cmftvb.signals.run import ephys_bold_batch, run_signals

__all__ = ["ephys_bold_batch", "run_signals"]
