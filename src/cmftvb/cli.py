"""Command line: cmftvb <command> ...

Each sub-command is registered here (its arguments are the public interface) and implemented in
the module that owns the science. Errors a user can cause (:class:`cmftvb.CmftvbError`) are
printed as one line without a traceback and exit with status 2; Ctrl-C prints one line and
exits with status 130, leaving no output file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cmftvb import CmftvbError, __version__

DESCRIPTION = """\
cmftvb: whole-brain networks whose cerebellar-cortex nodes run a cerebellar mean field
(cMF), compared with a homogeneous Wong-Wang network. The study itself runs with Snakemake
(see README.md); these commands run one piece by hand.

'cmftvb COMMAND --help' lists a command's options with their defaults and units.
docs/MODEL.md describes the models and presets, docs/STUDY.md the study."""

SIMULATE_DESCRIPTION = """\
Integrate a whole-brain network on a connectome (stochastic Heun, delays from tract lengths)
and save the monitored activity as .npz. homogeneous: Wong-Wang in every node; cmf: the
cerebellar mean field in the cerebellar-cortex nodes, Wong-Wang elsewhere. Under a preset
with feedback inhibition control on (wongwang.fic; corrected), every Wong-Wang node's J_i is
tuned at the run's G so that its excitatory rate sits at wongwang.fic_target_hz (3.06 Hz),
and the run starts at that resting state; above the critical G* (about 0.5 for the sample
subject) the resting state is unstable and a warning says so (docs/MODEL.md, FIC)."""

SIMULATE_EPILOG = """\
output (.npz, written atomically: an interrupted run leaves no file; read it with
numpy.load or cmftvb.io.load_npz):
  time_ms          (T,)  sample times in ms (end of each period; mean monitor: its middle)
  labels           (N,)  region names
  S_E, S_I         Wong-Wang gating variables (dimensionless)
  GrC, GoC, MLI, PC  cerebellar rates in kHz (with --model cmf; NaN in Wong-Wang nodes)
  r_E, r_I         Wong-Wang rates in Hz (numba engine)
  bold_input       the variable that drives BOLD (S_E, or GrC in cerebellar nodes)
  params           the run's parameters (JSON text)
  meta             network summary, units and provenance (JSON text)
Each state array is (T, N) for one seed and (S, T, N) for S seeds (--seed repeated).
Size: about 8 bytes x arrays x T x N x S; the raw monitor at dt 0.1 ms writes about 91 MB
per simulated second for the 126-node sample subject, so long runs should use
--monitor mean --monitor-period 4 (250 Hz, what the workflow stores), or --monitor signals.
With --monitor signals the file holds only signals, its size and the run's memory flat in
the duration, in the layout of the workflow's streamed simulations (meta format
cmftvb.simulation-signals/1, settings in meta "options"; the signals rule can read it):
  bold             (S, V, N) at --tr, after --transient
  freqs_hz         (F,) Welch frequencies; welch_samples: samples after --transient
  psdabs_<var>     (S, F, k) Welch spectrum of every monitored variable (S_E, S_I and
                   the rates) after --transient (Hz^-1 x unit^2; rates in Hz),
                   modes_<var> (S, k, B) spectral-mode shares
  mean_<var>       (S, k) time mean after --transient (as monitored: GrC..PC in kHz)
  excerpt_<var>    (S, t, k) the first --transient + --excerpt seconds as monitored, with
                   excerpt_time_ms (t,); after --transient from sample
                   transient x 1000 / monitor period on
  nodes_<var>      (k,) the nodes that have <var>
  coh_<a>__<b>     coherence of two populations of a node; nodecoh (S, B, N, N) between
                   nodes (with --node-coherence); ephysbold_<pop> cerebellar-cortex rates
                   through the hemodynamics
  labels, seeds (S,), params

examples:
  cmftvb simulate SC_dirCB.zip --model cmf --duration 2000 --monitor mean \\
      --monitor-period 4 --out cmf.npz
  cmftvb simulate SC_dirCB.zip --model homogeneous --G-relative 0.9 --seed 1 --seed 2 \\
      --monitor mean --monitor-period 4 --out ww.npz
  cmftvb simulate SC_dirCB.zip --preset published --G 2 --out published.npz
  cmftvb simulate SC_dirCB.zip --model cmf --duration 864000 --seed 1 --seed 2 \\
      --monitor signals --out cmf_signals.npz"""

NODE_CURVE_DESCRIPTION = """\
Steady-state rates of one isolated cerebellar node (no network, no noise) under constant
mossy-fibre input: the node is relaxed until its rates stop changing, then polished by root
finding. Prints a tab-separated table on stdout: mossy_hz grc_hz goc_hz mli_hz pc_hz (Hz)."""

NODE_CURVE_EPILOG = """\
A node can have several stable states (the published preset at 4 Hz has two): the state
reached depends on --initial. --scan lists every fixed point found from a grid of starting
rates (0, 3, 30, 300 Hz per population), with columns stable (yes/no, from the eigenvalues of
the Jacobian) and max_re_eig_per_ms (the largest real part of those eigenvalues, 1/ms).

examples:
  cmftvb node-curve --mossy 4 10 20 40 60
  cmftvb node-curve --preset published --initial GrC=10 --initial GoC=10 --initial MLI=15 \\
      --initial PC=30 --mossy 4
  cmftvb node-curve --preset published --scan --mossy 4"""


CHECK_CONFIG_DESCRIPTION = """\
Check study config files before running the workflow: YAML syntax (reported with file, line
and column; Snakemake itself only says "Config file is not valid JSON or YAML"), the config
schema, and the values the workflow would only refuse later (G not finite, unknown
network.overrides keys, dt_ms not dividing the duration or the monitor period, an empty
participants table, the sample subject without connectome.prewired). Run it from the
checkout. Exit status 0 and one line "ok", or 2 and one line naming the file and key."""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the line breaks of descriptions and epilogs; wraps option help normally."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32, width=100)


class _TopFormatter(_Formatter):
    """Room for the longest command name ("node-curve") before its help text."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog)
        self._action_max_length = 16


def _key_value(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    if not key.strip():
        raise argparse.ArgumentTypeError(f"empty name in {text!r}")
    return key.strip(), value.strip()


def _name_hz(text: str) -> tuple[str, float]:
    key, value = _key_value(text)
    try:
        return key, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: the rate must be a number (Hz)") from None


#: The simulate command's arguments: name -> add_argument keywords (help in SIMULATE_HELP).
SIMULATE_OPTIONS: dict[str, dict] = {
    "connectome": {},
    "--model": dict(choices=["homogeneous", "cmf"], default="cmf"),
    "--preset": dict(choices=["corrected", "published"], default="corrected"),
    "--duration": dict(type=float, default=1000.0, metavar="MS"),
    "--dt": dict(type=float, default=0.1, metavar="MS"),
    "--seed": dict(type=int, action="append", default=None, metavar="N"),
    "--noise-sigma": dict(type=float, default=None, metavar="SIGMA"),
    "--subject": dict(default="", metavar="ID"),
    "--G": dict(type=float, default=None, metavar="G"),
    "--G-relative": dict(type=float, default=None, metavar="FRACTION"),
    "--speed": dict(type=float, default=None, metavar="MM_PER_MS"),
    "--initial": dict(type=_key_value, action="append", default=[], metavar="NAME=VALUE"),
    "--engine": dict(choices=["numba", "tvb"], default="numba"),
    "--monitor": dict(choices=["raw", "mean", "signals"], default="raw"),
    "--monitor-period": dict(type=float, default=None, metavar="MS"),
    "--tr": dict(type=float, default=720.0, metavar="MS"),
    "--bold-model": dict(choices=["tvb_kernel", "balloon"], default="tvb_kernel"),
    "--transient": dict(type=float, default=2.0, metavar="S"),
    "--excerpt": dict(type=float, default=3.0, metavar="S"),
    "--node-coherence": dict(action="store_true"),
    "--set": dict(type=_key_value, action="append", default=[], metavar="KEY=VALUE"),
    "--out": dict(required=True, metavar="FILE.npz"),
    "--max-output-gb": dict(type=float, default=2.0, metavar="GB"),
    "--quiet": dict(action="store_true"),
}
SIMULATE_HELP = {
    "connectome": "TVB connectivity zip (weights.txt, tract_lengths.txt in mm, centres.txt) or "
    "a prepared connectome (.npz from the workflow)",
    "--model": "homogeneous: Wong-Wang in every node; cmf: cerebellar mean field in the "
    "cerebellar-cortex nodes (default: cmf)",
    "--preset": "parameter set: corrected (the study default) or published (the authors' "
    "code, quirks included; docs/MODEL.md) (default: corrected)",
    "--duration": "simulated time in ms (default: 1000)",
    "--dt": "integration step in ms (default: 0.1)",
    "--seed": "random seed, >= 0; repeat for a batch of seeds run together (default: 0)",
    "--noise-sigma": "additive noise standard deviation per sqrt(ms) on every state variable "
    "(default: the preset's, 0.001)",
    "--subject": "subject id; with model, G and seed it keys each seed's random stream, as in "
    "the workflow (default: empty)",
    "--G": "global coupling, dimensionless, 0 to 1000 (default: 0.9 x G* when the preset has "
    "FIC on, as corrected does, see --G-relative; else the preset's coupling.G, 2.0)",
    "--G-relative": "global coupling as a fraction of this network's critical G* (the "
    "stability limit of the FIC resting state, found by bisection, about 20 s), instead of "
    "--G; needs a preset with FIC on (default: unset)",
    "--speed": "conduction speed in mm/ms; delay = tract length / speed (default: the "
    "preset's, 3.0)",
    "--initial": "constant initial history of a state variable: S_E, S_I (dimensionless) or "
    "GrC, GoC, MLI, PC (kHz); repeatable (default: the FIC fixed point when the preset has FIC "
    "on, as corrected does; else the preset's random initial history)",
    "--engine": "numba: the project's compiled engine; tvb: tvb-library's Simulator, a slow "
    "reference (default: numba)",
    "--monitor": "raw: the state at the end of each monitor period; mean: its average over "
    "the period; signals: streamed signals only (BOLD at --tr, Welch spectra and time means "
    "per variable and node, coherences, a --excerpt of the variables), memory and file size "
    "flat in the duration (numba engine; mean over --monitor-period, default 4 ms) (default: raw)",
    "--monitor-period": "period of the stored samples in ms, a multiple of --dt that divides "
    "--duration (default: --dt, every step)",
    "--tr": "with --monitor signals: BOLD repetition time in ms (default: 720)",
    "--bold-model": "with --monitor signals: tvb_kernel (TVB's Volterra kernel) or balloon "
    "(Balloon-Windkessel) (default: tvb_kernel)",
    "--transient": "with --monitor signals: seconds dropped from BOLD, spectra and means "
    "(default: 2)",
    "--excerpt": "with --monitor signals: seconds of monitored variables kept after the "
    "transient (the excerpt holds the transient too) (default: 3)",
    "--node-coherence": "with --monitor signals: also the coherence between every pair of nodes "
    "(nodecoh; its cross spectra add about 21 MB of memory per seed for 126 nodes) "
    "(default: off)",
    "--set": "override a preset parameter or switch (dotted key, e.g. crbl.alpha.PC=2.5; "
    "docs/MODEL.md lists them); repeatable",
    "--out": "output file; its folder must exist (required)",
    "--max-output-gb": "refuse to start when the output would exceed this many GB (estimated "
    "from the duration, monitor period, nodes and seeds) (default: 2)",
    "--quiet": "no summary or progress on stderr",
}

#: The node-curve command's arguments (help in NODE_CURVE_HELP).
NODE_CURVE_OPTIONS: dict[str, dict] = {
    "--preset": dict(choices=["corrected", "published"], default="corrected"),
    "--order": dict(type=int, choices=[1, 2], default=1),
    "--set": dict(type=_key_value, action="append", default=[], metavar="KEY=VALUE"),
    "--initial": dict(type=_name_hz, action="append", default=[], metavar="NAME=HZ"),
    "--scan": dict(action="store_true"),
    "--mossy": dict(type=float, nargs="+", required=True, metavar="HZ"),
}
NODE_CURVE_HELP = {
    "--preset": "parameter set (default: corrected)",
    "--order": "1: first-order rate equations; 2: with covariances (El Boustani & Destexhe "
    "2009) (default: 1)",
    "--set": "override a preset parameter (dotted key, e.g. crbl.alpha.PC=2.5); repeatable",
    "--initial": "initial rate in Hz of GrC, GoC, MLI or PC; repeatable; populations not "
    "named start at 0 (default: a silent node)",
    "--scan": "list every fixed point found from a grid of starts, with its stability (first "
    "order only)",
    "--mossy": "constant mossy-fibre rates in Hz, >= 0 (required; one row each)",
}

#: The check-config command's arguments (help in CHECK_CONFIG_HELP).
CHECK_CONFIG_OPTIONS: dict[str, dict] = {
    "configfile": dict(nargs="*", metavar="FILE"),
    "--base": dict(default="config.yaml", metavar="FILE"),
    "--schema": dict(default="workflow/schemas/config.schema.yaml", metavar="FILE"),
}
CHECK_CONFIG_HELP = {
    "configfile": "config files, merged in order over --base, as snakemake --configfile does",
    "--base": "the default config the others are merged over (default: config.yaml)",
    "--schema": "JSON schema of the config (default: workflow/schemas/config.schema.yaml)",
}


def _add_command(sub, name: str, help: str, options: dict, helps: dict, **kw) -> None:
    """Add subcommand ``name`` with ``options`` (argument -> add_argument keywords), each
    with its text from ``helps``."""
    parser = sub.add_parser(name, help=help, formatter_class=_Formatter, **kw)
    for arg, keywords in options.items():
        parser.add_argument(arg, help=helps[arg], **keywords)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cmftvb", description=DESCRIPTION, formatter_class=_TopFormatter
    )
    parser.add_argument("--version", action="version", version=f"cmftvb {__version__}")
    sub = parser.add_subparsers(title="commands", dest="command", required=True, metavar="COMMAND")
    _add_command(
        sub, "simulate",
        "integrate a network on a connectome and save its activity as .npz",
        SIMULATE_OPTIONS, SIMULATE_HELP,
        description=SIMULATE_DESCRIPTION, epilog=SIMULATE_EPILOG,
    )  # fmt: skip
    _add_command(
        sub, "node-curve",
        "steady-state rates of one isolated cerebellar node under constant mossy input",
        NODE_CURVE_OPTIONS, NODE_CURVE_HELP,
        description=NODE_CURVE_DESCRIPTION, epilog=NODE_CURVE_EPILOG,
    )  # fmt: skip
    _add_command(
        sub, "check-config",
        "check study config files as the workflow will load them (syntax, schema, values)",
        CHECK_CONFIG_OPTIONS, CHECK_CONFIG_HELP, description=CHECK_CONFIG_DESCRIPTION,
    )  # fmt: skip
    return parser


def _run_check_config(args) -> int:
    from cmftvb.config import check_config_files

    check_config_files(args.configfile, base=args.base, schema=args.schema)
    names = ", ".join([args.base, *args.configfile])
    print(f"cmftvb check-config: {names}: ok")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "simulate":
            from cmftvb.engine.cli import run_simulate

            return run_simulate(args)
        if args.command == "check-config":
            return _run_check_config(args)
        if args.command == "node-curve":
            from cmftvb.models.nodecurve import run_node_curve

            return run_node_curve(args)
    except CmftvbError as exc:
        print(f"cmftvb: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cmftvb: interrupted; nothing written", file=sys.stderr)
        return 130
    raise AssertionError(f"unhandled command {args.command!r}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
