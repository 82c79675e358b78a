"""Node substitution: which local model runs in each node, and how nodes are coupled.

From a connectome (with node roles) and a network model (``homogeneous``, ``cmf``),
:func:`build_network` produces a :class:`NetworkSpec`: the resolved parameter preset, one local
model per node (the network model's rules in :mod:`cmftvb.models.registry`) and a list of
*projections* (MODEL.md §4). Each projection is a block of the connectome that carries one
source state variable to one input of the target node's model, with a scale and a sign. The
tables are data (``src/cmftvb/projections.yaml``), per model variant (``homogeneous``, ``cmf``)
and preset (``corrected``: MODEL.md §4; ``published``: MODEL.md §6 items 6-7 and the
December-2024 mossy mask). :func:`expand_edges` turns a network into the edge list the engine
integrates.

Units: weights dimensionless (as in the connectome), delays in integration steps, tract lengths
in mm, speed in mm/ms, dt in ms.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from typing import Any

import numpy as np
import yaml

from cmftvb import CmftvbError
from cmftvb.connectome.roles import ROLE_GROUPS, ROLES
from cmftvb.models import registry

# Derived from the model registry (cmftvb.models.registry), kept importable from here.
#: Local models and their state variables, in the engine's order (MODEL.md §2.1, §3).
MODEL_VARS: dict[str, tuple[str, ...]] = registry.model_vars()
#: Inputs of each local model that a projection can target (index = engine input slot).
MODEL_INPUTS: dict[str, tuple[str, ...]] = registry.model_inputs()
#: BOLD input variable per model (MODEL.md §6 item 8: S_E and GrC, in both presets).
BOLD_VAR: dict[str, str] = registry.bold_vars()
#: Network models (the workflow's ``{model}``): ``homogeneous``, ``cmf``.
MODELS = registry.network_models()
PROJECTION_FIELDS = (
    "name",
    "source",
    "source_var",
    "target",
    "target_input",
    "scale",
    "sign",
    "exclude",
)
_TABLE_FIELDS = (*PROJECTION_FIELDS, "when", "unless")


def role_groups() -> dict[str, tuple[str, ...]]:
    """Role groups (:data:`cmftvb.connectome.roles.ROLE_GROUPS`)."""
    return {k: tuple(v) for k, v in ROLE_GROUPS.items()}


def resolve_roles(spec: str | Sequence[str], where: str) -> set[str]:
    """Roles named by a group name, a role, or a list of them."""
    groups = role_groups()
    items = [spec] if isinstance(spec, str) else list(spec)
    out: set[str] = set()
    for item in items:
        if item in groups:
            out.update(groups[item])
        elif item in ROLES:
            out.add(item)
        else:
            raise CmftvbError(
                f"{where}: unknown role or group {item!r} "
                f"(groups: {', '.join(sorted(groups))}; roles: {', '.join(ROLES)})"
            )
    return out


def load_projection_table(model: str, preset: str) -> list[dict[str, Any]]:
    """The projection table of ``projections.yaml`` for a model variant and preset.

    :func:`build_network` picks the ``published`` table when the preset's switch
    ``target_masked_coupling`` (MODEL.md §6 item 6) is true, else ``corrected``.
    """
    text = resources.files("cmftvb").joinpath("projections.yaml").read_text()
    tables = yaml.safe_load(text)
    if model not in tables:
        raise CmftvbError(f"projections.yaml: no model {model!r} (have {', '.join(tables)})")
    if preset not in tables[model]:
        raise CmftvbError(
            f"projections.yaml: no preset {preset!r} for model {model!r} "
            f"(have {', '.join(tables[model])})"
        )
    return copy.deepcopy(tables[model][preset])


@dataclasses.dataclass
class NetworkSpec:
    """A network: node models, resolved parameters and projections (docs/ARCHITECTURE.md)."""

    model: str
    preset: str
    params: dict[str, Any]
    labels: list[str]
    roles: list[str]
    node_model: list[str]
    projections: list[dict[str, Any]]
    connectome_digest: str

    @property
    def n_nodes(self) -> int:
        return len(self.labels)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, where: str = "network JSON") -> NetworkSpec:
        """Read :meth:`to_json` output; ``where`` (e.g. the file) names it in errors. Keys other
        than the fields (a provenance record) are ignored; the fields' types are checked."""
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CmftvbError(f"{where}: not valid JSON ({exc})") from None
        if not isinstance(obj, dict):
            raise CmftvbError(f"{where}: expected a JSON object, got {type(obj).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        missing = names - set(obj)
        if missing:
            raise CmftvbError(f"{where}: missing keys {sorted(missing)}")
        for key in ("model", "preset", "connectome_digest"):
            if not isinstance(obj[key], str):
                raise CmftvbError(f"{where}: {key} must be a string")
        if not isinstance(obj["params"], dict):
            raise CmftvbError(f"{where}: params must be an object")
        n = None
        for key in ("labels", "roles", "node_model"):
            value = obj[key]
            if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
                raise CmftvbError(f"{where}: {key} must be a list of strings")
            if n is not None and len(value) != n:
                raise CmftvbError(f"{where}: {key} has {len(value)} entries for {n} nodes")
            n = len(value)
        bad = sorted(set(obj["node_model"]) - set(MODEL_VARS))
        if bad:
            raise CmftvbError(f"{where}: unknown node models {bad}")
        fields = ("name", "source", "source_var", "target", "target_input", "scale", "sign")
        projections = obj["projections"]
        if not isinstance(projections, list) or not all(
            isinstance(p, dict) and all(f in p for f in fields) for p in projections
        ):
            raise CmftvbError(f"{where}: projections must be objects with {', '.join(fields)}")
        return cls(**{k: obj[k] for k in names})

    def summary(self) -> str:
        """A few lines for logs: model, node counts per local model, projections."""
        counts = {m: self.node_model.count(m) for m in MODEL_VARS if m in self.node_model}
        lines = [
            f"network {self.model}/{self.preset}: {self.n_nodes} nodes "
            + ", ".join(f"{n} {m}" for m, n in counts.items())
        ]
        for p in self.projections:
            lines.append(
                f"  {p['name']}: {_fmt(p['source'])}.{_fmt(p['source_var'])} -> "
                f"{_fmt(p['target'])}.{_fmt(p['target_input'])} x {p['scale']:g} "
                f"sign {p['sign']:+d}"
                + (f" (excl. {_fmt(p['exclude'])})" if p.get("exclude") else "")
            )
        return "\n".join(lines)


def _fmt(x: Any) -> str:
    if isinstance(x, Mapping):
        return "{" + ",".join(f"{k}:{_fmt(v)}" for k, v in x.items()) + "}"
    if isinstance(x, list | tuple):
        return "[" + ",".join(_fmt(v) for v in x) + "]"
    return str(x)


def connectome_digest(connectome: Any) -> str:
    """sha256 of a connectome's weights, tract lengths, labels and roles."""
    h = hashlib.sha256()
    for name in ("weights", "tract_lengths"):
        arr = np.ascontiguousarray(np.asarray(getattr(connectome, name), dtype=np.float64))
        h.update(name.encode() + str(arr.shape).encode() + arr.tobytes())
    for name in ("labels", "roles"):
        h.update(name.encode() + json.dumps([str(s) for s in getattr(connectome, name)]).encode())
    return h.hexdigest()


def node_models(roles: Sequence[str], model: str) -> list[str]:
    """Local model per node, from the network model's rules in the registry
    (:data:`cmftvb.models.registry.NETWORK_MODELS`): Wong-Wang everywhere, except the
    cerebellar cortex in ``cmf``."""
    rules = registry.network_rules(model)
    by_role = dict.fromkeys(ROLES, registry.DEFAULT_LOCAL_MODEL)
    for spec, local in rules:
        for r in resolve_roles(spec, f"network model {model!r}"):
            by_role[r] = local
    return [by_role.get(r, registry.DEFAULT_LOCAL_MODEL) for r in roles]


def _split_overrides(
    overrides: Iterable[tuple[str, Any]],
) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
    preset_ovr, proj_ovr = [], []
    for key, value in overrides:
        (proj_ovr if str(key).startswith("projections.") else preset_ovr).append((key, value))
    return preset_ovr, proj_ovr


def _parse_value(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise CmftvbError(f"override value {value!r}: not valid YAML ({exc})") from None
    return value


def apply_projection_overrides(
    table: list[dict[str, Any]], overrides: Iterable[tuple[str, Any]]
) -> list[dict[str, Any]]:
    """Apply ``projections.*`` overrides to a projection table (returns a new list).

    - ``projections.NAME=drop`` (or ``null``) drops a projection;
    - ``projections.NAME={source: ..., target: ..., ...}`` adds (or replaces) a whole projection;
    - ``projections.NAME.FIELD=VALUE`` changes one field (e.g. ``scale``, ``sign``, ``target``).
    """
    out = copy.deepcopy(list(table))
    for key, raw in overrides:
        parts = str(key).split(".", 2)
        if len(parts) < 2 or not parts[1]:
            raise CmftvbError(f"override {key!r}: expected projections.NAME[.FIELD]")
        name = parts[1]
        value = _parse_value(raw)
        idx = next((i for i, p in enumerate(out) if p.get("name") == name), None)
        if len(parts) == 2:
            if value is None or value == "drop":
                if idx is None:
                    raise CmftvbError(f"override {key!r}: no projection named {name!r}")
                del out[idx]
            elif isinstance(value, Mapping):
                proj = {"scale": 1.0, "sign": 1, **dict(value), "name": name}
                if idx is None:
                    out.append(proj)
                else:
                    out[idx] = proj
            else:
                raise CmftvbError(
                    f"override {key!r}: value must be 'drop' or a mapping, got {raw!r}"
                )
        else:
            field = parts[2]
            if field not in _TABLE_FIELDS or field == "name":
                raise CmftvbError(
                    f"override {key!r}: unknown projection field {field!r} "
                    f"(fields: {', '.join(f for f in _TABLE_FIELDS if f != 'name')})"
                )
            if idx is None:
                raise CmftvbError(f"override {key!r}: no projection named {name!r}")
            out[idx][field] = value
    return out


def _switch(params: Mapping[str, Any], name: str, where: str) -> bool:
    switches = params.get("switches", {}) or {}
    if name not in switches:
        raise CmftvbError(
            f"{where}: preset {params.get('name', '?')!r} has no switch {name!r} "
            f"(switches: {', '.join(sorted(switches)) or 'none'})"
        )
    return bool(switches[name])


def resolve_projections(
    table: list[dict[str, Any]], params: Mapping[str, Any], node_model: Sequence[str]
) -> list[dict[str, Any]]:
    """Validate a projection table, apply its ``when``/``unless`` switches, normalise fields."""
    out = []
    names = set()
    used = set(node_model)
    for i, p in enumerate(table):
        where = f"projection {p.get('name', f'#{i}')!r}"
        unknown = set(p) - set(_TABLE_FIELDS)
        if unknown:
            raise CmftvbError(f"{where}: unknown fields {sorted(unknown)}")
        for req in ("name", "source", "source_var", "target", "target_input"):
            if req not in p:
                raise CmftvbError(f"{where}: missing field {req!r}")
        if p["name"] in names:
            raise CmftvbError(f"{where}: duplicate name")
        names.add(p["name"])
        if "when" in p and not _switch(params, p["when"], where):
            continue
        if "unless" in p and _switch(params, p["unless"], where):
            continue
        resolve_roles(p["source"], where + ".source")
        resolve_roles(p["target"], where + ".target")
        for ex in p.get("exclude") or []:
            if not isinstance(ex, Mapping) or set(ex) != {"source", "target"}:
                raise CmftvbError(f"{where}.exclude: each entry needs exactly source and target")
            resolve_roles(ex["source"], where + ".exclude.source")
            resolve_roles(ex["target"], where + ".exclude.target")
        for field, table_ in (("source_var", MODEL_VARS), ("target_input", MODEL_INPUTS)):
            mapping = p[field]
            if not isinstance(mapping, Mapping):
                raise CmftvbError(f"{where}.{field}: expected a mapping model -> name")
            for m, v in mapping.items():
                if m not in table_:
                    raise CmftvbError(f"{where}.{field}: unknown node model {m!r}")
                if v not in table_[m]:
                    raise CmftvbError(
                        f"{where}.{field}: {m} has no {v!r} (choose from {', '.join(table_[m])})"
                    )
        try:
            scale = float(p.get("scale", 1.0))
            sign = int(p.get("sign", 1))
        except (TypeError, ValueError):
            raise CmftvbError(f"{where}: scale must be a number and sign +1 or -1") from None
        if sign not in (1, -1) or not np.isfinite(scale):
            raise CmftvbError(f"{where}: scale must be finite and sign +1 or -1")
        q = {
            "name": str(p["name"]),
            "source": p["source"],
            "source_var": {k: v for k, v in p["source_var"].items() if k in used},
            "target": p["target"],
            "target_input": {k: v for k, v in p["target_input"].items() if k in used},
            "scale": scale,
            "sign": sign,
            "exclude": [dict(e) for e in (p.get("exclude") or [])],
        }
        out.append(q)
    return out


def build_network(
    connectome: Any,
    model: str,
    preset_name: str | Mapping[str, Any],
    overrides: Iterable[tuple[str, Any]] = (),
) -> NetworkSpec:
    """Build the network specification of ``model`` on ``connectome``.

    ``connectome`` needs ``weights``, ``tract_lengths``, ``labels`` and ``roles``
    (:class:`cmftvb.connectome.Connectome`). ``preset_name`` is ``corrected`` or ``published``
    (read with ``cmftvb.models.presets.load_preset``) or an already loaded preset dict.
    ``overrides`` are ``(key, value)`` pairs: ``projections.*`` keys edit the projection table
    (:func:`apply_projection_overrides`), all others go to ``presets.apply_overrides``.
    """
    preset_ovr, proj_ovr = _split_overrides(overrides)
    if isinstance(preset_name, Mapping):
        params = copy.deepcopy(dict(preset_name))
        if preset_ovr:
            from cmftvb.models.presets import apply_overrides

            params = apply_overrides(params, preset_ovr)
    else:
        from cmftvb.models.presets import apply_overrides, load_preset

        params = apply_overrides(load_preset(preset_name), preset_ovr)
    name = str(params.get("name", preset_name))
    roles = [str(r) for r in connectome.roles]
    labels = [str(s) for s in connectome.labels]
    bad = sorted({r for r in roles if r not in ROLES})
    if bad:
        raise CmftvbError(f"connectome roles: unknown roles {bad} (expected {', '.join(ROLES)})")
    nm = node_models(roles, model)
    routing = "published" if _switch(params, "target_masked_coupling", name) else "corrected"
    table = apply_projection_overrides(load_projection_table(model, routing), proj_ovr)
    projections = resolve_projections(table, params, nm)
    net = NetworkSpec(
        model=model,
        preset=name,
        params=params,
        labels=labels,
        roles=roles,
        node_model=nm,
        projections=projections,
        connectome_digest=connectome_digest(connectome),
    )
    check_coverage(net)
    return net


def check_coverage(net: NetworkSpec) -> None:
    """Every node a projection touches must have a source variable / input for its model."""
    roles = np.asarray(net.roles)
    models = np.asarray(net.node_model)
    for p in net.projections:
        for side, field in (("source", "source_var"), ("target", "target_input")):
            sel = np.isin(roles, sorted(resolve_roles(p[side], p["name"])))
            need = sorted(set(models[sel]) - set(p[field]))
            if need:
                raise CmftvbError(
                    f"projection {p['name']!r}: {field} lacks an entry for node model(s) "
                    f"{need} present in its {side} nodes"
                )


@dataclasses.dataclass
class EdgeList:
    """Delayed edges of a network, sorted by source node (then source variable, target).

    Arrays of length E: ``src`` node, ``src_var`` (index into the source model's
    :data:`MODEL_VARS`), ``tgt`` node, ``tgt_input`` (index into the target model's
    :data:`MODEL_INPUTS`), ``weight`` = W[tgt, src]·scale·sign, ``delay`` in integration steps
    (TVB: ``rint(tract_length / speed / dt)``), ``projection`` (index into
    ``network.projections``).
    """

    src: np.ndarray
    src_var: np.ndarray
    tgt: np.ndarray
    tgt_input: np.ndarray
    weight: np.ndarray
    delay: np.ndarray
    projection: np.ndarray

    def __len__(self) -> int:
        return int(self.src.size)

    @property
    def max_delay(self) -> int:
        return int(self.delay.max()) if self.delay.size else 0


def delay_steps(tract_lengths: np.ndarray, speed: float, dt: float) -> np.ndarray:
    """Delays in whole steps, rounded as TVB does (``Connectivity.set_idelays``)."""
    if not (speed > 0 and dt > 0):
        raise CmftvbError(f"speed ({speed}) and dt ({dt}) must be positive")
    delays = np.asarray(tract_lengths, dtype=np.float64) / speed
    return np.rint(delays / dt).astype(np.int64)


def _slot_lookup(
    proj: Mapping[str, Any],
    field: str,
    table: Mapping[str, Sequence[str]],
    kinds: np.ndarray,
) -> np.ndarray:
    """Index of ``proj[field][m]`` in ``table[m]`` for each node model ``m`` in ``kinds``
    (int64, -1 where the projection has no entry for ``m``)."""
    mapping = proj[field]
    out = np.full(len(kinds), -1, dtype=np.int64)
    for i, kind in enumerate(kinds):
        m = str(kind)
        if m not in mapping:
            continue
        if m not in table or mapping[m] not in table[m]:
            raise CmftvbError(
                f"projection {proj['name']!r}: {field} {m}: {mapping[m]!r} is not one of "
                f"{', '.join(table.get(m, ())) or '(unknown node model)'}"
            )
        out[i] = table[m].index(mapping[m])
    return out


def expand_edges(connectome: Any, network: NetworkSpec, dt: float, speed: float) -> EdgeList:
    """Expand the projections into edges: one per projection and non-zero ``W[k, j]``.

    ``dt`` in ms, ``speed`` in mm/ms (delays: :func:`delay_steps`). Raises
    :class:`cmftvb.CmftvbError` when a projection has no source variable / target input (or an
    unknown one) for the model of a node it connects, e.g. in a network read with
    :meth:`NetworkSpec.from_json`, which does not re-check projections."""
    W = np.asarray(connectome.weights, dtype=np.float64)
    n = network.n_nodes
    if W.shape != (n, n):
        raise CmftvbError(f"connectome weights: shape {W.shape}, network has {n} nodes")
    if connectome_digest(connectome) != network.connectome_digest:
        raise CmftvbError("network was built on a different connectome (digest differs)")
    D = delay_steps(connectome.tract_lengths, speed, dt)
    roles = np.asarray(network.roles)
    nonzero = W != 0
    # Node models as codes into ``kinds`` (sorted distinct names), so that each projection's
    # source-variable / target-input index is looked up once per model, not once per edge.
    kinds, model_code = np.unique(np.asarray(network.node_model, dtype=str), return_inverse=True)
    model_code = model_code.reshape(-1)
    cols: dict[str, list[np.ndarray]] = {k: [] for k in EdgeList.__dataclass_fields__}
    for pi, p in enumerate(network.projections):
        src_ok = np.isin(roles, sorted(resolve_roles(p["source"], p["name"])))
        tgt_ok = np.isin(roles, sorted(resolve_roles(p["target"], p["name"])))
        mask = tgt_ok[:, None] & src_ok[None, :] & nonzero
        for ex in p.get("exclude", []):
            es = np.isin(roles, sorted(resolve_roles(ex["source"], p["name"])))
            et = np.isin(roles, sorted(resolve_roles(ex["target"], p["name"])))
            mask &= ~(et[:, None] & es[None, :])
        k, j = np.nonzero(mask)
        svar = _slot_lookup(p, "source_var", MODEL_VARS, kinds)[model_code[j]]
        tin = _slot_lookup(p, "target_input", MODEL_INPUTS, kinds)[model_code[k]]
        if (svar < 0).any() or (tin < 0).any():
            field, side = ("source_var", j) if (svar < 0).any() else ("target_input", k)
            bad = sorted(set(kinds[model_code[side]]) - set(p[field]))
            raise CmftvbError(
                f"projection {p['name']!r}: {field} lacks an entry for node model(s) {bad}"
            )
        cols["src"].append(j)
        cols["src_var"].append(svar)
        cols["tgt"].append(k)
        cols["tgt_input"].append(tin)
        cols["weight"].append(W[k, j] * p["scale"] * p["sign"])
        cols["delay"].append(D[k, j])
        cols["projection"].append(np.full(k.size, pi))
    arrs = {
        key: (np.concatenate(v) if v else np.zeros(0))
        for key, v in cols.items()  # noqa: B035
    }
    order = np.lexsort((arrs["tgt"], arrs["src_var"], arrs["src"]))
    out = {}
    for key, v in arrs.items():
        dtype = np.float64 if key == "weight" else np.int64
        out[key] = np.ascontiguousarray(v[order], dtype=dtype)
    return EdgeList(**out)


def edge_summary(edges: EdgeList, network: NetworkSpec) -> str:
    """Per projection: number of edges, sum of weights, delay range (steps)."""
    lines = [f"{len(edges)} edges, max delay {edges.max_delay} steps"]
    for pi, p in enumerate(network.projections):
        sel = edges.projection == pi
        if sel.any():
            lines.append(
                f"  {p['name']}: {int(sel.sum())} edges, sum w {edges.weight[sel].sum():.4g}, "
                f"delay {int(edges.delay[sel].min())}-{int(edges.delay[sel].max())} steps"
            )
        else:
            lines.append(f"  {p['name']}: 0 edges")
    return "\n".join(lines)
