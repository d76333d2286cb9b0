"""LLaDA-8B's network as a native transformers model: no code from a hub repository runs.

The mask predictor of ``GSAI-ML/LLaDA-8B-Instruct`` [protocol §1.6] is a Llama-style encoder:

* token embedding ``wte`` (``embedding_size`` rows), no position embedding;
* ``n_layers`` blocks, each ``x + attn(norm(x))`` then ``x + mlp(norm(x))`` with RMSNorm (statistics
  in fp32), rotary position embedding on queries and keys (rotate-half layout, angles in fp32),
  bidirectional scaled-dot-product attention (torch SDPA, grouped heads when
  ``n_kv_heads < n_heads``) and a SiLU-gated MLP ``ff_out(silu(ff_proj(x)) * up_proj(x))``;
* a final RMSNorm ``ln_f`` and an untied output head ``ff_out``; no bias anywhere.

Parameter names are the hub checkpoint's (``model.transformer.wte.weight``,
``model.transformer.blocks.N.{q_proj,k_proj,v_proj,attn_out,attn_norm,ff_norm,ff_proj,up_proj,ff_out}.weight``,
``model.transformer.ln_f.weight``, ``model.transformer.ff_out.weight``), so the released safetensors
shards load as they are. Loading is strict: a missing, unexpected or mis-shaped tensor is named in
a :class:`~dsl_llada.backbone.BackboneError`.

``attention_mask`` (B, L), 1 = a real token, 0 = padding, hides the padded *keys* from every query
(an additive ``finfo.min`` bias, as the hub code does since its 2025-10-21 revision; earlier
revisions ignored the mask). Padded positions still get logits; callers ignore them.

The configuration is read from the hub's ``config.json`` keys. Switches that select another
architecture (``block_type``, ``layer_norm_type``, ``activation_type``, ALiBi, biases, tied
weights, ...) are checked, and a value this module does not implement is refused by name instead
of being silently computed differently. ``tests/unit/test_llada.py`` checks the numbers against
logits produced by the authors' own code.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedConfig, PreTrainedModel
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.modeling_outputs import MaskedLMOutput

from .backbone import BackboneError

# Hub config switches that select an architecture variant; the value LLaDA-8B uses is the only
# one implemented here. ``None`` in the tuple: the key may also be absent/null.
SUPPORTED_SWITCHES: dict[str, tuple] = {
    "block_type": ("llama",),
    "layer_norm_type": ("rms",),
    "activation_type": ("silu",),
    "rope": (True,),
    "alibi": (False, None),
    "attention_layer_norm": (False, None),
    "layer_norm_with_affine": (True, None),
    "bias_for_layer_norm": (False, None),
    "include_bias": (False,),
    "include_qkv_bias": (False, None),
    "weight_tying": (False,),
    "input_emb_norm": (False, None),
    "scale_logits": (False, None),
    "block_group_size": (1, None),
    "multi_query_attention": (None, False),
    "attention_dropout": (0.0, None),
    "residual_dropout": (0.0, None),
    "embedding_dropout": (0.0, None),
}


class LLaDAConfig(PreTrainedConfig):
    """LLaDA's hyper-parameters under the hub's ``config.json`` key names.

    Defaults are LLaDA-8B-Instruct's. ``auto_map`` is dropped on load, so a folder saved from this
    class never points transformers at remote code.
    """

    model_type = "llada"

    d_model: int = 4096
    n_heads: int = 32
    n_kv_heads: int | None = None
    n_layers: int = 32
    mlp_hidden_size: int | None = 12288
    mlp_ratio: int = 4
    rope_theta: float = 500000.0
    rope_full_precision: bool = True
    vocab_size: int = 126464
    embedding_size: int | None = 126464
    max_sequence_length: int = 4096
    rms_norm_eps: float = 1e-5
    init_std: float = 0.02
    include_bias: bool = False
    weight_tying: bool = False
    block_type: str = "llama"
    layer_norm_type: str = "rms"
    activation_type: str = "silu"
    rope: bool = True
    mask_token_id: int | None = 126336
    eos_token_id: int | None = 126081
    pad_token_id: int | None = 126081
    use_cache: bool = False

    def __post_init__(self, **kwargs):
        kwargs.pop("auto_map", None)  # the hub's pointer to its remote code: never followed
        super().__post_init__(**kwargs)
        for key, allowed in SUPPORTED_SWITCHES.items():
            value = getattr(self, key, None)
            if value not in allowed:
                raise BackboneError(
                    f"LLaDA config: {key}={value!r} is not implemented by dsl_llada.llada "
                    f"(supported: {', '.join(repr(a) for a in allowed if a is not None)})"
                )
        if self.d_model % self.n_heads:
            raise BackboneError(f"LLaDA config: d_model={self.d_model} is not a multiple of n_heads={self.n_heads}")
        if self.n_heads % self.kv_heads:
            raise BackboneError(f"LLaDA config: n_heads={self.n_heads} is not a multiple of n_kv_heads={self.kv_heads}")
        if self.embedding_size is not None and self.embedding_size < self.vocab_size:
            raise BackboneError(
                f"LLaDA config: embedding_size={self.embedding_size} is smaller than vocab_size={self.vocab_size}"
            )

    @property
    def kv_heads(self) -> int:
        return self.n_kv_heads or self.n_heads

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    @property
    def ffn_size(self) -> int:
        return self.mlp_hidden_size or self.mlp_ratio * self.d_model

    @property
    def rows(self) -> int:
        """Rows of the embedding and of the output head (``embedding_size`` may pad the vocabulary)."""
        return self.embedding_size or self.vocab_size

    # names other transformers utilities look for
    @property
    def hidden_size(self) -> int:
        return self.d_model

    @property
    def num_attention_heads(self) -> int:
        return self.n_heads

    @property
    def num_hidden_layers(self) -> int:
        return self.n_layers

    @property
    def intermediate_size(self) -> int:
        return self.ffn_size

    @property
    def max_position_embeddings(self) -> int:
        return self.max_sequence_length


class LLaDARMSNorm(nn.Module):
    """RMSNorm with its statistics in fp32; the weight multiplies the result cast back to the input dtype."""

    def __init__(self, size: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        normed = F.rms_norm(x.float(), (x.shape[-1],), eps=self.eps)
        return self.weight * normed.to(x.dtype)


def rotary_angles(seq_len: int, head_dim: int, theta: float, device) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of the rotary angles, (seq_len, head_dim), fp32; the frequency list is repeated
    for the two halves of each head (rotate-half layout)."""
    inv_freq = 1.0 / theta ** (torch.arange(0, head_dim, 2, device=device, dtype=torch.float32) / head_dim)
    angles = torch.outer(torch.arange(seq_len, device=device, dtype=torch.float32), inv_freq)
    angles = torch.cat((angles, angles), dim=-1)
    return angles.cos(), angles.sin()


def apply_rotary(t: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, full_precision: bool) -> torch.Tensor:
    """Rotate (B, H, L, D) queries or keys: pairs (i, i + D/2) turn by the position's angle."""
    x = t.float() if full_precision else t
    first, second = x.chunk(2, dim=-1)
    turned = x * cos.to(x.dtype) + torch.cat((-second, first), dim=-1) * sin.to(x.dtype)
    return turned.to(t.dtype)


class LLaDABlock(GradientCheckpointingLayer):
    """One pre-norm encoder block (attention then SiLU-gated MLP), hub parameter names."""

    def __init__(self, config: LLaDAConfig):
        super().__init__()
        d, kv = config.d_model, config.kv_heads * config.head_dim
        self.n_heads, self.kv_heads, self.head_dim = config.n_heads, config.kv_heads, config.head_dim
        self.full_precision_rope = config.rope_full_precision
        self.attn_norm = LLaDARMSNorm(d, config.rms_norm_eps)
        self.q_proj = nn.Linear(d, d, bias=False)
        self.k_proj = nn.Linear(d, kv, bias=False)
        self.v_proj = nn.Linear(d, kv, bias=False)
        self.attn_out = nn.Linear(d, d, bias=False)
        self.ff_norm = LLaDARMSNorm(d, config.rms_norm_eps)
        self.ff_proj = nn.Linear(d, config.ffn_size, bias=False)  # gate (through SiLU)
        self.up_proj = nn.Linear(d, config.ffn_size, bias=False)
        self.ff_out = nn.Linear(config.ffn_size, d, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, hidden_keys: torch.Tensor | None):
        batch, length, _ = x.shape
        h = self.attn_norm(x)
        q = self.q_proj(h).view(batch, length, self.n_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(h).view(batch, length, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(h).view(batch, length, self.kv_heads, self.head_dim).transpose(1, 2)
        q = apply_rotary(q, cos, sin, self.full_precision_rope)
        k = apply_rotary(k, cos, sin, self.full_precision_rope)
        # additive bias in the attention's own dtype (under autocast q may be bf16): finfo.min, not -inf
        mask = None if hidden_keys is None else padding_bias(hidden_keys, q.dtype)
        att = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, is_causal=False, enable_gqa=self.kv_heads != self.n_heads
        )
        x = x + self.attn_out(att.transpose(1, 2).reshape(batch, length, -1))
        h = self.ff_norm(x)
        return x + self.ff_out(F.silu(self.ff_proj(h)) * self.up_proj(h))


class LLaDATransformer(nn.Module):
    """Embedding, blocks and final norm (``transformer.*`` in the hub's names) plus the head ``ff_out``."""

    def __init__(self, config: LLaDAConfig):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.rows, config.d_model)
        self.blocks = nn.ModuleList(LLaDABlock(config) for _ in range(config.n_layers))
        self.ln_f = LLaDARMSNorm(config.d_model, config.rms_norm_eps)
        self.ff_out = nn.Linear(config.d_model, config.rows, bias=False)


def hidden_padding_keys(attention_mask: torch.Tensor | None) -> torch.Tensor | None:
    """(B, 1, 1, L) bool, True at the keys ``attention_mask`` marks 0; None when nothing is hidden
    (then SDPA may take its fastest kernel)."""
    if attention_mask is None or bool(attention_mask.all()):
        return None
    return attention_mask[:, None, None, :] == 0


def padding_bias(hidden_keys: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Additive attention bias: ``finfo(dtype).min`` on hidden keys, 0 elsewhere (the hub code's rule)."""
    return torch.zeros(hidden_keys.shape, dtype=dtype, device=hidden_keys.device).masked_fill(
        hidden_keys, torch.finfo(dtype).min
    )


class LLaDAModel(nn.Module):
    """Holds ``transformer`` so parameter names start ``transformer.`` under the LM's ``model.``."""

    def __init__(self, config: LLaDAConfig):
        super().__init__()
        self.config = config
        self.transformer = LLaDATransformer(config)

    def forward(self, input_ids=None, inputs_embeds=None, attention_mask=None) -> torch.Tensor:
        """Final hidden states (B, L, d_model), after ``ln_f``."""
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("give exactly one of input_ids or inputs_embeds")
        x = self.transformer.wte(input_ids) if inputs_embeds is None else inputs_embeds
        # like the hub code, longer inputs than max_sequence_length are not refused (RoPE extends);
        # callers that truncate read config.max_position_embeddings
        cos, sin = rotary_angles(x.shape[1], self.config.head_dim, self.config.rope_theta, x.device)
        hidden_keys = hidden_padding_keys(attention_mask)
        for block in self.transformer.blocks:
            x = block(x, cos, sin, hidden_keys)
        return self.transformer.ln_f(x)


class LLaDAModelLM(PreTrainedModel):
    """LLaDA's mask predictor: ``forward`` returns logits over ``embedding_size`` rows.

    ``positions`` (a slice of the sequence axis) applies the output head to those positions only;
    the trunk always sees the whole sequence. ``from_pretrained`` is strict (see module docstring);
    ``extra_key_prefixes`` names tensors that may share the checkpoint's files and belong to
    someone else (the DSL modules of a released DSL-LLaDA checkpoint).
    """

    config_class = LLaDAConfig
    base_model_prefix = "model"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = True
    _no_split_modules = ["LLaDABlock"]
    _supports_sdpa = True

    def __init__(self, config: LLaDAConfig):
        super().__init__(config)
        self.model = LLaDAModel(config)
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        """N(0, init_std) for every matrix, ones for the norms (fresh models only: toy and tests)."""
        from transformers import initialization as init

        if isinstance(module, (nn.Linear, nn.Embedding)):
            init.normal_(module.weight, mean=0.0, std=self.config.init_std)
        elif isinstance(module, LLaDARMSNorm):
            init.ones_(module.weight)

    def get_input_embeddings(self) -> nn.Embedding:
        return self.model.transformer.wte

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.model.transformer.wte = value

    def get_output_embeddings(self) -> nn.Linear:
        return self.model.transformer.ff_out

    def set_output_embeddings(self, value: nn.Linear) -> None:
        self.model.transformer.ff_out = value

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        positions: slice | None = None,
        **unused,
    ) -> MaskedLMOutput:
        hidden = self.model(input_ids=input_ids, inputs_embeds=inputs_embeds, attention_mask=attention_mask)
        if positions is not None:
            hidden = hidden[:, positions]
        return MaskedLMOutput(logits=self.model.transformer.ff_out(hidden))

    @classmethod
    def from_pretrained(cls, path, *args, extra_key_prefixes: tuple[str, ...] = (), **kwargs):
        """transformers' loader (safetensors, shards, ``dtype``, ``device_map``), then strict checks."""
        kwargs.pop("output_loading_info", None)
        kwargs.setdefault("use_safetensors", True)
        kwargs["ignore_mismatched_sizes"] = True  # reported below, by name, with the other problems
        try:
            model, info = super().from_pretrained(path, *args, output_loading_info=True, **kwargs)
        except BackboneError:
            raise
        except (OSError, ValueError) as err:
            raise BackboneError(f"{path}: cannot load LLaDA weights: {err}") from err
        missing = sorted(info.get("missing_keys") or [])
        unexpected = sorted(k for k in info.get("unexpected_keys") or [] if not k.startswith(extra_key_prefixes))
        mismatched = sorted(
            f"{key} (checkpoint {tuple(got)}, model {tuple(want)})"
            for key, got, want in info.get("mismatched_keys") or []
        )
        if missing or unexpected or mismatched:
            parts = [
                f"{label} {names}"
                for label, names in (("missing", missing), ("unexpected", unexpected), ("mis-shaped", mismatched))
                if names
            ]
            raise BackboneError(f"{path}: checkpoint does not match the LLaDA architecture: " + "; ".join(parts))
        return model


def read_llada_config(path: str | Path) -> LLaDAConfig:
    """The config of a LLaDA folder, errors naming the file."""
    path = Path(path)
    try:
        return LLaDAConfig.from_pretrained(str(path))
    except BackboneError as err:
        raise BackboneError(f"{path / 'config.json'}: {err}") from None
    except (OSError, ValueError, TypeError) as err:
        raise BackboneError(f"{path / 'config.json'}: cannot read a LLaDA config: {err}") from err
