"""The download plan of hub runs (dsl_llada.downloads): jobs, pins and errors that name the key.
Configs are the real presets merged and validated as the workflow does (common.smk) (schema defaults filled);
the lock is a copy of config/hub.lock.yaml with every entry pinned to a fixed SHA."""

import pytest
import yaml
from snakemake.utils import update_config, validate

from dsl_llada.benchmarks import PAPER_BENCHMARKS
from dsl_llada.downloads import DownloadError, download_plan
from dsl_llada.hub import read_lock

from helpers import REPO

SHA = "0123456789abcdef0123456789abcdef01234567"
OTHER_SHA = "fedcba9876543210fedcba9876543210fedcba98"
CHAINS = {"paper": ("paper",), "released": ("released",), "quick": ("released", "quick")}


@pytest.fixture
def lock(tmp_path):
    entries = read_lock(REPO / "config/hub.lock.yaml")
    path = tmp_path / "lock.yaml"
    path.write_text(yaml.safe_dump({k: dict(v, revision=SHA) for k, v in entries.items()}))
    return path


@pytest.fixture
def texts(tmp_path):
    path = tmp_path / "texts_100.json"
    path.write_text("[]")
    return path


def preset(name, lock, texts, **over):
    """config.yaml + the preset chain + a test overlay, disabled methods dropped, validated."""
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    for part in CHAINS[name]:
        update_config(cfg, yaml.safe_load((REPO / f"config/presets/{part}.yaml").read_text()))
    update_config(cfg, {"hub": {"lock_file": str(lock), "offline": True}, "robustness": {"texts": str(texts)}})
    update_config(cfg, over)
    methods = cfg["sampling"]["methods"]
    for key in [k for k, m in methods.items() if m.pop("enabled", True) is False]:
        del methods[key]
    validate(cfg, str(REPO / "config/schema/config.schema.yaml"))
    return cfg


def test_paper_plan_pins_every_download(lock, texts):
    plan = download_plan(preset("paper", lock, texts))
    # DSL and MDM are trained, not downloaded; the scorers and AR references are
    assert sorted(plan.models) == ["base", "bertscore", "genppl", "llama31_8b", "qwen25_7b"]
    base = plan.models["base"]
    assert (base["hub_id"], base["revision"], base["revision_from"]) == ("GSAI-ML/LLaDA-8B-Instruct", SHA, str(lock))
    assert (base["family"], base["dtype"], base["offline"]) == ("llada", "bfloat16", True)
    assert base["special_ids"]["mask"] == 126336 and base["cache_dir"] == "resources/hub"
    assert list(plan.benchmarks) == ["xsum", "cnn_dailymail", "pubmed", "arxiv"]
    for name, spec in plan.benchmarks.items():
        paper = PAPER_BENCHMARKS[name].to_dict()
        assert spec == dict(paper, n=1000, seed=42, max_source_words=1500, gen_length=spec["gen_length"])
    assert plan.benchmarks["xsum"]["gen_length"] == 128 and plan.benchmarks["arxiv"]["gen_length"] == 256
    corpus = plan.corpus
    assert (corpus["hub_id"], corpus["config_name"], corpus["revision"]) == (
        "HuggingFaceFW/fineweb-edu",
        "sample-10BT",
        SHA,
    )
    assert corpus["n_blocks"] == 512000 and corpus["block_size"] == 4096 and corpus["shuffle_buffer"] == 10000
    assert corpus["cache_dir"] == "resources/hub/datasets" and corpus["seed"] == 42
    models = {f"models.{m}" for m in plan.models}
    assert set(plan.revisions) == models | {"cpt.data"} | {f"benchmarks.specs.{b}" for b in plan.benchmarks}
    assert plan.warnings == []


@pytest.mark.parametrize(
    "name, models",
    [
        ("released", ["base", "bertscore", "dsl", "dsl_beta2", "dsl_highpass", "genppl", "llama31_8b", "qwen25_7b"]),
        ("quick", ["base", "bertscore", "dsl", "dsl_beta2", "dsl_highpass", "genppl", "llama31_8b", "qwen25_7b"]),
    ],
)
def test_released_plans_download_checkpoints_and_no_corpus(lock, texts, name, models):
    plan = download_plan(preset(name, lock, texts))
    assert sorted(plan.models) == models
    assert plan.models["dsl"]["hub_id"] == "liddlefish/DSL-LLaDA-Beta1"
    assert plan.corpus is None and "cpt.data" not in plan.revisions  # nothing is trained
    assert {s["n"] for s in plan.benchmarks.values()} == ({100} if name == "quick" else {1000})


def test_explicit_revision_wins_over_the_lock(lock, texts):
    cfg = preset("paper", lock, texts, models={"base": {"revision": OTHER_SHA}}, cpt={"data": {"revision": OTHER_SHA}})
    plan = download_plan(cfg)
    assert plan.models["base"]["revision"] == OTHER_SHA and plan.models["base"]["revision_from"] == "config"
    assert plan.corpus["revision"] == OTHER_SHA and plan.revisions["benchmarks.specs.xsum"] == SHA


def test_environment_offline_overrides_the_config(lock, texts, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    plan = download_plan(preset("paper", lock, texts, hub={"offline": False}))
    assert plan.hub.offline and plan.corpus["offline"] and plan.models["base"]["offline"]
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    plan = download_plan(preset("paper", lock, texts, hub={"offline": False}))
    assert not plan.hub.offline and plan.revisions["models.base"] == SHA  # locked: no hub lookup


def test_a_new_benchmark_from_its_spec(lock, texts):
    spec = {
        "hub_id": "EdinburghNLP/xsum",
        "split": "validation",
        "text_field": "document",
        "summary_field": "summary",
        "template": "Summarize:",
    }
    cfg = preset(
        "paper",
        lock,
        texts,
        benchmarks={"names": ["xsum_val"], "gen_length": {"xsum_val": 64}, "specs": {"xsum_val": spec}},
    )
    plan = download_plan(cfg)
    assert plan.benchmarks["xsum_val"] == dict(
        spec, name="xsum_val", gen_length=64, n=1000, seed=42, max_source_words=1500, config_name=None, id_field="id"
    )
    assert plan.revisions["benchmarks.specs.xsum_val"] == SHA


def _missing_lock_entry(lock):
    entries = yaml.safe_load(lock.read_text())
    del entries["EdinburghNLP/xsum"]
    lock.write_text(yaml.safe_dump(entries))
    return {}


BAD = [
    # (overlay, or a function of the lock file returning one; fragments the error must contain)
    ({"benchmarks": {"names": ["billsum"], "gen_length": {"billsum": 256}}}, ["benchmarks.specs.billsum: missing"]),
    (
        {"benchmarks": {"specs": {"xsum": {"gen_length": 64}}}},
        ["benchmarks.specs.xsum.gen_length: 64", "benchmarks.gen_length.xsum = 128"],
    ),
    ({"benchmarks": {"specs": {"xsum": {"splitt": "test"}}}}, ["benchmarks.specs.xsum", "unknown key(s) ['splitt']"]),
    ({"benchmarks": {"specs": {"xsum": {"template": ""}}}}, ["benchmark 'xsum'", "'template' must be a non-empty"]),
    ({"cpt": {"data": {"n_blocks": 1000}}}, ["cpt.data.n_blocks: 1000 <", "512000"]),
    ({"robustness": {"texts": None}}, ["robustness.texts: required"]),
    ({"models": {"base": {"revision": "main"}}}, ["models.base.revision: 'main' is not a 40-hex commit SHA"]),
    ({"cpt": {"data": {"revision": "v1.0"}}}, ["cpt.data.revision: 'v1.0'"]),
    (_missing_lock_entry, ["benchmarks.specs.xsum:", "'EdinburghNLP/xsum' is not in the hub lock file"]),
]


@pytest.mark.parametrize("over, fragments", BAD)
def test_bad_config_names_the_key(lock, texts, over, fragments):
    cfg = preset("paper", lock, texts, **(over(lock) if callable(over) else over))
    with pytest.raises(DownloadError) as err:
        download_plan(cfg)
    for fragment in fragments:
        assert fragment in str(err.value), str(err.value)


def test_empty_lock_entry_offline_names_the_key_and_the_lock(lock, texts):
    entries = yaml.safe_load(lock.read_text())
    entries["HuggingFaceFW/fineweb-edu"]["revision"] = ""
    lock.write_text(yaml.safe_dump(entries))
    with pytest.raises(DownloadError, match=r"^cpt\.data: no locked revision for 'HuggingFaceFW/fineweb-edu'"):
        download_plan(preset("paper", lock, texts))
    released = download_plan(preset("released", lock, texts))  # released trains nothing: no corpus pin
    assert released.corpus is None


def test_missing_texts_file_only_warns(lock, tmp_path):
    plan = download_plan(preset("paper", lock, tmp_path / "absent.json"))
    assert len(plan.warnings) == 1 and str(tmp_path / "absent.json") in plan.warnings[0]
    assert "texts_100.json" in plan.warnings[0] and "fetch_paper_eval" in plan.warnings[0]
    fetched = preset("paper", lock, tmp_path / "absent.json")
    fetched["robustness"]["texts"] = f"{fetched['paper_eval']['dir']}/texts_100.json"
    assert download_plan(fetched).warnings == []  # the default is made by rule fetch_paper_eval
