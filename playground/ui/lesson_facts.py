"""What a lesson can ask about the live app: its facts.

Each fact reads what the window shows now (the draft's tokens, the attention row on screen, the
comparison's first differing token, the studio's runs…) and raises `FactMissing` while there is
nothing to read yet. Facts about something the student must do ("a reply finished", "a run with
the mask on") count only what happened since the step (or the lesson) began, so doing nothing
never passes a task. Torch never runs here: numbers come from what the workers sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..lessons import FactMissing

if TYPE_CHECKING:
    from .lesson_runner import LessonRunner

TUTORIAL_ARCH = "tutorial-encoder"  # training/tutorial_model.ARCH (the GUI does not import the model code)
SCORE_MATCH_NATS = 1e-3  # the studio's loss and the lesson's mean surprisal agree to this


class LessonFacts:
    def __init__(self, runner: LessonRunner):
        self.runner = runner
        self.win = win = runner.win
        self.score = None  # TextScore of the last `score` action
        self.studio_score: dict | None = None  # the studio's loss of a sentence, since the step began
        self.attention_row: int | None = None  # the row the lesson (or the student) showed
        self.lens_from_lesson: int | None = None  # the token index the lesson's own lens was at
        self.comparison = None  # the latest A/B comparison
        self.runs: list[dict] = []  # studio runs finished since the lesson began
        self.evaluations: list[dict] = []  # studio evaluations shown since the lesson began
        self.revealed: set[str] = set()  # facts whose check has passed (panels may show them now)
        self._studios: set[int] = set()
        self._compares: set[int] = set()
        self.reset_step()
        win.replyFinished.connect(self._on_reply)
        win.lensShown.connect(self._on_lens)

    # -- bookkeeping -------------------------------------------------------------------------------------
    def reset_lesson(self) -> None:
        self.runs, self.evaluations, self.revealed = [], [], set()
        self.score = self.comparison = None
        self.attention_row = self.lens_from_lesson = None

    def reset_step(self) -> None:
        self.replies_done = 0
        self.rows_shown = 0
        self.lens_seen: list[tuple[int, int]] = []
        self.compares_done = 0
        self.studio_score = None
        self.lens_rows = getattr(self, "lens_rows", None)

    def passed(self, step) -> None:
        if step.check is not None and step.check.fact:
            self.revealed.add(step.check.fact)

    def _on_reply(self, reply) -> None:
        self.replies_done += 1

    def _on_lens(self, rows) -> None:
        self.lens_rows = rows
        reply, index = self.win.inspect_ctl.inspected
        self.lens_seen.append((reply.id if reply is not None else 0, index))

    def on_row_shown(self, row: int) -> None:
        self.rows_shown += 1
        self.attention_row = row

    def watch_attention(self, view) -> None:
        if not getattr(self, "_attention_watched", False):
            self._attention_watched = True
            view.rowShown.connect(self.on_row_shown)

    def watch_compare(self, cw) -> None:
        if id(cw) not in self._compares:
            self._compares.add(id(cw))
            cw.comparisonFinished.connect(self._on_compared)

    def _on_compared(self, comparison) -> None:
        self.comparison = comparison
        self.compares_done += 1

    def watch_studio(self, studio) -> None:
        if id(studio) not in self._studios:
            self._studios.add(id(studio))
            studio.runRecorded.connect(self.runs.append)
            studio.evaluationShown.connect(self.evaluations.append)
            studio.sentenceScored.connect(self._on_studio_score)

    def _on_studio_score(self, result: dict) -> None:
        self.studio_score = result

    # -- helpers ---------------------------------------------------------------------------------------------
    def _tokenizer(self):
        m = self.win.model
        if m is None or m.tokenizer is None:
            raise FactMissing("no model is loaded")
        return m.tokenizer

    def draft(self) -> str:
        return self.win.input.toPlainText()

    def draft_ids(self) -> list[int]:
        text = self.draft()
        if not text.strip():
            raise FactMissing("the message box is empty")
        return self._tokenizer().encode(text)

    def draft_prompt_ids(self) -> list[int]:
        """What the model would read if the draft were sent now (the conversation, then the draft)."""
        msgs = self.win.session.conv.messages_for_model() + [{"role": "user", "content": self.draft()}]
        return self._tokenizer().encode_chat(msgs, add_generation_prompt=True)

    def latest_reply(self):
        for m in reversed(self.win.session.conv.path()):
            if m.role == "assistant" and m.record is not None and m.record.tokens and m.record.finish:
                return m
        return None

    def prompt_last_position(self) -> int | None:
        """The position of the prompt's last token before the latest reply (where it began)."""
        reply = self.latest_reply()
        if reply is None:
            return None
        msgs = self.win.session.conv.messages_for_model(upto=reply)
        return len(self._tokenizer().encode_chat(msgs, add_generation_prompt=True)) - 1

    def attention_row_values(self) -> tuple[list[str], np.ndarray]:
        """The row on screen (the layer and head chosen in the view; their mean for 'mean'):
        (the key tokens' labels, the weights)."""
        ws = self.win.inside
        if not ws.built("attention") or ws.attention.map is None or self.attention_row is None:
            raise FactMissing("no attention row is shown")
        view = ws.attention
        amap, r = view.map, self.attention_row
        if r >= amap.shape[2]:
            raise FactMissing("the row is not in the map")
        w = amap.weights
        layer, head = view.layer.value(), view.head.value()
        w = w.mean(0, dtype=np.float32) if layer < 0 else w[layer].astype(np.float32)
        w = w.mean(0) if head < 0 else w[head]
        return list(amap.labels[: r + 1]), np.asarray(w[r, : r + 1], dtype=np.float64)

    def _runs(self, kind: str = "pretrain", arch: str | None = None, **switches) -> list[dict]:
        out = []
        for run in self.runs:
            if run.get("kind") != kind or run.get("reason") != "done":
                continue
            if arch is not None and (run.get("arch") == TUTORIAL_ARCH) != (arch == TUTORIAL_ARCH):
                continue
            if all(bool(run.get(k)) == v for k, v in switches.items()):
                out.append(run)
        return out

    def _tutorial(self, causal: bool, positions: bool) -> dict:
        runs = self._runs(arch=TUTORIAL_ARCH, causal=causal, positions=positions)
        if not runs or runs[-1].get("val_loss") is None:
            raise FactMissing("no such run yet")
        return runs[-1]

    def _evaluation(self, path: str) -> dict:
        for e in reversed(self.evaluations):
            if _same(e.get("checkpoint"), path):
                return e
        raise FactMissing("not evaluated yet")

    # -- the facts -----------------------------------------------------------------------------------------------------
    def get(self, name: str) -> Any:
        fn = getattr(self, f"fact_{name}", None)
        if fn is None:
            raise FactMissing(f"unknown fact {name!r}")
        return fn()

    @classmethod
    def names(cls) -> set[str]:
        return {n[5:] for n in dir(cls) if n.startswith("fact_")}

    def fact_draft_tokens(self) -> int:
        return len(self.draft_ids())

    def fact_draft_first_token_id(self) -> int:
        return self.draft_ids()[0]

    def fact_template_added(self) -> int:
        ids = self.draft_ids()
        prompt = self._tokenizer().encode_chat([{"role": "user", "content": self.draft()}], add_generation_prompt=True)
        return len(prompt) - len(ids)

    def fact_reply_done(self) -> bool:
        return self.replies_done > 0

    def fact_attention_row_shown(self) -> bool:
        return self.rows_shown > 0

    def fact_attention_top_key(self) -> int:
        _, w = self.attention_row_values()
        return int(np.argmax(w))

    def fact_attention_maps_per_token(self) -> int:
        m = self.win.model
        if m is None:
            raise FactMissing("no model is loaded")
        return m.n_layers * m.n_heads

    def fact_lens_rows_agreeing(self) -> int:
        rows = self.lens_rows
        if not rows:
            raise FactMissing("no logit lens is shown")
        final = rows[-1][0][0]
        return sum(1 for r in rows if r and r[0][0] == final)

    def fact_lens_elsewhere(self) -> bool:
        return any(index != self.lens_from_lesson for _, index in self.lens_seen)

    def _score(self):
        if self.score is None:
            raise FactMissing("no sentence has been scored")
        return self.score

    def fact_score_worst(self) -> int:
        s = self._score().surprisal
        return int(max(range(len(s)), key=s.__getitem__)) + 1

    def fact_score_loss(self) -> float:
        return self._score().loss

    def fact_score_perplexity(self) -> float:
        return self._score().perplexity

    def fact_studio_matches_score(self) -> bool:
        s, studio = self._score(), self.studio_score
        if studio is None:
            return False
        return studio.get("tokens") == len(s.surprisal) and abs(studio["loss"] - s.loss) < SCORE_MATCH_NATS

    def fact_model_vocab(self) -> int:
        m = self.win.model
        if m is None:
            raise FactMissing("no model is loaded")
        return m.vocab_size

    def fact_compare_done(self) -> bool:
        return self.compares_done > 0

    def fact_compare_divergence(self) -> int:
        c = self.comparison
        if c is None or c.divergence is None:
            raise FactMissing("the sides have not parted")
        return c.divergence

    def fact_inspect_removed(self) -> int:
        reply, index = self.win.inspect_ctl.inspected
        if reply is None or reply.record is None or index >= len(reply.record.tokens):
            raise FactMissing("no token is inspected")
        rec = reply.record.tokens[index]
        top = {t for t, _ in rec.top}
        return len(top & {t for ids in rec.removed_by.values() for t in ids})

    def fact_tutorial_run_plain(self) -> bool:
        return bool(self._runs(arch=TUTORIAL_ARCH, causal=False, positions=False))

    def fact_tutorial_run_masked(self) -> bool:
        return bool(self._runs(arch=TUTORIAL_ARCH, causal=True, positions=False))

    def fact_tutorial_run_both(self) -> bool:
        return bool(self._runs(arch=TUTORIAL_ARCH, causal=True, positions=True))

    def fact_tutorial_run_cheat(self) -> bool:
        return bool(self._runs(arch=TUTORIAL_ARCH, causal=False, positions=True))

    def fact_mask_lowered_validation(self) -> int:
        """0 ("lower") when the masked run validates better than the one as written, else 1."""
        plain, masked = self._tutorial(False, False), self._tutorial(True, False)
        return 0 if masked["val_loss"] < plain["val_loss"] else 1

    def fact_tutorial_best_validation(self) -> int:
        """Which of the four runs (as written, mask, mask + positions, positions alone) validates best."""
        runs = [self._tutorial(False, False), self._tutorial(True, False), self._tutorial(True, True),
                self._tutorial(False, True)]
        return int(np.argmin([r["val_loss"] for r in runs]))

    def fact_pretrained(self) -> bool:
        return bool(self._runs("pretrain", arch="llama"))

    def fact_finetuned(self) -> bool:
        return bool(self._runs("finetune"))

    def _path(self, kind: str) -> str:
        runs = self._runs(kind, arch="llama") if kind == "pretrain" else self._runs(kind)
        if not runs:
            raise FactMissing(f"no {kind} run yet")
        return runs[-1]["path"]

    def fact_evaluated_pretrained(self) -> bool:
        try:
            self._evaluation(self._path("pretrain"))
        except FactMissing:
            return False
        return True

    def fact_evaluated_finetuned(self) -> bool:
        try:
            self._evaluation(self._path("finetune"))
        except FactMissing:
            return False
        return True

    def fact_finetune_raised_perplexity(self) -> int:
        """0 ("higher") when the fine-tuned checkpoint's perplexity is above the pretrained one's."""
        base = self._evaluation(self._path("pretrain"))["perplexity"]
        tuned = self._evaluation(self._path("finetune"))["perplexity"]
        return 0 if tuned > base else 1

    def fact_teaching_rouge_l(self) -> float:
        from ..paths import resources_dir
        from .lesson_runner import TEACHING_MODEL

        return float(self._evaluation(str(resources_dir() / TEACHING_MODEL))["rougeL"])


def _same(a, b) -> bool:
    from pathlib import Path

    if not a or not b:
        return False
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return a == b

