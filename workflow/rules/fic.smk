# Stage 2b, feedback inhibition control (issue 10; cmftvb.fic, cmftvb.gstar): only for presets
# with wongwang.fic on. Per subject and preset, the critical coupling G* of every simulated model
# variant and the reference G* (their minimum: both models of a subject then run at the same
# absolute G, which common random numbers need); per subject x variant x G, the per-node J_i
# that puts every Wong-Wang node at the FIC target rate. A G label 'r0.9' means 0.9 x the
# reference G* (simulation.G_relative); an absolute G needs no G* record: its tune_fic job
# checks the stability of the FIC state at that G (one Jacobian) and warns above G*.


rule critical_G:
    input:
        connectome=subject_path("connectomes", "npz"),
        networks=lambda w: [network_path(w.subject, m, w.preset) for m in MODELS],
    output:
        critical_g_path(),
    log:
        log_path("critical_G", "{subject}/{preset}"),
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=15,
    params:
        models=MODELS,
    script:
        "../../scripts/critical_g.py"


rule tune_fic:
    input:
        unpack(critical_g_input),
        connectome=subject_path("connectomes", "npz"),
        network=network_path(),
    output:
        fic_path(),
    log:
        log_path("tune_fic", "{subject}/{model}-{preset}/G{G}"),
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../../scripts/tune_fic.py"
