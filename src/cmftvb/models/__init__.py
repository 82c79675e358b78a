"""Local models of the network's nodes and their parameter presets.

- :mod:`cmftvb.models.presets`: parameters as data (YAML), ``load_preset``, ``apply_overrides``.
- :mod:`cmftvb.models.wongwang`: reduced Wong-Wang excitatory-inhibitory mean field (MODEL.md §3).
- :mod:`cmftvb.models.crbl`: cerebellar mean field, first and second order (MODEL.md §2).
- :mod:`cmftvb.models.nodecurve`: steady states of one isolated cerebellar node
  (``cmftvb node-curve``).
"""
