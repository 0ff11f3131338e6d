"""Pretraining and fine-tuning a small Transformer: the loop the tutorial teaches, written out.

next-token cross-entropy → AdamW → warmup + cosine learning rate → gradient clipping, with
gradient accumulation, periodic validation perplexity and sample generations, and checkpoints
(safetensors weights + JSON config + tokenizer.json) written atomically. Every step's batch and
dropout come from generators seeded by (seed, step), so a run resumed from a checkpoint
continues the very same curve. The loop is a generator of events; the CLI prints them and the
studio's worker forwards them to its charts. Uses the same model code as the chat.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer

from ..model.config import ModelConfig
from ..model.transformer import Transformer
from .data import QA_TEMPLATE, SPECIALS, get_batch, qa_batch

QA_CHAT_TEMPLATE = (
    "{% for m in messages %}{% if m['role'] == 'user' %}Question: {{ m['content'] }}\nAnswer:"
    "{% elif m['role'] == 'assistant' %} {{ m['content'] }}<|endoftext|>\n{% endif %}{% endfor %}"
)


@dataclass
class TrainConfig:
    steps: int = 2000
    batch_size: int = 16
    grad_accum: int = 1  # micro-batches per optimizer step
    lr: float = 3e-3
    min_lr: float = 3e-4
    warmup: int = 100
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float = 1.0
    eval_every: int = 100
    eval_iters: int = 10
    sample_every: int = 200
    ckpt_every: int = 500
    seed: int = 1337
    task: str = "pretrain"  # "pretrain" | "qa"

    def lr_at(self, step: int) -> float:
        """Linear warmup, then cosine decay to min_lr."""
        if step < self.warmup:
            return self.lr * (step + 1) / self.warmup
        progress = min(1.0, (step - self.warmup) / max(1, self.steps - self.warmup))
        return self.min_lr + 0.5 * (1 + math.cos(math.pi * progress)) * (self.lr - self.min_lr)


@dataclass
class StepEvent:
    step: int
    loss: float
    lr: float
    tokens_per_s: float
    eta_s: float
    val_loss: float | None = None
    val_ppl: float | None = None
    sample: str | None = None
    checkpoint: str | None = None


@dataclass
class TrainState:
    step: int = 0
    history: list[dict] = field(default_factory=list)  # one dict per step: loss, lr, val…


def masked_loss(logits: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None) -> torch.Tensor:
    """Cross-entropy of next-token predictions; with weights w, averaged over weighted tokens only
    (fine-tuning: the answer's tokens count, the question's and the padding's do not)."""
    flat = logits.reshape(-1, logits.shape[-1]).float()
    if w is None:
        return F.cross_entropy(flat, y.reshape(-1))
    ce = F.cross_entropy(flat, y.reshape(-1), reduction="none")
    w = w.reshape(-1)
    return (ce * w).sum() / w.sum().clamp_min(1.0)


class Trainer:
    def __init__(self, model: Transformer, tok: Tokenizer, cfg: TrainConfig, out_dir: str | Path,
                 train_data, val_data, stop: threading.Event | None = None):
        self.model, self.tok, self.cfg = model, tok, cfg
        self.out = Path(out_dir)
        self.train_data, self.val_data = train_data, val_data
        self.stop = stop or threading.Event()
        self.running = threading.Event()  # cleared while paused
        self.running.set()
        self.on_pause: Callable[[int], None] | None = None  # told the step count when a pause takes hold
        self.state = TrainState()
        decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
        no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
        self.opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                                      {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr, betas=cfg.betas)
        # Under torchrun: each process takes its slice of the same global batch, and
        # DistributedDataParallel averages the gradients, so N processes follow 1 process's curve.
        self.rank, self.world = 0, 1
        self.forward = model
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            self.rank, self.world = torch.distributed.get_rank(), torch.distributed.get_world_size()
            if cfg.batch_size % self.world:
                raise ValueError(f"the batch of {cfg.batch_size} does not split over {self.world} processes")
            self.forward = torch.nn.parallel.DistributedDataParallel(model)

    # -- batches -------------------------------------------------------------------------------
    def _batch(self, data, step: int, micro: int, gen_offset: int = 0, shard: bool = True):
        """The global batch of (step, micro) — the same on every process — and this process's rows."""
        gen = torch.Generator().manual_seed(self.cfg.seed * 1_000_003 + step * 101 + micro + gen_offset)
        block = self.model.config.max_seq_len
        if self.cfg.task == "qa":
            pad = self.tok.token_to_id(SPECIALS[1])
            idx = torch.randint(0, len(data), (self.cfg.batch_size,), generator=gen).tolist()
            x, y, w = qa_batch([data[i] for i in idx], pad)
        else:
            (x, y), w = get_batch(data, block, self.cfg.batch_size, gen), None
        if shard and self.world > 1:
            n = self.cfg.batch_size // self.world
            rows = slice(self.rank * n, (self.rank + 1) * n)
            x, y, w = x[rows], y[rows], (w[rows] if w is not None else None)
        return x, y, w

    @torch.no_grad()
    def evaluate(self) -> float:
        """Validation loss, each prediction made from the tokens before it only (as when writing):
        a model that could see ahead in training (the tutorial's unmasked encoder) says so with
        `prefix_logits`; for a causal model its forward pass already is that."""
        self.model.eval()
        predict = getattr(self.model, "prefix_logits", self.model)
        losses = []
        for i in range(self.cfg.eval_iters):
            x, y, w = self._batch(self.val_data, 0, i, gen_offset=7_777_777, shard=False)
            losses.append(float(masked_loss(predict(x), y, w)))
        self.model.train()
        return sum(losses) / len(losses)

    @torch.no_grad()
    def sample(self, prompt: str = "\n", n: int = 80, temperature: float = 0.8) -> str:
        self.model.eval()
        ids = self.tok.encode(prompt).ids or [self.tok.token_to_id(SPECIALS[0])]
        gen = torch.Generator().manual_seed(self.cfg.seed)
        x = torch.tensor([ids])
        block = self.model.config.max_seq_len
        for _ in range(n):
            logits = self.model(x[:, -block:])[0, -1].float() / temperature
            nxt = torch.multinomial(torch.softmax(logits, -1), 1, generator=gen)
            x = torch.cat([x, nxt.view(1, 1)], 1)
        self.model.train()
        return self.tok.decode(x[0, len(ids):].tolist())

    # -- the loop --------------------------------------------------------------------------------
    def run(self, on_step: Callable[[StepEvent], None] | None = None) -> Iterator[StepEvent]:
        cfg, model = self.cfg, self.model
        model.train()
        block = model.config.max_seq_len
        t_last, tokens = time.perf_counter(), 0
        while self.state.step < cfg.steps and not self.stop.is_set():
            if not self.running.is_set():
                if self.on_pause:
                    self.on_pause(self.state.step)
                self.running.wait()  # paused: blocks until resumed (or stopped)
            if self.stop.is_set():
                break
            step = self.state.step
            lr = cfg.lr_at(step)
            for g in self.opt.param_groups:
                g["lr"] = lr
            self.opt.zero_grad(set_to_none=True)
            total = 0.0
            for micro in range(cfg.grad_accum):
                torch.manual_seed(cfg.seed + step * 7919 + micro)  # dropout, reproducible on resume
                x, y, w = self._batch(self.train_data, step, micro)
                loss = masked_loss(self.forward(x), y, w) / cfg.grad_accum
                loss.backward()
                total += float(loss.detach())
                tokens += x.numel() * self.world
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            self.opt.step()
            if self.world > 1:  # report the global batch's loss
                t = torch.tensor([total])
                torch.distributed.all_reduce(t)
                total = float(t) / self.world
            self.state.step += 1
            now = time.perf_counter()
            tps = tokens / max(now - t_last, 1e-9)
            ev = StepEvent(step + 1, total, lr, tps, (cfg.steps - step - 1) * cfg.batch_size * cfg.grad_accum * block / max(tps, 1e-9))
            t_last, tokens = now, 0
            last = step + 1 == cfg.steps
            if cfg.eval_every and ((step + 1) % cfg.eval_every == 0 or last):  # 0 turns it off
                ev.val_loss = self.evaluate()
                ev.val_ppl = math.exp(min(ev.val_loss, 700))
            if cfg.sample_every and (step + 1) % cfg.sample_every == 0 and cfg.task == "pretrain":
                ev.sample = self.sample()
            self.state.history.append({k: v for k, v in asdict(ev).items() if v is not None and k != "sample"})
            if cfg.ckpt_every and ((step + 1) % cfg.ckpt_every == 0 or last) and self.rank == 0:
                ev.checkpoint = str(self.save())
            if on_step:
                on_step(ev)
            yield ev

    def pause(self) -> None:
        self.running.clear()

    def resume_running(self) -> None:
        self.running.set()

    def request_stop(self) -> None:
        self.stop.set()
        self.running.set()

    # -- checkpoints --------------------------------------------------------------------------------
    def save(self, path: Path | None = None) -> Path:
        return save_checkpoint(path or self.out, self.model, self.tok, self.cfg, self.state, self.opt)

    def resume(self, path: str | Path) -> None:
        """Continue from a checkpoint of this run: weights, optimizer moments, step, history."""
        path = Path(path)
        self.model.load_state_dict(_load_weights(path, self.model), strict=True)
        meta = json.loads((path / "trainer_state.json").read_text())
        self.state = TrainState(meta["step"], meta.get("history", []))
        opt_tensors = load_file(str(path / "optimizer.safetensors"))
        sd = self.opt.state_dict()
        params = [p for g in sd["param_groups"] for p in g["params"]]
        sd["state"] = {}
        for pid in params:
            if f"{pid}.exp_avg" in opt_tensors:
                sd["state"][pid] = {"step": opt_tensors[f"{pid}.step"], "exp_avg": opt_tensors[f"{pid}.exp_avg"],
                                    "exp_avg_sq": opt_tensors[f"{pid}.exp_avg_sq"]}
        self.opt.load_state_dict(sd)


def _load_weights(path: Path, model: Transformer) -> dict:
    sd = load_file(str(path / "model.safetensors"))
    if model.config.tie_embeddings:
        sd["output.weight"] = sd["tok_embeddings.weight"]
    return sd


def save_checkpoint(path: str | Path, model: Transformer, tok: Tokenizer, cfg: TrainConfig | None = None,
                    state: TrainState | None = None, opt: torch.optim.Optimizer | None = None) -> Path:
    """Write a Playground checkpoint folder atomically: everything goes to a temporary folder
    beside it, which then replaces the old one; a crash leaves the previous checkpoint whole.
    The folder loads in the chat like any model (config.json names it a Playground model)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    sd = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    if model.config.tie_embeddings:
        sd.pop("output.weight", None)  # shared with the embedding; safetensors stores it once
    save_file(sd, str(tmp / "model.safetensors"))
    (tmp / "config.json").write_text(json.dumps({"playground": model.config.to_dict(),
                                                 "training": asdict(cfg) if cfg else {}}, indent=1))
    tok.save(str(tmp / "tokenizer.json"))
    (tmp / "tokenizer_config.json").write_text(json.dumps({
        "bos_token": SPECIALS[0], "eos_token": SPECIALS[0], "add_bos_token": False,
        "chat_template": QA_CHAT_TEMPLATE, "qa_template": QA_TEMPLATE}, indent=1))
    if state is not None:
        (tmp / "trainer_state.json").write_text(json.dumps({"step": state.step, "history": state.history}))
    if opt is not None:
        tensors = {}
        for pid, st in opt.state_dict()["state"].items():
            for k, v in st.items():
                tensors[f"{pid}.{k}"] = v.detach().contiguous().cpu() if torch.is_tensor(v) else torch.tensor(v)
        save_file(tensors, str(tmp / "optimizer.safetensors"))
    for f in tmp.iterdir():
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())
    old = path.parent / f".{path.name}.old-{os.getpid()}"
    if path.exists():
        os.replace(path, old)
    os.replace(tmp, path)
    shutil.rmtree(old, ignore_errors=True)
    return path


def build(cfg: ModelConfig, seed: int = 1337) -> Transformer:
    model = Transformer(cfg)
    model.init_weights(seed)
    if cfg.tie_embeddings:
        model.output.weight = model.tok_embeddings.weight
    return model
