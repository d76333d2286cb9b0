"""DSL modules: noise embedding, localisation channel, softmax converter, SNR sampling [protocol §1].

A DSL model is an unchanged mask-predictor backbone whose token embeddings are replaced by
the converter's output ``h = W softmax(beta * z K^T + b) + c`` read from a noisy point ``z``
in a frozen unit-sphere embedding space. Masked diffusion is the endpoint path s in {0, inf}.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn
from torch.utils.checkpoint import checkpoint

from .backbone import MaskPredictor, load_backbone

DSL_TENSORS = "dsl_modules.safetensors"
DSL_CONFIG = "dsl_config.json"
DSL_PREFIXES = ("noise_embed.", "converter.")


@dataclass
class DSLConfig:
    """Hyper-parameters of the DSL modules [protocol §1.1, §1.3]."""

    noise_dim: int = 100
    beta_init: float = 1.0
    noise_seed: int = 42
    residual: str = "none"  # none | plain | gated  (the released Highpass checkpoint uses a residual)
    chunk_tokens: int = 0  # converter positions per chunk; 0 = all at once [issue: P3 memory]


def unit_noise_embedding(vocab_size: int, dim: int, seed: int) -> torch.Tensor:
    """Frozen random token embedding E (V x d), rows uniform on the unit sphere [§1.1].

    Standard-normal rows, then row-normalised. A fixed seed makes every rank build the same table.
    """
    gen = torch.Generator().manual_seed(seed)
    table = torch.randn(vocab_size, dim, generator=gen, dtype=torch.float32)
    return table / table.norm(dim=-1, keepdim=True)


def noise_channel(x: torch.Tensor, snr: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Localisation channel z = s*x + sqrt(s)*eps, eps ~ N(0, I), per token, in fp32 [§1.2].

    ``x``: (..., d) clean unit embeddings; ``snr``: broadcastable to x[..., 0].
    """
    x = x.float()
    s = snr.float().unsqueeze(-1)
    eps = torch.randn(x.shape, generator=generator, device=x.device, dtype=torch.float32)
    return s * x + s.sqrt() * eps


def sample_mixed_snr(
    batch: int,
    length: int,
    generator: torch.Generator,
    *,
    roar_prob: float = 0.1,
    mu: float = 1.69,
    sigma: float = 0.9,
    s_max: float = 100.0,
    s_max_lognormal: float = 40.0,
    roar_high_frac: float = 0.8,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Per-token SNR for training (``sample_mixed_snr``) [§1.5].

    Each sequence is "smoothed ROAR" with probability ``roar_prob``: k ~ U{0..L-1} random
    positions are revealed with s ~ U[roar_high_frac*s_max, s_max], the rest get s ~ U[0, 1).
    Every other sequence draws log s ~ N(mu, sigma) per token, clamped at ``s_max_lognormal``.
    """
    log_normal = torch.exp(mu + sigma * torch.randn(batch, length, generator=generator)).clamp(max=s_max_lognormal)
    is_roar = torch.rand(batch, generator=generator) < roar_prob
    k = torch.randint(0, length, (batch,), generator=generator)
    ranks = torch.rand(batch, length, generator=generator).argsort(dim=1).argsort(dim=1)
    revealed = ranks < k.unsqueeze(1)
    high = roar_high_frac * s_max + (1 - roar_high_frac) * s_max * torch.rand(batch, length, generator=generator)
    low = torch.rand(batch, length, generator=generator)
    roar = torch.where(revealed, high, low)
    return torch.where(is_roar.unsqueeze(1), roar, log_normal).to(device)


class Converter(nn.Module):
    """Softmax converter (``SoftmaxConvertBias``) from noise space to backbone embeddings [§1.3].

    logits = beta * z [E; 0]^T + b  (the all-zero key is the mask slot); p = softmax(logits) in
    fp32; h = W p + c. W is initialised from the backbone's input embedding (W[:, :V] = wte^T)
    and its [MASK] row (W[:, V] = wte[mask]); b = 0 except b_mask = ln V, so z = 0 gives the
    mask slot probability exactly 1/2. With beta = 1 and b = log-prior this is the Bayes
    posterior of §1.2.
    """

    def __init__(
        self,
        vocab_size: int,
        noise_dim: int,
        hidden_size: int,
        beta_init: float,
        residual: str = "none",
        init_seed: int = 0,
    ):
        super().__init__()
        # the random parts of the initialisation come from this seed, not the global RNG, so the
        # same config builds the same converter in any process
        gen = torch.Generator().manual_seed(init_seed)
        self.vocab_size = vocab_size
        # Scalars are stored with shape (1,), not 0-dim: DeepSpeed's start-up broadcast views every
        # parameter as bytes, which a 0-dim tensor refuses (released 0-dim values still load).
        self.beta = nn.Parameter(torch.tensor([float(beta_init)]))
        bias = torch.zeros(vocab_size + 1)
        bias[vocab_size] = math.log(vocab_size)
        self.logit_bias = nn.Parameter(bias)
        # PyTorch's default Linear bias init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), is kept: the
        # released code does not zero it (§1.3 ⚠).
        self.backbone_embedding = nn.Linear(vocab_size + 1, hidden_size, bias=True)
        bound = 1.0 / math.sqrt(vocab_size + 1)
        with torch.no_grad():
            self.backbone_embedding.bias.uniform_(-bound, bound, generator=gen)
        self.residual = residual
        if residual != "none":
            self.residual_proj = nn.Linear(noise_dim, hidden_size, bias=True)
            nn.init.normal_(self.residual_proj.weight, std=0.01, generator=gen)
            nn.init.zeros_(self.residual_proj.bias)
        if residual == "gated":
            self.residual_tau = nn.Parameter(torch.tensor([5.0]))
            self.residual_gate_bias = nn.Parameter(torch.tensor([2.0]))

    @torch.no_grad()
    def init_from_backbone(self, input_embedding: torch.Tensor, mask_id: int) -> None:
        weight = torch.cat([input_embedding.T, input_embedding[mask_id].unsqueeze(1)], dim=1)
        self.backbone_embedding.weight.copy_(weight.to(self.backbone_embedding.weight.dtype))

    def probabilities(self, z: torch.Tensor, noise_table: torch.Tensor, beta_scale: float = 1.0) -> torch.Tensor:
        """p = softmax(beta * beta_scale * z [E;0]^T + b) over V+1 slots, fp32 [§1.3]."""
        beta = self.beta.float() * beta_scale
        token_logits = beta * (z.float() @ noise_table.float().T)
        mask_logit = torch.zeros_like(token_logits[..., :1])  # the zero key: <z, 0> = 0
        logits = torch.cat([token_logits, mask_logit], dim=-1) + self.logit_bias.float()
        return torch.softmax(logits, dim=-1)

    def _convert(self, z: torch.Tensor, noise_table: torch.Tensor, beta_scale: float, snr: torch.Tensor | None):
        p = self.probabilities(z, noise_table, beta_scale)
        w = self.backbone_embedding.weight
        h = F.linear(p.to(w.dtype), w, self.backbone_embedding.bias)
        if self.residual != "none":
            h = h + self._highpass(z, p, noise_table, snr).to(h.dtype)
        return h

    def _highpass(self, z, p, noise_table, snr):
        """Optional residual R z_perp + r with z_perp orthogonal to the soft-retrieved embedding [§1.3]."""
        u = p[..., : self.vocab_size] @ noise_table.float()
        u_hat = u / u.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        z_perp = z.float() - (z.float() * u_hat).sum(-1, keepdim=True) * u_hat
        out = self.residual_proj(z_perp.to(self.residual_proj.weight.dtype))
        if self.residual == "gated":
            if snr is None:
                raise ValueError("the gated residual needs the per-token SNR")
            gate = torch.sigmoid(-snr.float() / self.residual_tau + self.residual_gate_bias)
            out = out * gate.unsqueeze(-1).to(out.dtype)
        return out

    def embed_revealed(self, ids: torch.Tensor) -> torch.Tensor:
        """h for fully revealed tokens, the s -> infinity limit of the converter [§1.3]: p is one-hot
        at the token (the mask slot's share vanishes), so h = W[:, id] + c; z is parallel to the
        token's row, so the high-pass component is 0 and a plain residual adds only its bias r (the
        gated one is closed). Reads clean text the way DSL training shows it (the diagnostic of §5.1)."""
        w = self.backbone_embedding.weight
        h = F.embedding(ids, w[:, : self.vocab_size].T) + self.backbone_embedding.bias
        if self.residual == "plain":
            h = h + self.residual_proj.bias.to(h.dtype)
        return h

    def forward(
        self,
        z: torch.Tensor,
        noise_table: torch.Tensor,
        beta_scale: float = 1.0,
        snr: torch.Tensor | None = None,
        chunk_tokens: int = 0,
    ) -> torch.Tensor:
        """h for every position of z (..., d). With ``chunk_tokens`` > 0 the (V+1)-way softmax is
        built for at most that many positions at a time (recomputed in backward), so memory
        stays bounded as batch x length grows."""
        lead = z.shape[:-1]
        flat_z = z.reshape(-1, z.shape[-1])
        flat_s = None if snr is None else snr.reshape(-1)
        n = flat_z.shape[0]
        if chunk_tokens <= 0 or n <= chunk_tokens:
            return self._convert(flat_z, noise_table, beta_scale, flat_s).reshape(*lead, -1)
        parts = []
        for start in range(0, n, chunk_tokens):
            sl = slice(start, start + chunk_tokens)
            s_chunk = None if flat_s is None else flat_s[sl]
            if torch.is_grad_enabled():
                parts.append(
                    checkpoint(self._convert, flat_z[sl], noise_table, beta_scale, s_chunk, use_reentrant=False)
                )
            else:
                parts.append(self._convert(flat_z[sl], noise_table, beta_scale, s_chunk))
        return torch.cat(parts).reshape(*lead, -1)


class DSLModel(nn.Module):
    """Backbone + frozen noise embedding + converter. State-dict names match the released
    checkpoints (``noise_embed.weight``, ``converter.*``) [§2.5]."""

    def __init__(self, backbone: MaskPredictor, cfg: DSLConfig):
        super().__init__()
        self.backbone = backbone
        self.cfg = cfg
        vocab, hidden = backbone.vocab_size, backbone.hidden_size
        self.noise_embed = nn.Embedding(vocab, cfg.noise_dim)
        self.noise_embed.weight.data.copy_(unit_noise_embedding(vocab, cfg.noise_dim, cfg.noise_seed))
        self.noise_embed.weight.requires_grad_(False)
        self.converter = Converter(vocab, cfg.noise_dim, hidden, cfg.beta_init, cfg.residual, init_seed=cfg.noise_seed)
        self.converter.to(backbone.input_embedding.weight.dtype)
        for name in ("beta", "logit_bias"):  # scalars and the bias stay fp32 (softmax precision)
            getattr(self.converter, name).data = getattr(self.converter, name).data.float()
        self.converter.init_from_backbone(backbone.input_embedding.weight.detach().float(), backbone.special.mask)

    @property
    def noise_table(self) -> torch.Tensor:
        return self.noise_embed.weight

    def embed_noisy(self, z: torch.Tensor, beta_scale: float = 1.0, snr: torch.Tensor | None = None) -> torch.Tensor:
        return self.converter(z, self.noise_table, beta_scale, snr, self.cfg.chunk_tokens)

    def embed_revealed(self, ids: torch.Tensor) -> torch.Tensor:
        return self.converter.embed_revealed(ids)

    def dsl_modules_state(self) -> dict[str, torch.Tensor]:
        state = {"noise_embed.weight": self.noise_embed.weight}
        state.update({f"converter.{k}": v for k, v in self.converter.state_dict().items()})
        return {k: v.detach().contiguous().cpu() for k, v in state.items()}

    def save(self, path: str | Path) -> None:
        """Backbone via save_pretrained; DSL tensors under their released names in safetensors."""
        path = Path(path)
        self.backbone.save(path)
        save_file(self.dsl_modules_state(), str(path / DSL_TENSORS))
        (path / DSL_CONFIG).write_text(json.dumps(asdict(self.cfg), indent=1) + "\n")


def configure_dsl_trainable(model: DSLModel) -> None:
    """What the DSL run trains [§1.6]: blocks, norms and converter; the output head and the noise
    table are frozen, and the input embedding gets no gradient (inputs bypass it)."""
    for p in model.parameters():
        p.requires_grad_(True)
    model.noise_embed.weight.requires_grad_(False)
    for p in model.backbone.output_head.parameters():
        p.requires_grad_(False)
    model.backbone.input_embedding.weight.requires_grad_(False)


# Keys a released checkpoint may hold besides the backbone's own: the authors' converter keeps the
# noise table as a submodule, so it is saved twice (``converter.embed.weight`` = ``noise_embed.weight``),
# and their training script registers ``log_snr_max`` (a fixed log(100), unused at inference).
DSL_ALIAS_KEYS = {"converter.embed.weight": "noise_embed.weight"}
DSL_IGNORED_KEYS = ("log_snr_max",)


def _is_dsl_key(key: str) -> bool:
    return key.startswith(DSL_PREFIXES) or key in DSL_IGNORED_KEYS


def _dsl_files(path: Path) -> list[Path]:
    """The safetensors files that can hold DSL tensors: those the shard index maps them to when
    there is one (a released 8B snapshot has 4 shards of 4-5 GB), else every file."""
    index = path / "model.safetensors.index.json"
    files = sorted(path.glob("*.safetensors"))
    if index.exists():
        weight_map = json.loads(index.read_text()).get("weight_map", {})
        named = {path / shard for key, shard in weight_map.items() if _is_dsl_key(key)}
        files = [f for f in files if f in named or f.name == DSL_TENSORS]
    return files


def read_dsl_tensors(path: Path) -> dict[str, torch.Tensor]:
    """Collect the DSL tensors (``noise_embed.*``, ``converter.*``, ``log_snr_max``) of a checkpoint:
    our own ``dsl_modules.safetensors`` or the released checkpoints' model shards. Only those
    tensors are read (the shard headers say where they are); the backbone's weights are read once,
    by the backbone loader."""
    from safetensors import safe_open

    tensors: dict[str, torch.Tensor] = {}
    for file in _dsl_files(path):
        with safe_open(str(file), framework="pt") as handle:
            for key in handle.keys():
                if _is_dsl_key(key):
                    tensors[key] = handle.get_tensor(key)
    return tensors


def _fold_released_keys(path: Path, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Check and drop the duplicate/unused keys of released checkpoints [protocol §2.5]."""
    tensors = dict(tensors)
    for alias, key in DSL_ALIAS_KEYS.items():
        if alias not in tensors:
            continue
        copy = tensors.pop(alias)
        if key not in tensors:
            raise ValueError(f"{path}: {alias} is present but {key} is not")
        if copy.shape != tensors[key].shape or not torch.equal(copy.float(), tensors[key].float()):
            diff = (
                (copy.float() - tensors[key].float()).abs().max().item() if copy.shape == tensors[key].shape else None
            )
            raise ValueError(
                f"{path}: {alias} differs from {key} (shapes {tuple(copy.shape)} vs {tuple(tensors[key].shape)}, "
                f"max |difference| {diff}); the converter and the sampler would use different noise tables"
            )
    for key in DSL_IGNORED_KEYS:
        tensors.pop(key, None)
    return tensors


def load_dsl_model(path: str | Path, device: str | torch.device | None = None, **backbone_kwargs) -> DSLModel:
    """Load a DSL checkpoint: ours, or a released ``liddlefish/DSL-LLaDA-*`` snapshot [protocol §2.5].

    Released snapshots may also hold ``converter.embed.weight`` (must equal ``noise_embed.weight``),
    ``log_snr_max`` (ignored) and 0-dim scalars (``converter.beta``), which load into shape (1,).
    """
    path = Path(path)
    tensors = _fold_released_keys(path, read_dsl_tensors(path))
    if "noise_embed.weight" not in tensors:
        raise ValueError(f"{path}: no noise_embed.weight in any *.safetensors file — not a DSL checkpoint")
    cfg_file = path / DSL_CONFIG
    cfg = DSLConfig(**json.loads(cfg_file.read_text())) if cfg_file.exists() else DSLConfig()
    cfg.noise_dim = tensors["noise_embed.weight"].shape[1]
    if not cfg_file.exists():  # released checkpoints: infer the residual from the tensor names
        if "converter.residual_tau" in tensors:
            cfg.residual = "gated"
        elif "converter.residual_proj.weight" in tensors:
            cfg.residual = "plain"
    backbone = load_backbone(path, **backbone_kwargs)
    model = DSLModel(backbone, cfg)
    own = {"noise_embed.weight": model.noise_embed.weight}
    own.update({f"converter.{k}": v for k, v in model.converter.state_dict().items()})
    missing = sorted(set(own) - set(tensors))
    unexpected = sorted(set(tensors) - set(own))
    if missing or unexpected:
        raise ValueError(f"{path}: DSL tensors do not match (missing {missing}, unexpected {unexpected})")
    with torch.no_grad():
        for key, value in tensors.items():
            if value.dim() == 0 and own[key].shape == (1,):  # a released 0-dim scalar
                value = value.reshape(1)
            if own[key].shape != value.shape:
                raise ValueError(f"{path}: {key} has shape {tuple(value.shape)}, expected {tuple(own[key].shape)}")
            own[key].copy_(value.to(own[key].dtype))
    model.eval()
    if device is not None:
        model.to(device)
    return model


def is_dsl_checkpoint(path: str | Path) -> bool:
    """Whether a model folder holds DSL tensors: ours (``dsl_config.json``) or a released snapshot's
    (``noise_embed.weight`` in its shards; only the headers are read)."""
    from safetensors import safe_open

    path = Path(path)
    if (path / DSL_CONFIG).exists():
        return True
    for file in _dsl_files(path):
        with safe_open(str(file), framework="pt") as handle:
            if any(key in handle.keys() for key in ("noise_embed.weight", *DSL_ALIAS_KEYS)):
                return True
    return False


def load_discrete_backbone(model_dir: str | Path, device: str | torch.device | None = None):
    """The backbone alone, fed token ids through its own input embedding (standard remasking on
    a DSL checkpoint [§3.4], robustness [§5]); a plain backbone folder loads as it is."""
    model_dir = Path(model_dir)
    if (model_dir / DSL_CONFIG).exists():
        return load_dsl_model(model_dir, device=device).backbone
    return load_backbone(model_dir, device=device)
