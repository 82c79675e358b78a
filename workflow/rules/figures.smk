# Stage 7, figures and report (STUDY.md): the article-style figures. Each scripts/fig_*.py adapter
# reads its inputs, calls one figure function of the cmftvb.figures package (it returns a
# matplotlib Figure) and writes it with cmftvb.figures.save_figure: a PNG and its SVG twin, both
# or neither. Each PNG is wrapped in report() with a caption from workflow/report/;
# `snakemake --report` builds the HTML. The connectome figure's rule, fig_connectome, sits in
# connectome.smk beside the connectome it draws.


rule fig_node_curves:
    output:
        png=report(
            f"{RESULTS}/figures/node_curves.png",
            caption="../report/node_curves.rst",
            category="1. Models",
        ),
        svg=f"{RESULTS}/figures/node_curves.svg",
    log:
        f"{RESULTS}/logs/figures/node_curves.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1500,
        runtime=15,
    params:
        presets=config["network"]["presets"],
        mossy_hz=config["figures"]["node_curve_mossy_hz"],
        overrides=config["network"]["overrides"],
    script:
        "../../scripts/fig_node_curves.py"


rule fig_fc_matrices:
    input:
        fc=lambda w: batches_of(w.subject, w.preset, "fitness", "fc.npz"),
        empirical=f"{RESULTS}/empirical/{{subject}}.npz",
        connectome=f"{RESULTS}/connectomes/{{subject}}.npz",
        best_G=f"{RESULTS}/study/best_G.tsv",
    output:
        png=report(
            f"{RESULTS}/figures/fc_matrices/{{subject}}_{{preset}}.png",
            caption="../report/fc_matrices.rst",
            category="2. Global fitness",
            subcategory="FC matrices",
            labels={"subject": "{subject}", "preset": "{preset}"},
        ),
        svg=f"{RESULTS}/figures/fc_matrices/{{subject}}_{{preset}}.svg",
    log:
        f"{RESULTS}/logs/figures/fc_matrices/{{subject}}_{{preset}}.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    script:
        "../../scripts/fig_fc_matrices.py"


rule fig_global:
    input:
        table=f"{RESULTS}/study/fitness.tsv",
        best_G=f"{RESULTS}/study/best_G.tsv",
        comparison=f"{RESULTS}/study/comparison.tsv",
    output:
        paired_fc_fit=report(
            f"{RESULTS}/figures/{{preset}}/paired_fc_fit.png",
            caption="../report/paired_fitness.rst",
            category="2. Global fitness",
            labels={"figure": "FC fit per subject", "preset": "{preset}"},
        ),
        paired_fcd_ks=report(
            f"{RESULTS}/figures/{{preset}}/paired_fcd_ks.png",
            caption="../report/paired_fitness.rst",
            category="2. Global fitness",
            labels={"figure": "FCD KS distance per subject", "preset": "{preset}"},
        ),
        g_sweep=report(
            f"{RESULTS}/figures/{{preset}}/g_sweep.png",
            caption="../report/g_sweep.rst",
            category="2. Global fitness",
            labels={"figure": "G sweep", "preset": "{preset}"},
        ),
        regional_error=report(
            f"{RESULTS}/figures/{{preset}}/regional_error.png",
            caption="../report/regional_error.rst",
            category="3. Local fitness",
            labels={"figure": "region-wise error", "preset": "{preset}"},
        ),
        svg=multiext(
            f"{RESULTS}/figures/{{preset}}/",
            "paired_fc_fit.svg",
            "paired_fcd_ks.svg",
            "g_sweep.svg",
            "regional_error.svg",
        ),
    log:
        f"{RESULTS}/logs/figures/{{preset}}/global.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=run_mem_mb,
        runtime=15,
    script:
        "../../scripts/fig_global.py"


rule fig_firing_rates:
    input:
        table=f"{RESULTS}/study/fitness.tsv",
        best_G=f"{RESULTS}/study/best_G.tsv",
    output:
        png=report(
            f"{RESULTS}/figures/{{preset}}/firing_rates.png",
            caption="../report/firing_rates.rst",
            category="3. Local fitness",
            labels={"figure": "firing rates", "preset": "{preset}"},
        ),
        svg=f"{RESULTS}/figures/{{preset}}/firing_rates.svg",
    log:
        f"{RESULTS}/logs/figures/{{preset}}/firing_rates.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=run_mem_mb,
        runtime=15,
    script:
        "../../scripts/fig_firing_rates.py"


rule fig_spectra:
    input:
        signals=lambda w: batches_of(None, w.preset, "signals", "npz"),
        best_G=f"{RESULTS}/study/best_G.tsv",
    output:
        spectra=report(
            f"{RESULTS}/figures/{{preset}}/spectra.png",
            caption="../report/spectra.rst",
            category="3. Local fitness",
            labels={"figure": "population spectra", "preset": "{preset}"},
        ),
        coherence=report(
            f"{RESULTS}/figures/{{preset}}/coherence.png",
            caption="../report/coherence.rst",
            category="3. Local fitness",
            labels={"figure": "coherence", "preset": "{preset}"},
        ),
        svg=multiext(f"{RESULTS}/figures/{{preset}}/", "spectra.svg", "coherence.svg"),
    log:
        f"{RESULTS}/logs/figures/{{preset}}/spectra.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=run_mem_mb,
        runtime=15,
    script:
        "../../scripts/fig_spectra.py"
