"""One interface for a bidirectional mask predictor, at two sizes.

* Toy size: transformers' native ``EuroBertForMaskedLM`` built from a config in code.
  It has LLaDA's block structure (pre-RMSNorm, RoPE, SiLU-gated MLP, no biases, untied
  output head, bidirectional attention), so the same code paths run at toy and 8B scale.
* 8B: ``GSAI-ML/LLaDA-8B-Instruct`` through ``trust_remote_code`` at a locked commit SHA,
  bf16, mask 126336, EOS 126081, EoT 126348 [protocol §1.6].

Everything else in the package talks to :class:`MaskPredictor` only.
"""

from __future__ import annotations

import json
import re
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

    ``family`` is ``"eurobert"`` (native transformers class, toy size) or ``"llada"``
    (LLaDA's remote code, whose forward takes ``input_ids``/``inputs_embeds`` and
    ``attention_mask`` and whose input embedding is ``model.transformer.wte``).
    """

    def __init__(self, model: nn.Module, tokenizer, special: SpecialIds, family: str, origin: dict | None = None):
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.special = special
        self.family = family
        # where the weights/code came from (hub id, locked revision, dtype): kept on save so a
        # model trained from LLaDA-8B still loads its remote code at the locked commit
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
        is bidirectional, so every position still sees the prompt). For the ``eurobert`` family
        the output head is applied to the requested positions only, which saves the head's
        matmul and the (B, L, V) logits tensor over the prompt. For ``llada`` the remote code's
        forward applies its head (``transformer.ff_out``) inside, so the full logits are computed
        and then sliced: same values, no saving.
        """
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("give exactly one of input_ids or inputs_embeds")
        window = _as_slice(positions)
        if window is not None and self.family == "eurobert" and hasattr(self.model, "lm_head"):
            trunk = self.model.model(input_ids=input_ids, inputs_embeds=inputs_embeds, attention_mask=attention_mask)
            return self.model.lm_head(trunk.last_hidden_state[:, window])
        out = self.model(input_ids=input_ids, inputs_embeds=inputs_embeds, attention_mask=attention_mask)
        return out.logits if window is None else out.logits[:, window]

    @property
    def input_embedding(self) -> nn.Embedding:
        return self.model.get_input_embeddings()

    @property
    def output_head(self) -> nn.Module:
        head = self.model.get_output_embeddings()
        if head is None:  # LLaDA's remote code keeps the untied head at transformer.ff_out
            head = _find_module(self.model, "transformer.ff_out")
        return head

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


def _find_module(model: nn.Module, name: str) -> nn.Module:
    """The submodule whose dotted name ends with ``name`` (LLaDA's blocks also have an ``ff_out``,
    the MLP's down projection, so the head is found by its full suffix ``transformer.ff_out``)."""
    for module_name, module in model.named_modules():
        if module_name == name or module_name.endswith("." + name):
            return module
    raise BackboneError(f"model has no submodule named {name!r}")


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


def build_toy_backbone(words: list[str], arch: dict, seed: int) -> MaskPredictor:
    """A randomly initialised EuroBERT-style mask predictor of LLaDA's block structure.

    ``arch`` keys: hidden_size, intermediate_size, num_layers, num_heads, max_positions,
    rope_theta. Initialisation is seeded so the same config gives the same weights.
    """
    from transformers import EuroBertConfig, EuroBertForMaskedLM

    tokenizer = build_toy_tokenizer(words)
    special = special_ids_from_tokenizer(tokenizer, {k: TOY_SPECIAL_TOKENS[k] for k in ("mask", "eos", "eot", "pad")})
    config = EuroBertConfig(
        vocab_size=len(tokenizer),
        hidden_size=arch["hidden_size"],
        intermediate_size=arch["intermediate_size"],
        num_hidden_layers=arch["num_layers"],
        num_attention_heads=arch["num_heads"],
        num_key_value_heads=arch["num_heads"],
        max_position_embeddings=arch["max_positions"],
        rope_parameters={"rope_type": "default", "rope_theta": float(arch.get("rope_theta", 10000.0))},
        pad_token_id=special.pad,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=special.eos,
        mask_token_id=special.mask,
        tie_word_embeddings=False,
        attention_bias=False,
        mlp_bias=False,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = EuroBertForMaskedLM(config)
    model.eval()
    return MaskPredictor(model, tokenizer, special, family="eurobert")


_SHA = re.compile(r"^[0-9a-f]{40}$")


def load_backbone(
    path_or_id: str | Path,
    *,
    revision: str | None = None,
    family: str | None = None,
    special_tokens: dict[str, str] | None = None,
    expected_ids: dict[str, int] | None = None,
    dtype: str | None = None,
    trust_remote_code: bool = False,
    device: str | torch.device | None = None,
) -> MaskPredictor:
    """Load a saved toy backbone or LLaDA-8B (weights from safetensors only), on ``device``
    (None: where transformers puts it, the CPU).

    ``trust_remote_code`` is refused unless ``revision`` is a locked 40-hex commit SHA: remote
    code runs on the user's machine, so it must be the code that was reviewed.
    """
    from transformers import AutoModel, AutoModelForMaskedLM, AutoTokenizer

    path = Path(path_or_id)
    meta_file = path / BACKBONE_META
    meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
    family = family or meta.get("family")
    if family == "llada" and path.is_dir() and not trust_remote_code:
        # A downloaded LLaDA folder records the commit its code came from (download rule); its
        # files are covered by the download manifest, so the remote code may run at that SHA.
        trust_remote_code, revision = True, revision or meta.get("revision")
    if family not in ("eurobert", "llada"):
        raise BackboneError(f"model.family must be 'eurobert' or 'llada' (got {family!r} for {path_or_id})")
    if trust_remote_code and not (revision and _SHA.match(revision)):
        raise BackboneError(
            f"trust_remote_code for {path_or_id} needs model.revision to be a locked 40-hex commit SHA, got {revision!r}"
        )
    dtype = dtype or meta.get("dtype", "float32")  # the download rule records models.<name>.dtype
    torch_dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]
    kwargs = dict(revision=revision, dtype=torch_dtype, use_safetensors=True)
    if family == "llada":
        model = AutoModel.from_pretrained(str(path_or_id), trust_remote_code=trust_remote_code, **kwargs)
    else:
        model = AutoModelForMaskedLM.from_pretrained(str(path_or_id), **kwargs)
    tokenizer = AutoTokenizer.from_pretrained(str(path_or_id), revision=revision, trust_remote_code=trust_remote_code)
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
