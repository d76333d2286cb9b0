"""Tests for dsl_llada.hub: lock-file pinning, safetensors-only downloads, manifests (R5).

Nothing here reaches the hub: the resolver is a plain function passed in, and
model "downloads" use a local mirror folder.
"""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"

import logging  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402
from safetensors.numpy import save_file  # noqa: E402

from dsl_llada import hub  # noqa: E402
from dsl_llada.hub import HubError, LockError, ManifestError  # noqa: E402

from helpers import REPO

SHA_A = "0123456789abcdef0123456789abcdef01234567"
SHA_B = "89abcdef0123456789abcdef0123456789abcdef"


def make_lock(tmp_path, entries):
    path = tmp_path / "config" / "hub.lock.yaml"
    hub.write_lock(path, entries)
    return path


def never_called(repo_id, kind):
    raise AssertionError(f"resolver must not be called for {repo_id}")


# ------------------------------------------------------------------ shipped lock


def test_shipped_lock_lists_every_paper_artifact_and_is_canonical(tmp_path):
    path = REPO / "config" / "hub.lock.yaml"
    lock = hub.read_lock(path)
    assert {k: v["kind"] for k, v in lock.items()} == hub.PAPER_HUB_ENTRIES
    assert all(v["revision"] == "" or hub.is_commit_sha(v["revision"]) for v in lock.values())
    text = path.read_text()
    assert text.startswith(hub.LOCK_HEADER)
    # the shipped file is exactly what write_lock produces, so tool updates keep its header
    copy = tmp_path / "lock.yaml"
    hub.write_lock(copy, lock)
    assert copy.read_text() == text


# ------------------------------------------------------------------ resolve_revision


def test_locked_sha_is_returned_without_asking_the_hub(tmp_path):
    path = make_lock(tmp_path, {"org/model": {"kind": "model", "revision": SHA_A}})
    for offline in (True, False):
        got = hub.resolve_revision(path, "org/model", "model", offline=offline, update=False, resolver=never_called)
        assert got == SHA_A


def test_empty_entry_offline_is_an_error_naming_id_and_lock(tmp_path):
    path = make_lock(tmp_path, {"org/model": {"kind": "model", "revision": ""}})
    with pytest.raises(LockError) as err:
        hub.resolve_revision(path, "org/model", "model", offline=True, update=False, resolver=never_called)
    msg = str(err.value)
    assert "no locked revision for 'org/model'" in msg
    assert str(path) in msg and "hub.update_lock: true" in msg


def test_empty_entry_online_resolves_writes_and_logs(tmp_path, caplog):
    path = make_lock(
        tmp_path, {"org/data": {"kind": "dataset", "revision": ""}, "org/other": {"kind": "model", "revision": SHA_B}}
    )
    calls = []

    def fake_resolver(repo_id, kind):
        calls.append((repo_id, kind))
        return SHA_A

    with caplog.at_level(logging.INFO, logger="dsl_llada.hub"):
        got = hub.resolve_revision(path, "org/data", "dataset", offline=False, update=False, resolver=fake_resolver)
    assert got == SHA_A and calls == [("org/data", "dataset")]
    assert hub.read_lock(path) == {
        "org/data": {"kind": "dataset", "revision": SHA_A},
        "org/other": {"kind": "model", "revision": SHA_B},
    }
    assert "org/data" in caplog.text and SHA_A in caplog.text
    # now pinned: offline use works and the resolver is not asked again
    assert hub.resolve_revision(path, "org/data", "dataset", offline=True, update=False, resolver=never_called) == SHA_A
    assert not list(path.parent.glob("*.tmp")), "atomic write left a temp file"


def test_update_re_resolves_a_locked_entry(tmp_path, caplog):
    path = make_lock(tmp_path, {"org/model": {"kind": "model", "revision": SHA_A}})
    with caplog.at_level(logging.WARNING, logger="dsl_llada.hub"):
        got = hub.resolve_revision(path, "org/model", "model", offline=False, update=True, resolver=lambda r, k: SHA_B)
    assert got == SHA_B
    assert hub.read_lock(path)["org/model"]["revision"] == SHA_B
    assert SHA_A in caplog.text and SHA_B in caplog.text


def test_update_offline_is_an_error(tmp_path):
    path = make_lock(tmp_path, {"org/model": {"kind": "model", "revision": SHA_A}})
    with pytest.raises(LockError, match="while offline"):
        hub.resolve_revision(path, "org/model", "model", offline=True, update=True, resolver=never_called)


def test_branch_name_in_lock_is_rejected(tmp_path):
    path = tmp_path / "hub.lock.yaml"
    path.write_text(yaml.safe_dump({"org/model": {"kind": "model", "revision": "main"}}))
    with pytest.raises(LockError, match=r"'org/model' has revision 'main', which is not a 40-hex commit SHA"):
        hub.resolve_revision(path, "org/model", "model", offline=False, update=False, resolver=never_called)
    with pytest.raises(LockError, match="not a 40-hex"):
        hub.write_lock(path, {"org/model": {"kind": "model", "revision": "v1.0"}})


def test_resolver_answer_must_be_a_sha(tmp_path):
    path = make_lock(tmp_path, {"org/model": {"kind": "model", "revision": ""}})
    before = path.read_text()
    with pytest.raises(LockError, match="not a 40-hex commit SHA"):
        hub.resolve_revision(path, "org/model", "model", offline=False, update=False, resolver=lambda r, k: "main")
    assert path.read_text() == before


def test_missing_id_is_an_error_unless_update(tmp_path):
    path = make_lock(tmp_path, {"org/model": {"kind": "model", "revision": SHA_A}})
    with pytest.raises(LockError, match=r"'org/new' is not in the hub lock file .*hub\.lock\.yaml"):
        hub.resolve_revision(path, "org/new", "dataset", offline=False, update=False, resolver=never_called)
    got = hub.resolve_revision(path, "org/new", "dataset", offline=False, update=True, resolver=lambda r, k: SHA_B)
    assert got == SHA_B
    assert hub.read_lock(path)["org/new"] == {"kind": "dataset", "revision": SHA_B}


def test_kind_mismatch_and_bad_lock_files(tmp_path):
    path = make_lock(tmp_path, {"org/model": {"kind": "model", "revision": SHA_A}})
    with pytest.raises(LockError, match="locked as a model, but was requested as a dataset"):
        hub.resolve_revision(path, "org/model", "dataset", offline=True, update=False)
    with pytest.raises(HubError, match="kind must be one of"):
        hub.resolve_revision(path, "org/model", "space", offline=True, update=False)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"org/x": {"kind": "weights", "revision": ""}}))
    with pytest.raises(LockError, match=r"bad\.yaml: entry 'org/x' has kind 'weights'"):
        hub.read_lock(bad)
    bad.write_text(yaml.safe_dump({"org/x": {"kind": "model", "revision": "", "branch": "main"}}))
    with pytest.raises(LockError, match=r"unknown key\(s\) \['branch'\]"):
        hub.read_lock(bad)
    with pytest.raises(LockError, match="does not exist"):
        hub.read_lock(tmp_path / "absent.yaml")


def test_is_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub.is_offline()
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    assert not hub.is_offline()


# ------------------------------------------------------------------ require_locked_sha


def test_require_locked_sha():
    assert hub.require_locked_sha(SHA_A) == SHA_A
    for bad in ("main", None, "", SHA_A[:39], SHA_A.upper(), SHA_A + "0", "refs/pr/1"):
        with pytest.raises(HubError, match="trust_remote_code needs a pinned 40-hex commit SHA"):
            hub.require_locked_sha(bad)


# ------------------------------------------------------------------ manifests


def make_folder(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "config.json").write_text('{"a": 1}')
    (root / "sub" / "tokenizer.json").write_text("{}")
    save_file({"w": np.arange(6, dtype=np.float32).reshape(2, 3)}, str(root / "model.safetensors"))
    return root


def test_manifest_round_trip(tmp_path):
    root = make_folder(tmp_path / "model")
    manifest = tmp_path / "model.manifest.json"
    files = hub.write_manifest(root, manifest)
    assert sorted(files) == ["config.json", "model.safetensors", "sub/tokenizer.json"]
    hub.verify_manifest(root, manifest)
    # manifest stored inside the folder is not hashed into itself
    inside = root / "MANIFEST.json"
    assert "MANIFEST.json" not in hub.write_manifest(root, inside)
    hub.verify_manifest(root, inside)


def test_manifest_detects_tamper_missing_and_extra(tmp_path):
    root = make_folder(tmp_path / "model")
    manifest = tmp_path / "m.json"
    hub.write_manifest(root, manifest)

    (root / "sub" / "tokenizer.json").write_text('{"evil": 1}')
    with pytest.raises(ManifestError, match=r"file sub/tokenizer\.json does not match its sha256"):
        hub.verify_manifest(root, manifest)

    hub.write_manifest(root, manifest)
    (root / "config.json").unlink()
    with pytest.raises(ManifestError, match=r"file config\.json is listed in .* but missing"):
        hub.verify_manifest(root, manifest)

    hub.write_manifest(root, manifest)
    (root / "modeling_evil.py").write_text("import os")
    with pytest.raises(ManifestError, match=r"file modeling_evil\.py is not listed"):
        hub.verify_manifest(root, manifest)

    with pytest.raises(ManifestError, match="does not exist"):
        hub.verify_manifest(root, tmp_path / "none.json")


# ------------------------------------------------------------------ download_model


def test_download_model_uses_local_mirror(tmp_path):
    mirror = make_folder(tmp_path / "mirror")
    got = hub.download_model("org/model", SHA_A, tmp_path / "cache", local_mirror=mirror)
    assert got == mirror
    assert not (tmp_path / "cache").exists()  # nothing fetched


def test_download_model_refuses_pickle_only_mirror(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "config.json").write_text("{}")
    (mirror / "pytorch_model.bin").write_bytes(b"\x80\x04not really a pickle")
    with pytest.raises(HubError, match=r"no \*\.safetensors weights .*pytorch_model\.bin"):
        hub.download_model("org/model", SHA_A, tmp_path / "cache", local_mirror=mirror)


def test_download_model_refuses_unpinned_or_missing(tmp_path):
    with pytest.raises(HubError, match="needs a 40-hex commit SHA"):
        hub.download_model("org/model", "main", tmp_path / "cache")
    with pytest.raises(HubError, match="not a folder"):
        hub.download_model("org/model", SHA_A, tmp_path / "cache", local_mirror=tmp_path / "nope")
    mirror = make_folder(tmp_path / "mirror")
    with pytest.raises(HubError, match="trust_remote_code needs"):
        hub.download_model("org/model", "main", tmp_path / "cache", local_mirror=mirror)


def test_allow_patterns_exclude_pickles():
    import fnmatch

    pats = hub.MODEL_ALLOW_PATTERNS
    for name in ("pytorch_model.bin", "model.pt", "optimizer.pkl", "training_args.bin"):
        assert not any(fnmatch.fnmatch(name, p) for p in pats), name
    for name in ("model-00001-of-00004.safetensors", "config.json", "modeling_llada.py", "tokenizer.model"):
        assert any(fnmatch.fnmatch(name, p) for p in pats), name


# ---------------------------------------------------------------- committed artifacts


def _pinned_artifact(tmp_path):
    folder = make_folder(tmp_path / "artifact")
    hub.write_manifest(folder, folder / hub.ARTIFACT_MANIFEST, root_label=".")
    lock = tmp_path / "artifacts.lock.yaml"
    lock.write_text(f"{folder}:\n  manifest_sha256: {hub.manifest_digest(folder)}\n")
    return folder, lock


def test_verify_artifact_accepts_the_pinned_folder_and_names_a_tampered_file(tmp_path):
    folder, lock = _pinned_artifact(tmp_path)
    assert hub.verify_artifact(folder, lock) == hub.manifest_digest(folder)
    weights = next(folder.glob("*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    with pytest.raises(ManifestError, match=f"file {weights.name} does not match"):
        hub.verify_artifact(folder, lock)


def test_verify_artifact_refuses_a_changed_manifest_or_a_missing_pin(tmp_path):
    folder, lock = _pinned_artifact(tmp_path)
    manifest = folder / hub.ARTIFACT_MANIFEST
    manifest.write_text(manifest.read_text().replace('"root": "."', '"root": "elsewhere"'))
    with pytest.raises(ManifestError, match="manifest was changed"):
        hub.verify_artifact(folder, lock)
    other = tmp_path / "other.lock.yaml"
    other.write_text("some/folder:\n  manifest_sha256: " + "ab" * 32 + "\n")
    with pytest.raises(LockError, match="no entry for artifact"):
        hub.verify_artifact(folder, other)
    other.write_text(f"{folder}:\n  manifest_sha256: main\n")
    with pytest.raises(LockError, match="64 hex"):
        hub.verify_artifact(folder, other)


def test_committed_toy_base_matches_its_lock(monkeypatch):
    repo = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(repo)
    config = yaml.safe_load((repo / "config/config.yaml").read_text())
    folder = config["models"]["base"]["artifact"]
    assert hub.verify_artifact(folder, "config/artifacts.lock.yaml")
    size = sum(p.stat().st_size for p in Path(folder).iterdir())
    assert size < 5_000_000  # a few MB in the repository
