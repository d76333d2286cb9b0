"""Prompts, tokenizer only (no torch): the paper's summarization instructions [protocol §4.1], defined
once for the hub benchmarks and the toy world, and the chat template [§3.1] that data preparation and
the samplers both apply."""

from .errors import SamplerConfigError

#: The paper's instruction line per benchmark, verbatim [§4.1].
SUMMARY_TEMPLATES: dict[str, str] = {
    "xsum": "Summarize the following text in one sentence:",
    "cnn_dailymail": "Summarize the following news article in 2-3 sentences:",
    "pubmed": "Summarize the following scientific paper in a concise abstract:",
    "arxiv": "Summarize the following research paper in a concise abstract:",
}


def summary_prompt(template: str, source: str) -> str:
    """The paper's prompt: the instruction line, a blank line, then the source [§4.1]."""
    return template + "\n\n" + source


def chat_prompt_ids(tokenizer, prompt: str, max_tokens: int | None = None) -> tuple[list[int], bool]:
    """Chat-templated prompt ids (user turn + generation prompt, no extra special tokens) [§3.1].

    If it would exceed ``max_tokens``, the prompt's words are cut from the end (the source's
    tail) until it fits; returns (ids, truncated)."""

    def encode(text: str) -> list[int]:
        rendered = tokenizer.apply_chat_template(
            [{"role": "user", "content": text}], add_generation_prompt=True, tokenize=False
        )
        return tokenizer(rendered, add_special_tokens=False)["input_ids"]

    ids = encode(prompt)
    if max_tokens is None or len(ids) <= max_tokens:
        return ids, False
    words = prompt.split(" ")
    lo, hi = 0, len(words)
    while lo < hi:  # the longest word prefix that fits
        mid = (lo + hi + 1) // 2
        if len(encode(" ".join(words[:mid]))) <= max_tokens:
            lo = mid
        else:
            hi = mid - 1
    ids = encode(" ".join(words[:lo]))
    if len(ids) > max_tokens:
        raise SamplerConfigError(f"the chat template alone needs {len(ids)} tokens > max_prompt_tokens {max_tokens}")
    return ids, True
