"""The studio's worker: pretraining, fine-tuning and evaluation on their own QThread.

Like the chat's worker, it owns what it runs (the trainer, its model and data); the studio
window talks to it through queued signals and three thread-safe controls (pause, resume, stop)
that act between two optimizer steps. The controls are `threading.Event`s the GUI thread sets
directly: a queued slot would wait behind the run it is meant to stop, on this busy thread.
"""

from __future__ import annotations

import threading
import traceback
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from ..model.config import ModelConfig
from ..training.tutorial_config import ARCH as TUTORIAL_ARCH
from ..training.tutorial_config import TutorialConfig

CPU_FLOPS = 40e9  # a laptop core pair's sustained training FLOP/s, for the estimate before the first step


def estimate(model: dict[str, Any], sequences_per_step: int, steps: int) -> dict[str, Any]:
    """Size, memory and time of training a model of this shape (tied embeddings), before any step."""
    try:
        if model.get("arch") == TUTORIAL_ARCH:
            cfg = TutorialConfig(**{k: v for k, v in model.items() if k != "arch"})
        else:
            cfg = ModelConfig(tie_embeddings=True, bias=model.get("arch") == "gpt2", **model)
    except (ValueError, TypeError) as e:
        return {"error": str(e)}
    n = cfg.n_params
    tokens = sequences_per_step * cfg.max_seq_len
    step_s = 6 * n * tokens / CPU_FLOPS  # forward + backward ≈ 6 FLOPs per parameter per token
    return {"params": n, "memory_mb": (n * 16 + tokens * cfg.dim * cfg.n_layers * 40) / 2**20,  # weights,
            "step_s": step_s, "total_min": step_s * steps / 60}  # grads, Adam moments; activations


class TrainingWorker(QObject):
    started = Signal(dict)  # what is being trained: parameters, tokens, checkpoint folder
    tokenized = Signal(list, list)  # a sample sentence's tokens (as text) and ids
    stepped = Signal(object)  # StepEvent
    paused = Signal(int)  # the run is now waiting, after this many steps
    finished = Signal(str, str)  # checkpoint folder, "done" | "stopped"
    evaluated = Signal(dict)  # metrics of a checkpoint
    scored = Signal(dict)  # the loss of one sentence under a checkpoint
    failed = Signal(str)

    def __init__(self):
        super().__init__()
        self.trainer = None
        self.stop_event = threading.Event()  # set: end the run before its next step
        self.running_event = threading.Event()  # cleared: pause before the next step
        self.running_event.set()

    # -- controls, called on the GUI thread (never queued: this thread is busy running) ----------
    def pause(self) -> None:
        self.running_event.clear()

    def resume(self) -> None:
        self.running_event.set()

    def stop(self) -> None:
        self.stop_event.set()
        self.running_event.set()  # a paused run wakes up to stop

    def arm(self) -> None:
        """Before queuing a new run: clear a previous run's stop and pause (on the GUI thread, so a
        Stop pressed while the run is still queued or preparing its data is not lost)."""
        self.stop_event.clear()
        self.running_event.set()

    # -- slots -------------------------------------------------------------------------------------
    @Slot(dict)
    def train(self, spec: dict) -> None:
        from ..training.run import pretrain
        from ..training.trainer import TrainConfig

        try:
            tcfg = TrainConfig(**spec["train"])
            notes: list[str] = []
            trainer = pretrain(spec.get("corpus"), spec["out"], tcfg, spec["arch"], spec.get("preset", "tiny"),
                               spec.get("vocab", 2048), spec.get("tokenizer", "bpe"), spec.get("resume", False),
                               log=notes.append, **spec.get("model", {}))
            self._notes = notes
            sample = spec.get("sample_sentence", "To be, or not to be: that is the question.")
            enc = trainer.tok.encode(sample)
            self.tokenized.emit([trainer.tok.decode([i]) for i in enc.ids], list(enc.ids))
            self._run(trainer, spec["out"])
        except Exception as e:
            traceback.print_exc()
            self.failed.emit(f"{type(e).__name__}: {e}")

    @Slot(dict)
    def finetune(self, spec: dict) -> None:
        from ..training.run import finetune
        from ..training.trainer import TrainConfig

        try:
            notes: list[str] = []
            trainer = finetune(spec["base"], spec["out"], TrainConfig(**spec["train"]), spec.get("qa"),
                               log=notes.append)
            self._notes = notes
            self._run(trainer, spec["out"])
        except Exception as e:
            traceback.print_exc()
            self.failed.emit(f"{type(e).__name__}: {e}")

    @Slot(str, int)
    def evaluate(self, checkpoint: str, max_qa: int = 100) -> None:
        from ..training.run import evaluate

        try:
            self.evaluated.emit(evaluate(checkpoint, max_qa=max_qa, log=lambda *_: None))
        except Exception as e:
            traceback.print_exc()
            self.failed.emit(f"{type(e).__name__}: {e}")

    @Slot(str, str)
    def score_sentence(self, checkpoint: str, text: str) -> None:
        from ..training.run import score_sentence

        try:
            self.scored.emit(score_sentence(checkpoint, text))
        except Exception as e:
            traceback.print_exc()
            self.failed.emit(f"{type(e).__name__}: {e}")

    def _run(self, trainer, out: str) -> None:
        self.trainer = trainer
        trainer.stop, trainer.running = self.stop_event, self.running_event  # the GUI's buttons reach it
        trainer.on_pause = self.paused.emit
        cfg = trainer.model.config
        self.started.emit({"params": cfg.n_params, "out": out, "steps": trainer.cfg.steps,
                           "start_step": trainer.state.step, "summary": "; ".join(getattr(self, "_notes", []))})
        for ev in trainer.run():
            self.stepped.emit(ev)
        reason = "stopped" if trainer.stop.is_set() else "done"
        path = str(trainer.save())
        self.trainer = None
        self.finished.emit(path, reason)


class TrainingClient(QObject):
    trainRequested = Signal(dict)
    finetuneRequested = Signal(dict)
    evaluateRequested = Signal(str, int)
    scoreRequested = Signal(str, str)  # checkpoint, sentence


class TrainingEngine:
    """The training worker on its own thread, wired to a client."""

    def __init__(self):
        self.thread = QThread()
        self.thread.setObjectName("studio")
        self.worker = TrainingWorker()
        self.worker.moveToThread(self.thread)
        self.client = TrainingClient()
        self.client.trainRequested.connect(self.worker.train)
        self.client.finetuneRequested.connect(self.worker.finetune)
        self.client.evaluateRequested.connect(self.worker.evaluate)
        self.client.scoreRequested.connect(self.worker.score_sentence)
        self.thread.start()

    def train(self, spec: dict[str, Any]) -> None:
        self.worker.arm()
        self.client.trainRequested.emit(spec)

    def finetune(self, spec: dict[str, Any]) -> None:
        self.worker.arm()
        self.client.finetuneRequested.emit(spec)

    def evaluate(self, checkpoint: str, max_qa: int = 100) -> None:
        self.client.evaluateRequested.emit(checkpoint, max_qa)

    def score_sentence(self, checkpoint: str, text: str) -> None:
        self.client.scoreRequested.emit(checkpoint, text)

    estimate = staticmethod(estimate)

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        self.worker.stop()
        self.thread.quit()
        return self.thread.wait(timeout_ms)
