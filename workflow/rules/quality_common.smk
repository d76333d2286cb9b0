# Helpers and targets of the paper-item rules (genquality, bertscore, ar, reasoning, judge .smk):
# functions live here so that the rule files hold rules only (snakemake --lint).
from types import SimpleNamespace

from dsl_llada.downloads import HubSettings
from dsl_llada.hub import resolve_revision
from dsl_llada.settings import GenQualitySettings

# the hub section as the download plan reads it (download.smk is included in hub runs only)
HUB = HubSettings.from_config(config)

# --- [genquality]
GENQ = config["genquality"]  # the section as rules pass it (plain dict)
try:  # typed: every key checked, the job params below are read from it
    GENQ_SETTINGS = GenQualitySettings.from_config(GENQ)
except ConfigError as err:
    raise WorkflowError(str(err))
GENQ_NFES = list(GENQ_SETTINGS.nfe)
GENQ_METHODS = list(GENQ_SETTINGS.methods)


def genq_sample_params(wc):
    return {
        "method": dict(METHODS[wc.method], name=wc.method),
        "nfes": GENQ_NFES,
        "gen_length": GENQ_SETTINGS.gen_length,
        "shard": 0,
        "n_shards": 1,
        "seed": SAMPLING.seed,
        **SAMPLING.batching(),
        "prompts_only": True,
    }


def genq_runs(wildcards):
    return [
        {
            "method": m,
            "nfe": n,
            "samples": f"results/genquality/samples/{m}/nfe{n}.jsonl",
        }
        for m in GENQ_METHODS
        for n in GENQ_NFES
    ]


def genq_sample_runtime(wc):
    """Minutes: 200 prompts x every NFE at 8B (one sample at a time); 30 min on the toy."""
    return 30 if TOY else 24 * 60


# --- [bertscore]
def bertscore_runs(wildcards):
    """{benchmark: (records file, score runs)} for every benchmark."""
    return {
        b: {
            "records": f"results/data/benchmarks/{b}.json",
            "runs": score_runs(SimpleNamespace(bench=b)),
        }
        for b in BENCHES
    }


def bertscore_inputs(wildcards):
    return [
        p
        for b in bertscore_runs(wildcards).values()
        for p in [b["records"]] + [s for r in b["runs"] for s in r["shards"]]
    ]


# --- [ar]
AR_MODELS = config["ar_references"]["models"]
AR_TOY_MODELS = [m for m in AR_MODELS if config["models"][m]["source"] == "toy"]


def ar_jobs(wc):
    return [
        {
            "records": f"results/data/benchmarks/{b}.json",
            "out": f"results/samples/{b}/{wc.model}/ar/shard{wc.shard}of{N_SHARDS}.jsonl",
            "gen_length": config["benchmarks"]["gen_length"][b],
        }
        for b in BENCHES
    ]


def ar_params(wc):
    """One sample_ar job: its benchmarks' records and outputs, shard, prompt cut and dtype."""
    return {
        "jobs": ar_jobs(wc),
        "shard": int(wc.shard),
        "n_shards": N_SHARDS,
        "max_prompt_tokens": config["ar_references"]["max_prompt_tokens"],
        "dtype": config["models"][wc.model]["dtype"],
    }


def ar_arch(wc):
    """The toy model's size (only toy models have an arch: .get)."""
    return config["models"][wc.model].get("arch")


def ar_init_seed(wc):
    return config["models"][wc.model]["init_seed"]


def genq_score_params(wc):
    """Scoring settings of Figure 2 and the scatter [protocol §6.2(d), §6.2(e)]."""
    return GENQ_SETTINGS.score_params()


# --- [reasoning]
REASON = config["reasoning"]
REASON_MODELS = REASON["models"]
REASON_TASKS = REASON["tasks"]
REASON_SHARDS = REASON["shards"]
REASON_REVISIONS = {}
_REASON_HUB = {"gsm8k": "openai/gsm8k", "math500": "EleutherAI/hendrycks_math"}
if not TOY:
    for _task in REASON_TASKS:
        try:
            REASON_REVISIONS[_task] = resolve_revision(
                HUB.lock_file,
                _REASON_HUB[_task],
                "dataset",
                offline=HUB.offline,
                update=HUB.update_lock,
            )
        except (KeyError, ValueError) as err:
            raise WorkflowError(f"reasoning.tasks.{_task}: {err}")


def reasoning_shards(task, model):
    return [
        f"results/reasoning/samples/{task}/{model}/shard{k}of{REASON_SHARDS}.jsonl"
        for k in range(REASON_SHARDS)
    ]


def reasoning_runs(wildcards):
    return [
        {
            "task": t,
            "model": m,
            "records": f"results/data/reasoning/{t}.json",
            "shards": reasoning_shards(t, m),
        }
        for t in REASON_TASKS
        for m in REASON_MODELS
    ]


def reasoning_inputs(wildcards):
    return [
        p for run in reasoning_runs(wildcards) for p in [run["records"], *run["shards"]]
    ]


def reasoning_sample_params(wc):
    return {
        "method": {
            "name": f"{wc.model}_remask",
            "model": wc.model,
            "sampler": "remasking",
            "block_length": 0,
            "eos_inf": False,
        },
        "nfes": [REASON["steps"]],
        "gen_length": REASON["gen_length"],
        "shard": int(wc.shard),
        "n_shards": REASON_SHARDS,
        "seed": SAMPLING.seed,
        **SAMPLING.batching(),
    }


def reasoning_revision(wc):
    return REASON_REVISIONS[wc.task]


# --- [judge]
JUDGE = config["judge"]
if JUDGE["enabled"]:
    TABLES.append("results/tables/judge.csv")


def judge_jobs(wildcards):
    nfe = JUDGE["nfe"]
    first = JUDGE["method"]
    return [
        {
            "benchmark": b,
            "records": f"results/data/benchmarks/{b}.json",
            "first": first,
            "second": base,
            "first_shards": _shards(b, first, nfe),
            "second_shards": _shards(b, base, nfe),
        }
        for b in BENCHES
        for base in JUDGE["baselines"]
    ]


def judge_inputs(wildcards):
    return sorted(
        {
            p
            for job in judge_jobs(wildcards)
            for p in [job["records"], *job["first_shards"], *job["second_shards"]]
        }
    )


def judge_settings():
    """The judge section's job settings (T-judge, off unless judge.enabled; schema defaults)."""
    keys = ("endpoint", "model", "api_key_env", "n", "seed", "max_tokens", "timeout")
    return {k: JUDGE[k] for k in keys}
