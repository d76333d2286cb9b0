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
        world=config.get("world"),
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
        arch=config["models"]["base"].get("arch"),
        seed=config["models"]["base"].get("init_seed", 0),
    script:
        "../scripts/build_toy_init.py"


rule prepare_training_data:
    input:
        world="results/data/toy_world",
        tokenizer="results/models/init",
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
    script:
        "../scripts/prepare_benchmark.py"


# The toy's stand-ins for the authors' hand-made suites: same shape, toy vocabulary, seeded.
rule build_toy_suites:
    input:
        world="results/data/toy_world",
        tokenizer="results/models/init",
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
