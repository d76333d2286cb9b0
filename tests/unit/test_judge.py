"""The optional LLM judge [protocol §4.3] against a fake OpenAI-compatible endpoint on localhost
(started here; no network): A/B order randomised and mapped back, key from the environment."""

import copy
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pandas as pd
import pytest

from dsl_llada.config import ConfigError
from helpers import fill_schema_defaults
from dsl_llada.judge import JudgeError, parse_verdict, run_judge


class FakeJudge(BaseHTTPRequestHandler):
    """Prefers the summary containing "GOOD"; scores it 5 on every axis and the other 2."""

    seen: list = []

    def do_POST(self):  # noqa: N802 (http.server API)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeJudge.seen.append({"auth": self.headers.get("Authorization"), "body": body, "path": self.path})
        prompt = body["messages"][0]["content"]
        a = prompt.split("Summary A:\n")[1].split("\n\nSummary B:")[0]
        good_a = "GOOD" in a
        scores = {ax: 5 for ax in ("factuality", "coverage", "fluency", "conciseness")}
        worse = {ax: 2 for ax in scores}
        verdict = {
            "A": scores if good_a else worse,
            "B": worse if good_a else scores,
            "preference": "A" if good_a else "B",
        }
        reply = {"choices": [{"message": {"role": "assistant", "content": "Verdict: " + json.dumps(verdict)}}]}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture()
def endpoint():
    server = HTTPServer(("127.0.0.1", 0), FakeJudge)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeJudge.seen.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def _files(tmp_path, n=6):
    records = [{"id": str(i), "source": f"source {i}", "prompt": "p", "reference": "r"} for i in range(n)]
    (tmp_path / "rec.json").write_text(json.dumps(records))
    for name, text in (("sde", "GOOD summary {}"), ("base", "bad {}")):
        (tmp_path / f"{name}.jsonl").write_text(
            "".join(json.dumps({"id": str(i), "text": text.format(i)}) + "\n" for i in range(n))
        )
    return {
        "benchmark": "xsum",
        "records": str(tmp_path / "rec.json"),
        "first": "sde",
        "second": "base",
        "first_shards": [str(tmp_path / "sde.jsonl")],
        "second_shards": [str(tmp_path / "base.jsonl")],
    }


def test_judge_maps_randomised_order_back_to_methods(endpoint, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_JUDGE_KEY", "secret")
    settings = dict(
        endpoint=endpoint, model="fake-judge", api_key_env="FAKE_JUDGE_KEY", n=5, seed=42, max_tokens=400, timeout=10
    )
    frame = run_judge([_files(tmp_path)], settings, tmp_path / "judge.csv", tmp_path / "per.csv")
    row = frame.iloc[0]
    assert row["n"] == 5 and row["first_win_pct"] == 100.0 and row["tie_pct"] == 0.0
    assert row["first_factuality"] == 5 and row["second_factuality"] == 2
    per = pd.read_csv(tmp_path / "per.csv")
    assert set(per["first_shown_as"]) == {"A", "B"}  # both positions occur with seed 42
    assert all(s["auth"] == "Bearer secret" and s["path"] == "/v1/chat/completions" for s in FakeJudge.seen)
    assert (
        FakeJudge.seen[0]["body"]["max_completion_tokens"] == 400 and FakeJudge.seen[0]["body"]["model"] == "fake-judge"
    )
    again = run_judge([_files(tmp_path)], settings, tmp_path / "j2.csv", tmp_path / "p2.csv")
    assert (tmp_path / "per.csv").read_text() == (tmp_path / "p2.csv").read_text() and len(again) == 1  # seeded


def test_judge_errors_name_the_key(endpoint, tmp_path, monkeypatch):
    monkeypatch.delenv("NO_SUCH_KEY", raising=False)
    with pytest.raises(JudgeError, match="NO_SUCH_KEY"):
        run_judge(
            [_files(tmp_path)],
            dict(endpoint=endpoint, model="m", api_key_env="NO_SUCH_KEY", n=5, seed=42, max_tokens=400, timeout=10),
            tmp_path / "a.csv",
            tmp_path / "b.csv",
        )
    with pytest.raises(JudgeError, match="judge.endpoint"):
        run_judge(
            [_files(tmp_path)],
            dict(
                endpoint="http://127.0.0.1:9/v1", model="m", api_key_env=None, n=5, seed=42, max_tokens=400, timeout=2
            ),
            tmp_path / "a.csv",
            tmp_path / "b.csv",
        )
    with pytest.raises(JudgeError, match="not the asked JSON"):
        parse_verdict("I prefer A")
    with pytest.raises(JudgeError, match="A.fluency"):
        parse_verdict(
            json.dumps(
                {"A": {"factuality": 5, "coverage": 5, "fluency": 9, "conciseness": 5}, "B": {}, "preference": "A"}
            )
        )


def test_enabled_judge_needs_endpoint_and_a_swept_nfe():
    from dsl_llada.config import check_config
    import yaml
    from pathlib import Path

    cfg = yaml.safe_load((Path(__file__).parents[2] / "config/config.yaml").read_text())
    cfg["judge"] = {"enabled": True, "endpoint": "http://127.0.0.1:1/v1", "model": "m", "nfe": 64}
    with pytest.raises(ConfigError, match="judge.nfe: 64"):
        check_config(fill_schema_defaults(copy.deepcopy(cfg)))
    cfg["judge"] = {"enabled": True, "model": "m", "nfe": 16}
    with pytest.raises(ConfigError, match="judge.endpoint"):
        check_config(fill_schema_defaults(copy.deepcopy(cfg)))
