"""One interface for a bidirectional mask predictor, at two sizes, through the same code.

Both sizes are :class:`dsl_llada.llada.LLaDAModelLM`, our own implementation of LLaDA-8B's
network (pre-RMSNorm, RoPE, SwiGLU, no biases, bidirectional SDPA attention, untied head
``ff_out``) with the hub checkpoint's parameter names:

* Toy size: built in code from ``models.base.arch`` (a few layers, the toy world's word-level
  tokenizer with LLaDA's special-token strings), seeded initialisation.
* 8B: ``GSAI-ML/LLaDA-8B-Instruct`` safetensors at a locked commit SHA, bf16, mask 126336,
  EOS 126081, EoT 126348 [protocol §1.6]. No code from the hub repository runs: the config is
  read from ``config.json``, the weights load strictly (every missing or unexpected tensor is
  named) and the tokenizer loads from ``tokenizer.json`` as a ``PreTrainedTokenizerFast``.

Everything else in the package talks to :class:`MaskPredictor` only.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

BACKBONE_META = "dsl_llada_backbone.json"

# The toy tokenizer uses LLaDA's special-token strings, so prompts look the same at both sizes.
TOY_SPECIAL_TOKENS = {
    "bos": "<|startoftext|>",
    "eos": "<|endoftext|>",
    "eot": "<|eot_id|>",
    "mask": "<|mdm_mask|>",
    "pad": "<|pad|>",
    "unk": "<|unk|>",
    "header_start": "<|start_header_id|>",
    "header_end": "<|end_header_id|>",
}

# LLaDA-8B-Instruct's chat template layout (user turn, then the assistant header).
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "<|start_header_id|>{{ message['role'] }}<|end_header_id|>\n\n"
    "{{ message['content'] }}<|eot_id|>{% endfor %}"
    "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
)


# Backbone code families: every model is LLaDA's architecture (dsl_llada.llada). Folders saved
# with the former toy family "eurobert" are refused with a message saying to rebuild them.
FAMILIES = ("llada",)


class BackboneError(ValueError):
    """A backbone could not be built or loaded; the message names the key or path."""


@dataclass(frozen=True)
class SpecialIds:
    """Token ids the samplers and losses need; never hard-coded literals [protocol §1.6]."""

    mask: int
    eos: int
    eot: int
    pad: int

    def as_dict(self) -> dict:
        return asdict(self)


class MaskPredictor(nn.Module):
    """A bidirectional mask predictor: logits from ids or from input embeddings.

    ``model`` is a :class:`dsl_llada.llada.LLaDAModelLM` (``family`` ``"llada"``) whose input
    embedding is ``model.transformer.wte`` and whose output head is ``model.transformer.ff_out``.
    """

    def __init__(self, model: nn.Module, tokenizer, special: SpecialIds, family: str, origin: dict | None = None):
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.special = special
        self.family = family
        # where the weights came from (hub id, locked revision, dtype): kept on save
        self.origin = dict(origin or {})

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        positions: slice | int | None = None,
    ) -> torch.Tensor:
        """Logits (B, L, V) for every position, or (B, len(positions), V) with ``positions``.

        ``positions`` (a slice of the sequence axis, or an int ``n`` meaning ``slice(n, None)``:
        logits from position ``n`` on) asks for the logits at those positions only; the samplers
        use it for the generation window. The trunk always runs on the whole sequence (attention
        is bidirectional, so every position still sees the prompt); the output head is applied to
        the requested positions only, which saves the head's matmul and the (B, L, V) logits
        tensor over the prompt.
        """
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("give exactly one of input_ids or inputs_embeds")
        window = _as_slice(positions)
        out = self.model(
            input_ids=input_ids, inputs_embeds=inputs_embeds, attention_mask=attention_mask, positions=window
        )
        return out.logits

    @property
    def input_embedding(self) -> nn.Embedding:
        return self.model.get_input_embeddings()

    @property
    def output_head(self) -> nn.Module:
        return self.model.get_output_embeddings()

    @property
    def hidden_size(self) -> int:
        return self.input_embedding.weight.shape[1]

    @property
    def vocab_size(self) -> int:
        return self.input_embedding.weight.shape[0]

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.input_embedding(input_ids)

    def save(self, path: str | Path) -> None:
        """Save weights (safetensors), tokenizer and the family/special-id metadata."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(path, safe_serialization=True)
        self.tokenizer.save_pretrained(path)
        meta = {**self.origin, "family": self.family, "special_ids": self.special.as_dict()}
        (path / BACKBONE_META).write_text(json.dumps(meta, indent=1) + "\n")


def _as_slice(positions: slice | int | None) -> slice | None:
    if positions is None or isinstance(positions, slice):
        return positions
    if isinstance(positions, int) and not isinstance(positions, bool):
        return slice(positions, None)
    raise TypeError(f"positions must be a slice, an int or None, got {type(positions).__name__}")


def build_toy_tokenizer(words: list[str]):
    """Word-level tokenizer over the toy world's vocabulary, saved as a PreTrainedTokenizerFast.

    Special tokens use LLaDA's strings and the chat template is LLaDA's layout, so the toy and
    8B models share the prompt-building code.
    """
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = list(TOY_SPECIAL_TOKENS.values())
    vocab: dict[str, int] = {}
    for token in specials + ["user", "assistant"] + sorted(set(words)):
        vocab.setdefault(token, len(vocab))
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token=TOY_SPECIAL_TOKENS["unk"]))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token=TOY_SPECIAL_TOKENS["bos"],
        eos_token=TOY_SPECIAL_TOKENS["eos"],
        unk_token=TOY_SPECIAL_TOKENS["unk"],
        pad_token=TOY_SPECIAL_TOKENS["pad"],
        mask_token=TOY_SPECIAL_TOKENS["mask"],
        additional_special_tokens=[
            TOY_SPECIAL_TOKENS["eot"],
            TOY_SPECIAL_TOKENS["header_start"],
            TOY_SPECIAL_TOKENS["header_end"],
        ],
    )
    tok.chat_template = CHAT_TEMPLATE
    return tok


def special_ids_from_tokenizer(tokenizer, names: dict[str, str], expected: dict[str, int] | None = None) -> SpecialIds:
    """Look up the special ids by token string; check them against ``expected`` when given."""
    ids = {}
    for role in ("mask", "eos", "eot", "pad"):
        token = names.get(role)
        if token is None:
            raise BackboneError(f"model.special_tokens.{role} is missing")
        tid = tokenizer.convert_tokens_to_ids(token)
        if tid is None or tid == tokenizer.unk_token_id and token != tokenizer.unk_token:
            raise BackboneError(f"model.special_tokens.{role}: token {token!r} is not in the tokenizer")
        ids[role] = int(tid)
    for role, want in (expected or {}).items():
        if ids.get(role) != want:
            raise BackboneError(f"model.special_ids.{role}: tokenizer gives {ids.get(role)}, config expects {want}")
    return SpecialIds(**ids)


def toy_llada_config(arch: dict, vocab_size: int, special: SpecialIds):
    """LLaDA's config at toy size from ``models.base.arch`` (keys hidden_size, intermediate_size,
    num_layers, num_heads, max_positions, optional rope_theta)."""
    from .llada import LLaDAConfig

    return LLaDAConfig(
        d_model=arch["hidden_size"],
        n_heads=arch["num_heads"],
        n_kv_heads=arch["num_heads"],
        n_layers=arch["num_layers"],
        mlp_hidden_size=arch["intermediate_size"],
        rope_theta=float(arch.get("rope_theta", 10000.0)),
        max_sequence_length=arch["max_positions"],
        vocab_size=vocab_size,
        embedding_size=vocab_size,
        mask_token_id=special.mask,
        eos_token_id=special.eos,
        pad_token_id=special.pad,
    )


def build_toy_backbone(words: list[str], arch: dict, seed: int) -> MaskPredictor:
    """A randomly initialised LLaDA network at toy size (the same class as LLaDA-8B).

    ``arch`` keys: hidden_size, intermediate_size, num_layers, num_heads, max_positions,
    rope_theta. Initialisation is seeded (N(0, 0.02) matrices, unit norms), so the same config
    gives the same weights.
    """
    from .llada import LLaDAModelLM

    tokenizer = build_toy_tokenizer(words)
    special = special_ids_from_tokenizer(tokenizer, {k: TOY_SPECIAL_TOKENS[k] for k in ("mask", "eos", "eot", "pad")})
    config = toy_llada_config(arch, len(tokenizer), special)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LLaDAModelLM(config)
    model.eval()
    return MaskPredictor(model, tokenizer, special, family="llada")


def load_tokenizer(path_or_id: str | Path, revision: str | None = None):
    """The fast tokenizer from ``tokenizer.json``, never through ``AutoTokenizer``: LLaDA's
    tokenizer config asks for remote code (``trust_remote_code``/``auto_map``), which would run
    code from the hub or stop at an interactive "run custom code? [y/N]" prompt."""
    from transformers import PreTrainedTokenizerFast

    try:
        return PreTrainedTokenizerFast.from_pretrained(str(path_or_id), revision=revision)
    except (OSError, ValueError) as err:
        raise BackboneError(f"{path_or_id}: cannot load the tokenizer (tokenizer.json): {err}") from err


DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def load_backbone(
    path_or_id: str | Path,
    *,
    revision: str | None = None,
    family: str | None = None,
    special_tokens: dict[str, str] | None = None,
    expected_ids: dict[str, int] | None = None,
    dtype: str | None = None,
    device: str | torch.device | None = None,
) -> MaskPredictor:
    """Load a saved toy backbone, a downloaded LLaDA-8B folder or a DSL checkpoint's backbone, on
    ``device`` (None: where transformers puts it, the CPU).

    Weights come from safetensors only, into our own :class:`~dsl_llada.llada.LLaDAModelLM`
    (strict: every missing or unexpected tensor is named; the DSL modules' ``noise_embed.*`` /
    ``converter.*`` tensors that share a released checkpoint's shards are left to
    :func:`dsl_llada.dsl.load_dsl_model`). No code from the folder or the hub runs.
    """
    from .dsl import DSL_IGNORED_KEYS, DSL_PREFIXES
    from .llada import LLaDAModelLM, read_llada_config

    path = Path(path_or_id)
    meta_file = path / BACKBONE_META
    meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
    family = family or meta.get("family") or "llada"
    if family not in FAMILIES:
        hint = " (the toy backbone is LLaDA's architecture now: rebuild this folder)" if family == "eurobert" else ""
        raise BackboneError(f"model.family must be one of {list(FAMILIES)} (got {family!r} for {path_or_id}){hint}")
    dtype = dtype or meta.get("dtype", "float32")  # the download rule records models.<name>.dtype
    if dtype not in DTYPES:
        raise BackboneError(f"model dtype must be one of {sorted(DTYPES)}, got {dtype!r} for {path_or_id}")
    revision = revision or meta.get("revision")
    config = read_llada_config(path) if path.is_dir() else None
    model = LLaDAModelLM.from_pretrained(
        str(path_or_id),
        config=config,
        revision=revision,
        dtype=DTYPES[dtype],
        # released checkpoints also hold log_snr_max next to the LLaDA weights (dsl.DSL_IGNORED_KEYS)
        extra_key_prefixes=DSL_PREFIXES + DSL_IGNORED_KEYS,
    )
    tokenizer = load_tokenizer(path_or_id, revision)
    if meta.get("special_ids") and not special_tokens:
        special = SpecialIds(**meta["special_ids"])
    else:
        names = special_tokens or {k: TOY_SPECIAL_TOKENS[k] for k in ("mask", "eos", "eot", "pad")}
        special = special_ids_from_tokenizer(tokenizer, names, expected_ids)
    model.eval()
    if device is not None:
        model.to(device)
    origin = {k: meta[k] for k in ("hub_id", "revision") if meta.get(k)}
    if revision:
        origin["revision"] = revision
    origin["dtype"] = dtype
    return MaskPredictor(model, tokenizer, special, family=family, origin=origin)
