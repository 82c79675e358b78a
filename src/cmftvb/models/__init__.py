"""Local models of the network's nodes and their parameter presets.

- :mod:`cmftvb.models.registry`: every local model's declaration (``LOCAL_MODELS``: state
  variables, rates, inputs, BOLD drive, units, physiological ranges) and the network models
  (``NETWORK_MODELS``: which local model runs on which node role); :mod:`cmftvb.models.base`
  holds the declaration type ``LocalModel``.
- :mod:`cmftvb.models.presets`: parameters as data (YAML), ``load_preset``, ``apply_overrides``.
- :mod:`cmftvb.models.wongwang`: reduced Wong-Wang excitatory-inhibitory mean field (MODEL.md §3).
- :mod:`cmftvb.models.crbl`: cerebellar mean field, first and second order (MODEL.md §2).
- :mod:`cmftvb.models.nodecurve`: steady states of one isolated cerebellar node
  (``cmftvb node-curve``).
"""
