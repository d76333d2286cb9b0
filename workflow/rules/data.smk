# Data: the toy world (toy presets), training sets, benchmark records.


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
        # toy_only: unreachable when models.base.source != toy (download.smk makes the hub data)
        world=toy_only("results/data/toy_world"),
        tokenizer=toy_only(toy_tokenizer),
    output:
        data=directory("results/data/train/{stage}"),
    log:
        "logs/prepare_training_data/{stage}.log",
    wildcard_constraints:
        stage="base|cpt",
    container:
        config["containers"]["cpu"]
    params:
        seq_len=lambda wc: (
            config["pretrain_base"]["seq_len"]
            if wc.stage == "base"
            else config["cpt"]["data"]["block_size"]
        ),
        instruction_fraction=lambda wc: (
            config["pretrain_base"]["instruction_fraction"]
            if wc.stage == "base"
            else config["cpt"]["data"].get("instruction_fraction", 0.0)
        ),
        n_examples=lambda wc: (
            None if wc.stage == "base" else config["cpt"]["data"]["n_blocks"]
        ),
        seed=config["seed"],
        windows=config["benchmarks"]["gen_length"],
    script:
        "../scripts/prepare_training_data.py"


rule prepare_benchmark:
    input:
        # toy_only: unreachable when models.base.source != toy (download.smk: build_benchmark)
        world=toy_only("results/data/toy_world"),
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
