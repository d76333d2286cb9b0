# Data of the toy study (models.base.source: toy; download.smk otherwise): the toy world, the
# toy base model's initial weights, training sets and benchmark records.


rule generate_toy_world:
    output:
        world=directory("results/data/toy_world"),
    log:
        "logs/generate_toy_world.log",
    container:
        config["containers"]["cpu"]
    params:
        world=config["world"],
    script:
        "../scripts/generate_toy_world.py"


rule build_toy_init:
    input:
        world="results/data/toy_world",
    output:
        model=directory("results/models/init"),
    log:
        "logs/build_toy_init.log",
    container:
        config["containers"]["cpu"]
    params:
        arch=config["models"]["base"]["arch"],
        seed=config["models"]["base"]["init_seed"],
    script:
        "../scripts/build_toy_init.py"


rule prepare_training_data:
    input:
        world="results/data/toy_world",
        tokenizer=toy_tokenizer,
    output:
        data=directory("results/data/train/{stage}"),
    log:
        "logs/prepare_training_data/{stage}.log",
    wildcard_constraints:
        stage="base|cpt",
    container:
        config["containers"]["cpu"]
    params:
        seq_len=training_seq_len,
        instruction_fraction=training_instruction_fraction,
        n_examples=training_n_examples,
        seed=config["seed"],
        windows=config["benchmarks"]["gen_length"],
    script:
        "../scripts/prepare_training_data.py"


rule prepare_benchmark:
    input:
        world="results/data/toy_world",
    output:
        records="results/data/benchmarks/{bench}.json",
    log:
        "logs/prepare_benchmark/{bench}.log",
    container:
        config["containers"]["cpu"]
    params:
        n=config["benchmarks"].get("n"),  # toy: the first n test records of the world (all if unset)
    script:
        "../scripts/prepare_benchmark.py"


# The toy's stand-ins for the authors' hand-made suites: same shape, toy vocabulary, seeded.
rule build_toy_suites:
    input:
        world="results/data/toy_world",
        tokenizer=model_dir("base"),
    output:
        manual="results/data/toy_suites/semantic_corruption_manual.json",
        benchmark="results/data/toy_suites/correction_benchmark.json",
        homophone="results/data/toy_suites/homophone_pairs.json",
    log:
        "logs/build_toy_suites.log",
    container:
        config["containers"]["cpu"]
    params:
        sizes=config["robustness"]["correction"]["toy_sizes"],
        seed=config["robustness"]["correction"]["toy_seed"],
    script:
        "../scripts/build_toy_suites.py"


# The toy base (stand-in for LLaDA-8B-Instruct) is a model artifact committed to this
# repository, pinned by the sha256 of its manifest in config/artifacts.lock.yaml. It takes the
# hub snapshot's path: verified (lock, then every file against the manifest) each time this
# rule runs, materialised into resources/models/base with provenance and a manifest. Every
# file of the artifact is an input, so changing one reruns the rule, which then names it.
if TOY_ARTIFACT:
    from dsl_llada.hub import LockError, locked_artifact_digest

    try:
        locked_artifact_digest(
            ARTIFACT_LOCK, TOY_ARTIFACT
        )  # before any job: a missing pin
    except LockError as err:
        raise WorkflowError(f"models.base.artifact: {err}")
    if not os.path.isdir(TOY_ARTIFACT):
        raise WorkflowError(
            f"models.base.artifact: {TOY_ARTIFACT} is not a folder (build one with "
            "`snakemake toy_base --configfile config/presets/toy_base.yaml --cores all`)"
        )

    localrules:
        fetch_artifact,

    rule fetch_artifact:
        input:
            files=sorted(
                os.path.join(d, f) for d, _, fs in os.walk(TOY_ARTIFACT) for f in fs
            ),
            lock=ARTIFACT_LOCK,
        output:
            model=directory("resources/models/base"),
        log:
            "logs/fetch_artifact/base.log",
        container:
            config["containers"]["cpu"]
        params:
            job={
                "name": "base",
                "offline": True,  # a file of this repository: never the network
                "artifact": TOY_ARTIFACT,
                "lock_file": ARTIFACT_LOCK,
                "world": config["world"],
                "benchmarks_gen_length": config["benchmarks"]["gen_length"],
            },
        script:
            "../scripts/download_model.py"
