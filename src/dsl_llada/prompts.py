"""Chat-templated prompts [protocol §3.1], tokenizer only (no torch): data preparation and the
samplers build prompts the same way."""

from .errors import SamplerConfigError


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
