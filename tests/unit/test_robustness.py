"""Unit tests for dsl_llada.robustness (protocol sections 5.1-5.3)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from helpers import paper_eval_dir

from dsl_llada.robustness import (
    IGNORE_INDEX,
    align_pair,
    corruption_cases,
    differing_positions,
    evaluate_correction,
    load_correction_benchmark,
    load_manual_semantic,
    load_texts,
    n_replacements,
    nearest_neighbours,
    random_replacement,
    semantic_replacement,
    skipped_diff_ops,
    summarize_by_group,
)

DATA = paper_eval_dir("texts_100.json")
needs_data = pytest.mark.skipif(
    DATA is None, reason="the authors' eval files (../shared/data/paper_eval) are not present"
)


# ---------------------------------------------------------------------------
# Oracle predictors (logits_fn(input_ids, attention_mask) -> [B, L, V])
# ---------------------------------------------------------------------------


def one_hot(ids: torch.Tensor, vocab: int) -> torch.Tensor:
    return torch.nn.functional.one_hot(ids, vocab).float()


def identity_fn(vocab):
    """Predicts its own input at every position: fixes nothing, keeps everything."""
    return lambda ids, mask: one_hot(ids, vocab)


def oracle_fn(vocab, originals, corrupted):
    """Knows the original of each corrupted text; finds the row by its unpadded ids."""
    table = {tuple(c): o for o, c in zip(originals, corrupted)}

    def fn(ids, mask):
        out = torch.zeros(ids.shape[0], ids.shape[1], vocab)
        for r in range(ids.shape[0]):
            n = int(mask[r].sum())
            assert mask[r, :n].all() and not mask[r, n:].any(), "mask must be 1s then 0s (right padding)"
            gold = table[tuple(ids[r, :n].tolist())]
            out[r, :n] = one_hot(torch.tensor(gold), vocab)
        return out

    return fn


def constant_fn(vocab, token):
    def fn(ids, mask):
        out = torch.zeros(ids.shape[0], ids.shape[1], vocab)
        out[..., token] = 1.0
        return out

    return fn


def context_fn(vocab):
    """Prediction depends on the attended tokens and on the position: (sum of unmasked ids + i) mod V.

    Any padding leak (mask 1 on padding, pad not at the right end) changes it.
    """

    def fn(ids, mask):
        total = (ids * mask).sum(dim=1, keepdim=True)
        pos = torch.arange(ids.shape[1]).unsqueeze(0)
        return one_hot((total + pos) % vocab, vocab)

    return fn


# ---------------------------------------------------------------------------
# 5.1 random replacement
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n,rate,expected",
    [
        (1, 0.1, 1),
        (9, 0.1, 1),
        (10, 0.1, 1),
        (73, 0.1, 7),
        (73, 0.3, 21),
        (73, 0.5, 36),
        (24, 0.5, 12),
        (123, 0.3, 36),
        (5, 1.0, 5),
        (90, 0.7, 62),  # upstream int(90 * 0.7) = int(62.99999999999999) = 62, kept on purpose
    ],
)
def test_n_replacements(n, rate, expected):
    assert n_replacements(n, rate) == expected


@pytest.mark.parametrize("rate", [0.0, -0.1, 1.5, "0.1"])
def test_n_replacements_rejects_bad_rate(rate):
    with pytest.raises(ValueError, match="rate"):
        n_replacements(10, rate)


def test_random_replacement_count_range_and_difference():
    tokens = list(range(100, 100 + 73))
    for rate in (0.1, 0.3, 0.5):
        for seed in (42, 43, 141):
            corrupted, positions = random_replacement(tokens, rate, seed, 100, 126000)
            assert len(positions) == max(1, math.floor(73 * rate))
            assert positions == sorted(set(positions))
            assert all(0 <= p < 73 for p in positions)
            for i, (a, b) in enumerate(zip(tokens, corrupted)):
                if i in positions:
                    assert 100 <= b < 126000 and b != a
                else:
                    assert a == b
            assert all(type(t) is int for t in corrupted + positions)


def test_random_replacement_rng_call_order_with_redraws():
    # Tiny id range so that draws hit the original and must be redrawn.
    tokens = [101] * 20
    rate, seed = 0.5, 7
    corrupted, positions = random_replacement(tokens, rate, seed, 100, 103)
    rng = np.random.RandomState(seed)
    exp_pos = sorted(rng.choice(20, 10, replace=False).tolist())
    exp = list(tokens)
    redraws = 0
    for p in exp_pos:
        v = rng.randint(100, 103)
        while v == tokens[p]:
            v = rng.randint(100, 103)
            redraws += 1
        exp[p] = int(v)
    assert redraws > 0  # the redraw path was exercised
    assert positions == exp_pos and corrupted == exp
    assert set(corrupted[p] for p in positions) <= {100, 102}


def test_random_replacement_seed_determinism():
    tokens = list(range(200, 260))
    a = random_replacement(tokens, 0.3, 42 + 5, 100, 126000)
    b = random_replacement(tokens, 0.3, 42 + 5, 100, 126000)
    c = random_replacement(tokens, 0.3, 42 + 6, 100, 126000)
    assert a == b
    assert a != c
    assert random_replacement(tokens, 0.3, 42 + 5, 100, 126000)[0] is not tokens


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(tokens=[]), "empty"),
        (dict(id_low=5, id_high=6), "at least 2"),
        (dict(tokens=[1, "2"]), "token 1"),
    ],
)
def test_random_replacement_bad_input(kwargs, match):
    args = dict(tokens=[1, 2, 3], rate=0.5, seed=0, id_low=100, id_high=200)
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        random_replacement(**args)


def test_corruption_cases_seed_is_base_plus_id():
    tokens = list(range(300, 360))
    texts = [{"id": 3, "tokens": tokens}, {"id": 4, "tokens": tokens}]
    cases = corruption_cases(texts, "random", 0.3, 42, 100, 126000)
    assert [c["id"] for c in cases] == [3, 4]
    for case in cases:
        exp = random_replacement(tokens, 0.3, 42 + case["id"], 100, 126000)
        assert (case["corrupted"], case["positions"]) == exp
        assert case["original"] == tokens
    assert cases[0]["corrupted"] != cases[1]["corrupted"]  # same tokens, different text id
    with pytest.raises(ValueError, match="neighbours"):
        corruption_cases(texts, "semantic", 0.3, 42, 100, 126000)
    with pytest.raises(ValueError, match="kind"):
        corruption_cases(texts, "typo", 0.3, 42, 100, 126000)
    with pytest.raises(KeyError, match="text 0 has no field 'tokens'"):
        corruption_cases([{"id": 0}], "random", 0.3, 42, 100, 126000)
    with pytest.raises(ValueError, match="text id 9 has an empty token list"):
        corruption_cases([{"id": 9, "tokens": []}], "random", 0.3, 42, 100, 126000)


# ---------------------------------------------------------------------------
# 5.2 neighbours and semantic replacement
# ---------------------------------------------------------------------------


def brute_force_neighbours(emb, k):
    e = emb.double()
    e = e / e.norm(dim=-1, keepdim=True)
    sims = e @ e.T
    sims.fill_diagonal_(-math.inf)
    return sims.topk(k, dim=-1).indices


def test_nearest_neighbours_matches_brute_force_any_chunk():
    torch.manual_seed(0)
    emb = torch.randn(60, 8) * torch.rand(60, 1) * 3  # varied norms: cosine, not dot product
    expected = brute_force_neighbours(emb, 5)
    for chunk in (1, 7, 60, 4096):
        got = nearest_neighbours(emb, k=5, chunk=chunk)
        assert got.dtype == torch.long and got.shape == (60, 5)
        assert torch.equal(got, expected), chunk
    assert not (nearest_neighbours(emb, 5) == torch.arange(60).unsqueeze(1)).any()  # self excluded


def test_nearest_neighbours_cosine_not_dot():
    # Token 1 is a long vector along token 0's direction-ish; token 2 is exactly parallel but short.
    emb = torch.tensor([[1.0, 0.0], [10.0, 3.0], [0.1, 0.0], [0.0, 1.0]])
    nn = nearest_neighbours(emb, k=1)
    assert nn[0, 0].item() == 2  # cosine 1 beats the larger dot product of token 1
    assert nn[2, 0].item() == 0


def test_nearest_neighbours_candidate_rows():
    torch.manual_seed(1)
    emb = torch.randn(40, 6)
    expected = brute_force_neighbours(emb, 3)
    got = nearest_neighbours(emb, k=3, candidate_ids=[5, 2, 5, 30], chunk=2)
    assert got.shape == (40, 3)
    for i in range(40):
        if i in (2, 5, 30):
            assert torch.equal(got[i], expected[i])
        else:
            assert (got[i] == -1).all()
    with pytest.raises(ValueError, match="outside"):
        nearest_neighbours(emb, k=3, candidate_ids=[40])
    with pytest.raises(ValueError, match="k must"):
        nearest_neighbours(emb, k=40)


def test_semantic_replacement_uses_neighbours_and_random_positions():
    torch.manual_seed(2)
    emb = torch.randn(50, 8)
    nn = nearest_neighbours(emb, k=5)
    tokens = [int(t) for t in torch.randint(0, 50, (40,))]
    for seed in (42, 43, 99):
        corrupted, positions = semantic_replacement(tokens, 0.3, seed, nn, 0, 50)
        _, rand_positions = random_replacement(tokens, 0.3, seed, 0, 50)
        assert positions == rand_positions  # same position draw as section 5.1
        for i, (a, b) in enumerate(zip(tokens, corrupted)):
            if i in positions:
                assert b in nn[a].tolist() and b != a
            else:
                assert a == b


def test_semantic_replacement_rng_order_and_fallback():
    # Token 10 has neighbours [20, 21, 22]; token 11 has none -> random id in [100, 103) != 11.
    neighbours = {10: [20, 21, 22], 11: []}
    tokens = [10, 11, 10, 11, 10, 11, 10, 11]
    seed = 3
    corrupted, positions = semantic_replacement(tokens, 0.5, seed, neighbours, 100, 103)
    rng = np.random.RandomState(seed)
    exp_pos = sorted(rng.choice(8, 4, replace=False).tolist())
    exp = list(tokens)
    for p in exp_pos:
        if tokens[p] == 10:
            exp[p] = [20, 21, 22][rng.randint(0, 3)]
        else:
            v = rng.randint(100, 103)
            while v == tokens[p]:
                v = rng.randint(100, 103)
            exp[p] = int(v)
    assert positions == exp_pos and corrupted == exp
    assert {tokens[p] for p in positions} == {10, 11}  # both branches exercised with this seed


def test_semantic_replacement_tensor_rows_of_minus_one_fall_back():
    nn = torch.full((20, 3), -1, dtype=torch.long)
    nn[4] = torch.tensor([7, 8, 9])
    corrupted, positions = semantic_replacement([4, 5, 4, 5], 1.0, 0, nn, 100, 200)
    assert positions == [0, 1, 2, 3]
    assert corrupted[0] in (7, 8, 9) and corrupted[2] in (7, 8, 9)
    assert 100 <= corrupted[1] < 200 and 100 <= corrupted[3] < 200


# ---------------------------------------------------------------------------
# 5.2 Manual / 5.3 alignment
# ---------------------------------------------------------------------------


def test_differing_positions_truncates_to_shorter():
    assert differing_positions([1, 2, 3, 4], [1, 5, 3]) == ([1, 2, 3], [1, 5, 3], [1])
    assert differing_positions([1, 2], [1, 2, 9]) == ([1, 2], [1, 2], [])


@pytest.mark.parametrize(
    "orig,corr,gold,positions,skipped",
    [
        # single substitution
        ([1, 2, 3, 4], [1, 9, 3, 4], [1, 2, 3, 4], [1], 0),
        # insertion: inserted token is in the input but not scored
        ([1, 2, 3], [1, 7, 2, 3], [1, IGNORE_INDEX, 2, 3], [], 1),
        # equal-length multi-token replace
        ([1, 2, 3, 4, 5], [1, 8, 9, 4, 5], [1, 2, 3, 4, 5], [1, 2], 0),
        # unequal replace (2 -> 3 tokens): not scored
        ([1, 2, 3, 4], [1, 7, 8, 9, 4], [1, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX, 4], [], 1),
        # deletion: the deleted original token has no input position
        ([1, 2, 3, 4], [1, 3, 4], [1, 3, 4], [], 1),
        # insertion then a substitution: positions are in corrupted coordinates
        ([1, 2, 3, 4, 5, 6], [1, 2, 7, 3, 4, 9, 6], [1, 2, IGNORE_INDEX, 3, 4, 5, 6], [5], 1),
    ],
)
def test_align_pair(orig, corr, gold, positions, skipped):
    g, c, p = align_pair(orig, corr)
    assert (g, c, p) == (gold, corr, positions)
    assert skipped_diff_ops(orig, corr) == skipped


def test_aligned_pair_scoring_ignores_unaligned_tokens():
    g, c, p = align_pair([1, 2, 3, 4, 5, 6], [1, 2, 7, 3, 4, 9, 6])
    res = evaluate_correction(identity_fn(16), [g], [c], [p], batch_size=1, pad_id=0)
    assert res["fix_rate"] == 0.0 and res["clean_preserved"] == 1.0
    assert res["n_corrupted_tokens"] == 1 and res["n_clean_tokens"] == 5  # the inserted 7 is not scored
    res = evaluate_correction(constant_fn(16, 7), [g], [c], [p], batch_size=1, pad_id=0)
    assert res["clean_preserved"] == 0.0  # predicting 7 at the inserted token earns nothing


# ---------------------------------------------------------------------------
# evaluate_correction with oracle predictors
# ---------------------------------------------------------------------------


def ragged_cases(vocab=40, n=7, seed=0):
    rng = np.random.RandomState(seed)
    texts = [{"id": i, "tokens": rng.randint(4, vocab, size=rng.randint(3, 30)).tolist()} for i in range(n)]
    return corruption_cases(texts, "random", 0.3, 42, 4, vocab)


def unpack(cases):
    return [c["original"] for c in cases], [c["corrupted"] for c in cases], [c["positions"] for c in cases]


def test_identity_predictor_fixes_nothing_keeps_everything():
    o, c, p = unpack(ragged_cases())
    res = evaluate_correction(identity_fn(40), o, c, p, batch_size=3, pad_id=0)
    assert res["fix_rate"] == 0.0 and res["clean_preserved"] == 1.0
    assert res["over_correct"] == 0.0 and res["selective"] == 0.0
    assert res["n_texts"] == 7 and res["n_corrupted_tokens"] == sum(len(x) for x in p)
    assert res["n_truncated"] == 0 and res["n_skipped"] == 0
    assert res["per_text"]["fix_rate"] == [0.0] * 7


def test_oracle_predictor_fixes_everything():
    o, c, p = unpack(ragged_cases())
    res = evaluate_correction(oracle_fn(40, o, c), o, c, p, batch_size=4, pad_id=0)
    assert res["fix_rate"] == 1.0 and res["clean_preserved"] == 1.0
    assert res["over_correct"] == 0.0 and res["selective"] == 1.0


def test_constant_predictor_per_text_then_over_texts():
    originals = [[5, 5, 6, 7], [5, 8], [9, 5, 9]]
    corrupted = [[5, 5, 6, 1], [5, 1], [9, 1, 9]]
    positions = [[3], [1], [1]]
    res = evaluate_correction(constant_fn(10, 5), originals, corrupted, positions, batch_size=2, pad_id=0)
    # clean per text: 2/3, 1/1, 0/2 -> mean 5/9 (the pooled 3/6 would be wrong); fix: 0, 0, 1 -> 1/3
    assert res["per_text"]["clean_preserved"] == pytest.approx([2 / 3, 1.0, 0.0])
    assert res["per_text"]["fix_rate"] == [0.0, 0.0, 1.0]
    assert res["clean_preserved"] == pytest.approx(5 / 9)
    assert res["fix_rate"] == pytest.approx(1 / 3)
    assert res["over_correct"] == pytest.approx(4 / 9)
    assert res["selective"] == pytest.approx(1 / 3 - 4 / 9)
    assert res["per_text"]["n_clean"] == [3, 1, 2]


def test_batched_equals_batch_size_one_with_ragged_lengths():
    o, c, p = unpack(ragged_cases(vocab=13, n=9, seed=4))
    fn = context_fn(13)
    ref = evaluate_correction(fn, o, c, p, batch_size=1, pad_id=11)
    assert any(0 < x < 1 for x in ref["per_text"]["clean_preserved"])  # non-trivial numbers
    for bs in (2, 4, 9, 32):
        assert evaluate_correction(fn, o, c, p, batch_size=bs, pad_id=11) == ref


def test_truncation_and_skipping_are_counted():
    seen_widths = []

    def fn(ids, mask):
        seen_widths.append(ids.shape[1])
        return one_hot(ids, 20)

    originals = [[1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6], [1, 2]]
    corrupted = [[1, 9, 3, 4, 5, 9], [1, 2, 3, 4, 5, 9], [9, 2]]
    positions = [[1, 5], [5], [0]]
    res = evaluate_correction(fn, originals, corrupted, positions, batch_size=8, pad_id=0, max_length=4)
    assert max(seen_widths) <= 4
    assert res["n_truncated"] == 2 and res["n_skipped"] == 1 and res["n_texts"] == 2
    assert res["per_text"]["truncated"] == [True, True, False]
    assert res["per_text"]["n_corrupted"] == [1, 0, 1]
    assert res["per_text"]["fix_rate"] == [0.0, None, 0.0]
    assert res["n_corrupted_tokens"] == 2 and res["n_clean_tokens"] == 3 + 1


@pytest.mark.parametrize(
    "o,c,p,match",
    [
        ([[1, 2], []], [[1, 3], []], [[1], [0]], "text 1 has an empty token list"),
        ([[1, 2]], [[1, 3, 4]], [[1]], "text 0: originals has 2 tokens but corrupted has 3"),
        ([[1, 2]], [[1, 3]], [[]], "text 0 has no corrupted positions"),
        ([[1, 2]], [[1, 3]], [[2]], r"text 0: positions \[2\] outside"),
        ([[1, IGNORE_INDEX]], [[1, 3]], [[1]], "IGNORE_INDEX"),
    ],
)
def test_evaluate_correction_bad_input(o, c, p, match):
    with pytest.raises(ValueError, match=match):
        evaluate_correction(identity_fn(10), o, c, p, batch_size=1, pad_id=0)


def test_evaluate_correction_rejects_bad_logits_shape():
    with pytest.raises(ValueError, match=r"logits_fn must return a tensor \[B, L, V\]"):
        evaluate_correction(lambda ids, mask: ids.float(), [[1, 2]], [[1, 3]], [[1]], batch_size=1, pad_id=0)


def test_summarize_by_group():
    originals = [[5, 5, 6, 7], [5, 8], [9, 5, 9]]
    corrupted = [[5, 5, 6, 1], [5, 1], [9, 1, 9]]
    res = evaluate_correction(constant_fn(10, 5), originals, corrupted, [[3], [1], [1]], batch_size=3, pad_id=0)
    groups = summarize_by_group(res, ["easy", "hard", "easy"])
    assert groups["easy"]["fix_rate"] == pytest.approx(0.5)
    assert groups["easy"]["clean_preserved"] == pytest.approx(1 / 3)
    assert groups["hard"] == {
        "fix_rate": 0.0,
        "clean_preserved": 1.0,
        "over_correct": 0.0,
        "selective": 0.0,
        "n_texts": 1,
    }


# ---------------------------------------------------------------------------
# Tiny real backbone: right padding + attention mask give batch-size-independent numbers
# ---------------------------------------------------------------------------


def tiny_llada():
    from dsl_llada.llada import LLaDAConfig, LLaDAModelLM

    cfg = LLaDAConfig(
        vocab_size=64,
        embedding_size=64,
        d_model=32,
        mlp_hidden_size=64,
        n_layers=2,
        n_heads=4,
        n_kv_heads=4,
        pad_token_id=0,
        eos_token_id=2,
        mask_token_id=3,
        max_sequence_length=128,
        rope_theta=10000.0,
    )
    torch.manual_seed(0)
    return LLaDAModelLM(cfg).eval()


def test_tiny_backbone_batch_size_independent():
    model = tiny_llada()

    def logits_fn(ids, mask):
        return model(input_ids=ids, attention_mask=mask).logits

    rng = np.random.RandomState(1)
    texts = [{"id": i, "tokens": rng.randint(4, 64, size=n).tolist()} for i, n in enumerate([5, 40, 17, 9, 33, 24])]
    o, c, p = unpack(corruption_cases(texts, "random", 0.3, 42, 4, 64))

    # The check is meaningful: padding that is attended changes this model's predictions.
    ids = torch.tensor([c[0] + [0] * 20])
    with torch.no_grad():
        attended = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits[0, :5]
        alone = model(input_ids=torch.tensor([c[0]])).logits[0]
    assert not torch.allclose(attended, alone, atol=1e-4)

    one = evaluate_correction(logits_fn, o, c, p, batch_size=1, pad_id=0)
    four = evaluate_correction(logits_fn, o, c, p, batch_size=4, pad_id=0)
    assert one["per_text"] == four["per_text"]
    assert one == four
    assert one["n_texts"] == 6 and 0.0 <= one["fix_rate"] <= 1.0


# ---------------------------------------------------------------------------
# Loaders
# ---------------------------------------------------------------------------


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_load_texts_errors_name_file_record_and_field(tmp_path):
    good = {"id": 7, "text": "a b", "tokens": [5, 6], "n_tokens": 2}
    assert load_texts(write(tmp_path, "ok.json", [good])) == [good]
    p = write(tmp_path, "t.json", [good, {"id": 8, "text": "x", "tokens": [1, 2, 3], "n_tokens": 2}])
    with pytest.raises(ValueError, match=r"t\.json: record id 8 field 'n_tokens' is 2 but 'tokens' has 3"):
        load_texts(p)
    p = write(tmp_path, "m.json", [{"id": 3, "text": "x", "n_tokens": 2}])
    with pytest.raises(KeyError, match=r"m\.json: record id 3 has no field 'tokens'"):
        load_texts(p)
    p = write(tmp_path, "d.json", [good, good])
    with pytest.raises(ValueError, match="duplicate record id 7"):
        load_texts(p)
    with pytest.raises(FileNotFoundError, match="nope.json"):
        load_texts(tmp_path / "nope.json")


def manual_record(**ann_overrides):
    ann = {
        "original_tokens": [10, 11, 12],
        "corrupted_tokens": [10, 21, 12],
        "corrupted_position": 1,
        "original_token_id": 11,
        "corrupted_token_id": 21,
        "n_tokens": 3,
    }
    ann.update(ann_overrides)
    return {
        "id": 4,
        "original_text": "a b c",
        "corrupted_text": "a x c",
        "corruptions": [{"position_word": "x", "original_word": "b", "corruption_type": "antonym"}],
        "category": "science",
        "difficulty": "easy",
        "token_annotation": ann,
        "original_id": 9,
    }


def test_load_manual_semantic_validates_annotation(tmp_path):
    rec = load_manual_semantic(write(tmp_path, "ok.json", [manual_record()]))[0]
    assert rec["positions"] == [1] and rec["corruption_type"] == "antonym"
    assert rec["original_tokens"] == [10, 11, 12] and rec["corrupted_tokens"] == [10, 21, 12]
    p = write(tmp_path, "bad.json", [manual_record(corrupted_position=2)])
    with pytest.raises(ValueError, match=r"bad\.json: record id 4: token lists differ at \[1\]"):
        load_manual_semantic(p)
    p = write(tmp_path, "len.json", [manual_record(corrupted_tokens=[10, 21])])
    with pytest.raises(ValueError, match="record id 4: token_annotation lengths"):
        load_manual_semantic(p)
    r = manual_record()
    del r["token_annotation"]["corrupted_token_id"]
    with pytest.raises(KeyError, match=r"miss\.json: record id 4 has no field 'token_annotation.corrupted_token_id'"):
        load_manual_semantic(write(tmp_path, "miss.json", [r]))


def test_load_correction_benchmark_errors(tmp_path):
    good = {
        "id": 1,
        "category": "math",
        "original": "two plus three is five",
        "corrupted": "two plus three is six",
        "difficulty": "easy",
        "error_positions": [4],
    }
    assert load_correction_benchmark(write(tmp_path, "ok.json", [good]))[0]["corrupted"] == good["corrupted"]
    bad = dict(good, id=2)
    del bad["corrupted"]
    with pytest.raises(KeyError, match=r"c\.json: record id 2 has no field 'corrupted'"):
        load_correction_benchmark(write(tmp_path, "c.json", [good, bad]))


@needs_data
def test_shipped_texts_100():
    texts = load_texts(DATA / "texts_100.json")
    assert len(texts) == 100 and [t["id"] for t in texts] == list(range(100))
    assert min(t["n_tokens"] for t in texts) == 24 and max(t["n_tokens"] for t in texts) == 123
    for rate in (0.1, 0.3, 0.5):
        for case in corruption_cases(texts, "random", rate, 42, 100, 126000):
            assert len(case["positions"]) == max(1, math.floor(len(case["original"]) * rate))
            assert all(
                100 <= case["corrupted"][q] < 126000 and case["corrupted"][q] != case["original"][q]
                for q in case["positions"]
            )


@needs_data
def test_shipped_manual_semantic_pairs_differ_at_annotated_position():
    recs = load_manual_semantic(DATA / "semantic_corruption_manual.json")
    assert len(recs) == 84
    raw = json.loads((DATA / "semantic_corruption_manual.json").read_text())
    for rec, r in zip(recs, raw):
        ann = r["token_annotation"]
        _, _, pos = differing_positions(ann["original_tokens"], ann["corrupted_tokens"])
        assert pos == [ann["corrupted_position"]] == rec["positions"]
    assert {r["difficulty"] for r in recs} == {"easy", "medium", "hard"}


@needs_data
def test_shipped_correction_benchmark():
    recs = load_correction_benchmark(DATA / "correction_benchmark_50.json")
    assert len(recs) == 50 and [r["id"] for r in recs] == list(range(1, 51))
    assert all(r["original"] != r["corrupted"] for r in recs)
    assert {r["category"] for r in recs} == {"math", "factual", "logical", "linguistic"}


def test_dsl_models_also_get_converter_input_rows(tiny_backbone, tmp_path):
    """A DSL checkpoint is scored twice at the random rates: through wte (the paper's test, what
    the claims use) and with the text read through its converter as fully revealed tokens; a
    plain backbone only through wte. The converter rows really go through the converter: here it
    maps every token to another token's embedding, so they differ from the wte rows."""
    from helpers import robustness_settings

    from dsl_llada.dsl import DSLConfig, DSLModel, load_dsl_model
    from dsl_llada.pipeline import eval_robustness

    dsl = DSLModel(tiny_backbone, DSLConfig(noise_dim=8))
    vocab = tiny_backbone.vocab_size
    with torch.no_grad():  # column v of W now holds the embedding of token v + 1
        weight = dsl.converter.backbone_embedding.weight
        weight[:, :vocab] = weight[:, :vocab].roll(-1, dims=1)
    dsl.save(tmp_path / "dsl")
    tiny_backbone.save(tmp_path / "base")
    texts = tmp_path / "texts.json"
    words = " ".join(f"w{i}" for i in range(40))
    texts.write_text(json.dumps([{"id": i, "text": words} for i in range(3)]))
    cfg = robustness_settings(random_rates=[0.1, 0.3], semantic_rates=[0.1], batch_size=2)
    out = eval_robustness(tmp_path / "dsl", texts, cfg, tmp_path / "dsl.json", device="cpu")
    kinds = [(r["input"], r["corruption"], r["rate"]) for r in out["rows"]]
    assert kinds == [
        ("wte", "random", 0.1),
        ("converter", "random", 0.1),
        ("wte", "random", 0.3),
        ("converter", "random", 0.3),
        ("wte", "semantic", 0.1),
    ]
    base = eval_robustness(tmp_path / "base", texts, cfg, tmp_path / "base.json", device="cpu")
    assert {r["input"] for r in base["rows"]} == {"wte"}

    loaded = load_dsl_model(tmp_path / "dsl")
    cases = corruption_cases(
        [{"id": i, "tokens": tiny_backbone.tokenizer(words, add_special_tokens=False)["input_ids"]} for i in range(3)],
        "random",
        0.1,
        cfg.base_seed,
        *out["id_range"],
    )

    def revealed(ids, mask):
        return loaded.backbone(inputs_embeds=loaded.embed_revealed(ids), attention_mask=mask)

    want = evaluate_correction(
        revealed,
        *([c[k] for c in cases] for k in ("original", "corrupted", "positions")),
        2,
        loaded.backbone.special.pad,
    )
    converter_row = out["rows"][1]
    assert converter_row["clean_preserved"] == pytest.approx(want["clean_preserved"] * 100)
    assert converter_row["per_text"]["clean_preserved"] == want["per_text"]["clean_preserved"]
    assert converter_row["per_text"]["clean_preserved"] != out["rows"][0]["per_text"]["clean_preserved"]
