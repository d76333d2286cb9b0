"""The model folder that rule download_model builds (dsl_llada.model_folder), from local mirrors."""

import json

import pytest

from dsl_llada.backbone import TOY_SPECIAL_TOKENS, BackboneError, build_toy_backbone
from dsl_llada.hub import HubError, verify_manifest, write_lock
from dsl_llada.model_folder import MANIFEST, TOKENIZER_FILES, build_model_folder

SHA = "0123456789abcdef0123456789abcdef01234567"
OTHER_SHA = "f" * 40
ARCH = dict(hidden_size=16, intermediate_size=32, num_layers=1, num_heads=2, max_positions=32)


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    path = tmp_path_factory.mktemp("mirror") / "model"
    backbone = build_toy_backbone([f"w{i}" for i in range(20)], ARCH, seed=0)
    backbone.save(path)
    (path / "pytorch_model.bin").write_bytes(b"pickle")  # never linked
    return path, backbone.special


def _job(tmp_path, mirror_path, **kw):
    job = dict(
        name="base",
        hub_id="org/model",
        revision=SHA,
        revision_from="config",
        lock_file="unused",
        cache_dir=str(tmp_path / "hub"),
        mirror=str(mirror_path),
        offline=True,
        family="llada",
        dtype="float32",
        special_tokens={r: TOY_SPECIAL_TOKENS[r] for r in ("mask", "eos", "eot", "pad")},
        special_ids=None,
    )
    job.update(kw)
    return job


def test_folder_from_mirror_is_checked_described_and_manifested(tmp_path, mirror):
    path, special = mirror
    out = tmp_path / "base"
    ids = {"mask": special.mask, "eos": special.eos, "eot": special.eot, "pad": special.pad}
    files = build_model_folder(_job(tmp_path, path, special_ids=ids), out)
    assert "pytorch_model.bin" not in files and "model.safetensors" in files
    verify_manifest(out, out / MANIFEST)
    meta = json.loads((out / "dsl_llada_backbone.json").read_text())
    assert meta == {"family": "llada", "hub_id": "org/model", "revision": SHA, "dtype": "float32", "special_ids": ids}
    prov = json.loads((out / "dsl_llada_download.meta.json").read_text())
    assert prov["source"] == {"kind": "local mirror", "path": str(path)} and prov["tokenizer_from"] is None
    with pytest.raises(BackboneError, match="mask"):  # a configured id the tokenizer disagrees with
        build_model_folder(_job(tmp_path, path, special_ids={**ids, "mask": ids["mask"] + 1}), tmp_path / "bad")


def test_missing_tokenizer_taken_from_base_or_refused(tmp_path, mirror):
    path, _ = mirror
    bare = tmp_path / "bare"
    bare.mkdir()
    for f in path.iterdir():
        if f.name not in TOKENIZER_FILES:
            (bare / f.name).write_bytes(f.read_bytes())
    with pytest.raises(HubError, match="has no tokenizer files"):
        build_model_folder(_job(tmp_path, bare), tmp_path / "a")
    build_model_folder(_job(tmp_path, bare, name="dsl"), tmp_path / "b", base_tokenizer=str(path))
    prov = json.loads((tmp_path / "b/dsl_llada_download.meta.json").read_text())
    assert prov["tokenizer_from"] == str(path) and (tmp_path / "b/tokenizer.json").exists()


def test_lock_changed_since_planning_is_refused(tmp_path, mirror):
    lock = tmp_path / "lock.yaml"
    write_lock(lock, {"org/model": {"kind": "model", "revision": OTHER_SHA}})
    with pytest.raises(HubError, match="run snakemake again"):
        build_model_folder(_job(tmp_path, mirror[0], revision_from=str(lock), lock_file=str(lock)), tmp_path / "c")
    assert not (tmp_path / "c").exists()  # refused before anything is written
