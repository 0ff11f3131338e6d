"""The studio: build a model, pretrain it on a corpus, fine-tune it to answer questions,
evaluate it — every step of the tutorial's pipeline in one window, with live curves."""

from __future__ import annotations

import math
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..paths import models_dir
from .plots import EmptyNote, chart, legend_label
from .studio_score import SentenceScore

TUTORIAL_ARCH = "tutorial-encoder"  # training/tutorial_config.ARCH: the tutorial's own model (lesson 6)

LOSS_COLOR, VAL_COLOR, PPL_COLOR = "#1e88e5", "#e53935", "#8e24aa"
METRIC_COLORS = [(QT_TRANSLATE_NOOP("StudioWindow", "exact match"), "#43a047"), ("BLEU", "#1e88e5"), ("ROUGE-L", "#fb8c00")]
METRIC_KEYS = ("exact_match", "bleu", "rougeL")


class StudioWindow(QWidget):
    checkpointReady = Signal(str)  # a finished checkpoint folder: chat with it
    runFinished = Signal(str, str)  # path, reason (after the window has shown it)
    stepShown = Signal(object)  # a StepEvent, once the window has taken it in
    pauseShown = Signal(int)  # the run waits after this many steps, and the window says so
    runRecorded = Signal(dict)  # a finished run: kind, arch, switches, last losses, sample, path, reason
    evaluationShown = Signal(dict)  # a checkpoint's metrics, once in the table
    failedShown = Signal(str)  # a run or an evaluation failed, and the window says so
    sentenceScored = Signal(dict)  # the loss of one sentence under a checkpoint (lesson 4 checks it)

    def __init__(self, training_engine, parent=None):
        super().__init__(parent)
        self.setObjectName("studioWindow")
        self.setWindowTitle(self.tr("Playground studio"))
        self.resize(1200, 760)
        self.engine = training_engine
        self.corpus: list[str] | None = None
        self.last_checkpoint = ""
        self.losses: list[tuple[int, float]] = []
        self.val: list[tuple[int, float]] = []
        self.results: list[dict] = []
        self._run: dict = {}  # what the run now going was started with (for runRecorded)
        self.score_checkpoint = ""  # the checkpoint the score box measures ("": the last one trained)
        self.eval_questions = 100  # held-out questions an evaluation asks (a lesson's test asks fewer)
        self._last_sample = ""
        lay = QHBoxLayout(self)
        self.form_scroll = form = QScrollArea()  # a short window scrolls the form; its rows never squeeze
        form.setWidget(self._build_form())
        form.setWidgetResizable(True)
        form.setFrameShape(QFrame.Shape.NoFrame)
        form.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        form.setMinimumWidth(form.widget().sizeHint().width() + form.verticalScrollBar().sizeHint().width())
        lay.addWidget(form, 0)
        lay.addLayout(self._build_right(), 1)
        self._wire()
        self._update_estimate()
        QShortcut(QKeySequence("Ctrl+W"), self, self.close)  # ⌘W on a Mac (Qt maps Ctrl to Command)

    # -- layout ------------------------------------------------------------------------------------------
    def _build_form(self) -> QWidget:
        box = QWidget()
        v = QVBoxLayout(box)
        data = QGroupBox(self.tr("1. Corpus and tokenizer"))
        f = QFormLayout(data)
        self.corpus_label = QLabel(self.tr("Shakespeare's plays (bundled, 4.8 M characters)"))
        pick = QPushButton(self.tr("Choose files…"))
        pick.clicked.connect(self._pick_corpus)
        f.addRow(self.corpus_label, pick)
        self.tok_kind = QComboBox()
        self.tok_kind.addItems(["bpe", "char"])
        self.tok_kind.setToolTip(self.tr("Byte-level BPE (merges frequent pairs of bytes) or one token per character"))
        f.addRow(self.tr("Tokenizer"), self.tok_kind)
        self.vocab = self._spin(256, 32000, 2048, self.tr("How many tokens BPE learns"))
        f.addRow(self.tr("Vocabulary"), self.vocab)
        self.sample = QLineEdit("To be, or not to be: that is the question.")
        f.addRow(self.tr("Sample sentence"), self.sample)
        self.tokens_view = QLabel(self.tr("(its tokens appear here once the tokenizer is trained)"))
        self.tokens_view.setWordWrap(True)
        f.addRow(self.tokens_view)
        v.addWidget(data)
        model = QGroupBox(self.tr("2. Model"))
        f = QFormLayout(model)
        self.arch = QComboBox()
        self.arch.setObjectName("studioArch")
        self.arch.addItem("llama", "llama")
        self.arch.addItem(self.tr("gpt2"), self.tr("gpt2"))
        self.arch.addItem(self.tr("tutorial encoder"), TUTORIAL_ARCH)
        self.arch.setToolTip(self.tr("llama: RoPE, RMSNorm, SwiGLU. gpt2: learned positions, LayerNorm, GELU. tutorial "
                             "encoder: the tutorial's LanguageModel, nn.TransformerEncoder + Linear, with its two "
                             "missing pieces as switches"))
        f.addRow(self.tr("Architecture"), self.arch)
        switches = QHBoxLayout()
        self.causal = QCheckBox(self.tr("causal mask"))
        self.causal.setObjectName("studioCausal")
        self.causal.setToolTip(self.tr("Each position attends only to itself and the positions before it. The tutorial's "
                               "code has no mask: the model then sees the very token it must predict"))
        self.positions = QCheckBox(self.tr("positional encoding"))
        self.positions.setObjectName("studioPositions")
        self.positions.setToolTip(self.tr("Sines and cosines of the position added to each token's vector. Without them "
                                  "attention sees a bag of tokens, in no order"))
        switches.addWidget(self.causal)
        switches.addWidget(self.positions)
        switches.addStretch(1)
        f.addRow(switches)
        self.layers = self._spin(1, 48, 4, self.tr("Transformer blocks"))
        self.heads = self._spin(1, 32, 4, self.tr("Attention heads per block"))
        self.dim = self._spin(16, 2048, 128, self.tr("Width of the residual stream (d_model)"))
        self.context = self._spin(16, 4096, 128, self.tr("Context length in tokens"))
        self.dropout = QDoubleSpinBox()
        self.dropout.setRange(0, 0.5)
        self.dropout.setSingleStep(0.05)
        self.dropout.setValue(0.1)
        for label, w in ((self.tr("Layers"), self.layers), (self.tr("Heads"), self.heads), (self.tr("Width"), self.dim),
                         (self.tr("Context"), self.context), (self.tr("Dropout"), self.dropout)):
            f.addRow(label, w)
        self.estimate = QLabel()
        self.estimate.setWordWrap(True)
        f.addRow(self.estimate)
        v.addWidget(model)
        train = QGroupBox(self.tr("3. Training"))
        f = QFormLayout(train)
        self.steps = self._spin(1, 1_000_000, 2000, self.tr("Optimizer steps"))
        self.batch = self._spin(1, 512, 16, self.tr("Sequences per step"))
        self.accum = self._spin(1, 64, 1, self.tr("Micro-batches accumulated per step"))
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(5)
        self.lr.setRange(1e-5, 1e-1)
        self.lr.setValue(3e-3)
        self.lr.setToolTip(self.tr("Peak learning rate; warmup, then cosine decay to a tenth of it"))
        for label, w in ((self.tr("Steps"), self.steps), (self.tr("Batch"), self.batch), (self.tr("Accumulation"), self.accum),
                         (self.tr("Learning rate"), self.lr)):
            f.addRow(label, w)
        self.out = QLineEdit(str(models_dir() / "studio-model"))
        f.addRow(self.tr("Checkpoint folder"), self.out)
        self.resume = QCheckBox(self.tr("Resume from the checkpoint in this folder"))
        self.resume.setToolTip(self.tr("After a crash or a stop: continue the same run, on the same curve"))
        f.addRow(self.resume)
        self.qa_path: str | None = None
        self.qa_label = QLabel(self.tr("QA set: the bundled Shakespeare questions"))
        qa_pick = QPushButton(self.tr("QA file…"))
        qa_pick.setToolTip(self.tr("Your own JSONL of {\"question\", \"answer\", \"split\"} lines"))
        qa_pick.clicked.connect(self._pick_qa)
        f.addRow(self.qa_label, qa_pick)
        v.addWidget(train)
        row = QHBoxLayout()
        self.start = QPushButton(self.tr("Pretrain"))
        self.start.setObjectName("studioPretrain")
        self.pause = QPushButton(self.tr("Pause"))
        self.pause.setCheckable(True)
        self.stop = QPushButton(self.tr("Stop"))
        self.finetune = QPushButton(self.tr("Fine-tune for QA"))
        self.finetune.setObjectName("studioFinetune")
        self.finetune.setToolTip(self.tr("From the last checkpoint, on the bundled question-answer set (loss on answers only)"))
        self.evaluate = QPushButton(self.tr("Evaluate"))
        self.evaluate.setObjectName("studioEvaluate")
        self.chat = QPushButton(self.tr("Chat with it"))
        for b in (self.start, self.pause, self.stop, self.finetune, self.evaluate, self.chat):
            row.addWidget(b)
        v.addLayout(row)
        self.scorer = SentenceScore()
        v.addWidget(self.scorer)
        self.score_text = self.scorer.text  # the sentence (a lesson fills it)
        v.addStretch(1)
        return box

    def _build_right(self) -> QVBoxLayout:
        v = QVBoxLayout()
        self.status = QLabel(self.tr("Set up a model and press Pretrain."))
        self.status.setWordWrap(True)
        v.addWidget(self.status)
        v.addWidget(legend_label([(self.tr("training loss"), LOSS_COLOR, "line"), (self.tr("validation loss"), VAL_COLOR, "dot")]))
        self.plot = chart(self.tr("loss (nats per token)"), bottom=self.tr("step"))
        self.plot.setObjectName("studioLoss")
        self.loss_curve = self.plot.plot([], [], pen=pg.mkPen(LOSS_COLOR, width=1))
        self.val_curve = self.plot.plot([], [], pen=pg.mkPen(VAL_COLOR, width=2), symbol="o", symbolSize=5,
                                        symbolBrush=VAL_COLOR, symbolPen=None)
        v.addWidget(self.plot, 3)
        self.ppl_plot = chart(self.tr("validation perplexity: e^loss, how many tokens it hesitates between"),
                              log_y=True, bottom=self.tr("step"))
        self.ppl_plot.setMinimumHeight(150)
        self.ppl_curve = self.ppl_plot.plot([], [], pen=pg.mkPen(PPL_COLOR, width=2), symbol="o", symbolSize=5,
                                            symbolBrush=PPL_COLOR, symbolPen=None)
        v.addWidget(self.ppl_plot, 2)
        # before the first step, words instead of an empty 0–1 grid
        self.loss_note = EmptyNote(self.plot, self.tr("No data yet — press Pretrain to start training."))
        self.ppl_note = EmptyNote(self.ppl_plot, self.tr("No data yet — the validation loss is measured while "
                                                         "training, a few times a run."))
        self.samples = QPlainTextEdit()
        self.samples.setObjectName("studioSamples")
        self.samples.setProperty("pgModelOutput", True)  # the model's text, not translated
        self.samples.setReadOnly(True)
        self.samples.setPlaceholderText(self.tr("Samples from the model appear here as it trains."))
        v.addWidget(self.samples, 1)
        self.metrics_legend = legend_label([(self.tr(name), color, "bar") for name, color in METRIC_COLORS])
        v.addWidget(self.metrics_legend)
        self.chart = chart(self.tr("held-out QA by checkpoint (%)"))
        self.chart.setMinimumHeight(150)
        v.addWidget(self.chart, 2)
        self.table = QTableWidget(0, 8)
        self.table.setObjectName("studioResults")
        self.table.setHorizontalHeaderLabels([self.tr("checkpoint"), self.tr("perplexity"), self.tr("exact match"), "BLEU", "ROUGE-1",
                                              "ROUGE-2", "ROUGE-L", self.tr("QA pairs")])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)  # no sideways scrolling
        v.addWidget(self.table, 1)
        for w in (self.metrics_legend, self.chart, self.table):  # shown with the first evaluation
            w.setVisible(False)
        self.redraw_timer = QTimer(self)  # curves are redrawn at most ten times a second, however fast the steps
        self.redraw_timer.setInterval(100)
        self.redraw_timer.setSingleShot(True)
        self.redraw_timer.timeout.connect(self._draw_curves)
        return v

    def _spin(self, lo, hi, value, tip) -> QSpinBox:
        s = QSpinBox()
        s.setRange(lo, hi)
        s.setValue(value)
        s.setToolTip(tip)
        return s

    def _wire(self) -> None:
        w = self.engine.worker
        w.started.connect(self._on_started)
        w.tokenized.connect(self._on_tokenized)
        w.stepped.connect(self._on_step)
        w.finished.connect(self._on_finished)
        w.evaluated.connect(self._on_evaluated)
        w.paused.connect(self._on_paused)
        w.failed.connect(self._on_failed)
        self.start.clicked.connect(self.start_pretraining)
        # Stop and Pause call the worker's thread-safe controls here, on the GUI thread: a
        # connection to the worker's own methods would queue them behind the run itself
        self.stop.clicked.connect(self._on_stop_clicked)
        self.pause.toggled.connect(self._on_pause_toggled)
        self.finetune.clicked.connect(self.start_finetuning)
        self.evaluate.clicked.connect(lambda: self.evaluate_checkpoint(self.last_checkpoint))
        self.scorer.button.clicked.connect(self.score_sentence)
        w.scored.connect(self._on_scored)
        self.chat.clicked.connect(lambda: self.checkpointReady.emit(self.last_checkpoint))
        for s in (self.vocab, self.layers, self.heads, self.dim, self.context, self.batch, self.accum):
            s.valueChanged.connect(self._update_estimate)
        self.arch.currentIndexChanged.connect(self._on_arch_changed)
        self._on_arch_changed()
        self._set_running(False)

    # -- before training -----------------------------------------------------------------------------
    def arch_name(self) -> str:
        return self.arch.currentData()

    def _hidden(self) -> int:
        """The feed-forward width: 3 × the width for ours, 4 × for the tutorial's encoder (PyTorch's ratio)."""
        return (4 if self.arch_name() == TUTORIAL_ARCH else 3) * self.dim.value()

    def model_spec(self) -> dict:
        spec = {"arch": self.arch_name(), "vocab_size": self.vocab.value(), "dim": self.dim.value(),
                "n_layers": self.layers.value(), "n_heads": self.heads.value(), "hidden_dim": self._hidden(),
                "max_seq_len": self.context.value()}
        if self.arch_name() == TUTORIAL_ARCH:
            spec.update(causal=self.causal.isChecked(), positions=self.positions.isChecked())
        return spec

    def _fit_form(self) -> None:
        """The form asks its scroll area for its whole minimum height (sized by height-for-width, as
        its wrapped labels make it, the column came out a few pixels short and squeezed the spin
        boxes), so a short window scrolls instead."""
        box = self.form_scroll.widget()
        lay = box.layout()
        lay.activate()
        need = lay.totalMinimumSize().height()
        if lay.hasHeightForWidth():
            need = max(need, lay.totalHeightForWidth(max(box.width(), lay.totalMinimumSize().width())))
        box.setMinimumHeight(need)

    def _on_arch_changed(self) -> None:
        tutorial = self.arch_name() == TUTORIAL_ARCH
        for box in (self.causal, self.positions):
            box.setEnabled(tutorial)
            box.setVisible(tutorial)
        self._update_estimate()
        self._fit_form()

    def apply_setup(self, spec: dict) -> None:
        """Set the form from a lesson's description: arch, causal, positions, tokenizer, vocab, layers,
        heads, width, context, steps, batch, lr, corpus (a list of files), out (the checkpoint folder;
        default: one per architecture under the models folder)."""
        if "arch" in spec:
            self.arch.setCurrentIndex(max(0, self.arch.findData(spec["arch"])))
        for key, box in (("causal", self.causal), ("positions", self.positions), ("resume", self.resume)):
            if key in spec:
                box.setChecked(bool(spec[key]))
        if "tokenizer" in spec:
            self.tok_kind.setCurrentIndex(max(0, self.tok_kind.findText(spec["tokenizer"])))
        for key, box in (("vocab", self.vocab), ("layers", self.layers), ("heads", self.heads), ("width", self.dim),
                         ("context", self.context), ("steps", self.steps), ("batch", self.batch)):
            if key in spec:
                box.setValue(int(spec[key]))
        if "lr" in spec:
            self.lr.setValue(float(spec["lr"]))
        if "eval_questions" in spec:
            self.eval_questions = int(spec["eval_questions"])
        if "corpus" in spec:
            self.corpus = list(spec["corpus"]) or None
            self.corpus_label.setText(self.tr("{n} file(s): {name}…").format(n=len(self.corpus),
                                                                            name=Path(self.corpus[0]).name)
                                      if self.corpus else self.tr("Shakespeare's plays (bundled, 4.8 M characters)"))
        self.out.setText(str(spec.get("out") or models_dir() / f"lesson-{self.arch_name()}"))
        self._on_arch_changed()

    def _update_estimate(self) -> bool:
        """Parameter count, training memory and time before starting; False if the shape is invalid."""
        est = self.engine.estimate(self.model_spec(), self.batch.value() * self.accum.value(), self.steps.value())
        if "error" in est:
            self.estimate.setText(f"<span style='color:red'>{est['error']}</span>")
            return False
        self.estimate.setText(self.tr("{params:.2f} M parameters · about {memory_mb:.0f} MB to train · about {step_s:.2f} s a "
                                      "step on a laptop CPU ({minutes:.0f} min for {steps} steps)").format(
            params=est["params"] / 1e6, memory_mb=est["memory_mb"], step_s=est["step_s"], minutes=est["total_min"],
            steps=self.steps.value()))
        return True

    def _pick_qa(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Question-answer pairs"), "", self.tr("JSON lines (*.jsonl)"))
        if path:
            self.qa_path = path
            self.qa_label.setText(self.tr('QA set: {name}').format(name=Path(path).name))

    def _pick_corpus(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, self.tr("Training text"), "", self.tr("Text (*.txt *.md *.jsonl)"))
        if files:
            self.corpus = files
            self.corpus_label.setText(self.tr("{n} file(s): {name}…").format(n=len(files), name=Path(files[0]).name))

    def start_pretraining(self) -> None:
        if not self._update_estimate():
            return
        self.losses.clear()
        self.val.clear()
        self.loss_note.set_empty(True, self.tr("Waiting for the first step…"))
        self._draw_curves()
        self.samples.clear()
        spec = {
            "corpus": self.corpus, "out": self.out.text(), "arch": self.arch_name(), "preset": "tiny",
            "vocab": self.vocab.value(), "tokenizer": self.tok_kind.currentText(),
            "sample_sentence": self.sample.text(),
            "model": {"n_layers": self.layers.value(), "n_heads": self.heads.value(), "dim": self.dim.value(),
                      "max_seq_len": self.context.value(), "hidden_dim": self._hidden(),
                      "dropout": self.dropout.value()},
            "train": self._train_spec(), "resume": self.resume.isChecked(),
        }
        if self.arch_name() == TUTORIAL_ARCH:
            spec["model"].update(causal=self.causal.isChecked(), positions=self.positions.isChecked())
        self._begin_run("pretrain", self.arch_name())
        self.status.setText(self.tr("Training the tokenizer and encoding the corpus…"))
        self._set_running(True)
        self.engine.train(spec)

    def _train_spec(self) -> dict:
        steps = self.steps.value()
        return {"steps": steps, "batch_size": self.batch.value(), "grad_accum": self.accum.value(),
                "lr": self.lr.value(), "min_lr": self.lr.value() / 10, "warmup": min(100, max(1, steps // 10)),
                "eval_every": max(1, min(100, steps // 10)), "eval_iters": 5,
                "sample_every": max(1, min(250, steps // 4)), "ckpt_every": max(1, min(500, steps))}

    def start_finetuning(self) -> None:
        if not self.last_checkpoint:
            self.status.setText(self.tr("Pretrain first: fine-tuning starts from a checkpoint."))
            return
        self.losses.clear()
        self.val.clear()
        self.loss_note.set_empty(True, self.tr("Waiting for the first step…"))
        self._draw_curves()
        spec = {"base": self.last_checkpoint, "out": self.last_checkpoint.rstrip("/") + "-qa", "qa": self.qa_path,
                "train": dict(self._train_spec(), lr=self.lr.value() / 3)}
        self._begin_run("finetune", self._run_arch)
        self.status.setText(self.tr("Fine-tuning on the question-answer set…"))
        self._set_running(True)
        self.engine.finetune(spec)

    def evaluate_checkpoint(self, path: str) -> None:
        """Perplexity on held-out plays and exact match, BLEU, ROUGE on held-out questions."""
        if not path:
            return
        self.status.setText(self.tr('Evaluating {name}…').format(name=Path(path).name))
        self.evaluate.setEnabled(False)
        self.engine.evaluate(path, self.eval_questions)

    def score_sentence(self) -> None:
        """The loss of the sentence in the score box under the last checkpoint (or the one a lesson set)."""
        path = self.score_checkpoint or self.last_checkpoint
        text = self.scorer.text.text()
        if not path or not text.strip():
            self.scorer.show_message("Pretrain a model first (or open a lesson that names one), and write a sentence.")
            return
        self.scorer.busy(Path(path).name)
        self.engine.score_sentence(path, text)

    def _on_scored(self, result: dict) -> None:
        self.scorer.show_result(result)
        self.sentenceScored.emit(result)

    def _begin_run(self, kind: str, arch: str) -> None:
        self._run = {"kind": kind, "arch": arch, "causal": self.causal.isChecked(),
                     "positions": self.positions.isChecked()}
        self._last_sample = ""

    # -- controls ---------------------------------------------------------------------------------------
    def _on_stop_clicked(self) -> None:
        self.engine.worker.stop()
        self.stop.setEnabled(False)
        self.status.setText(self.tr("Stopping after this step…"))

    def _on_pause_toggled(self, on: bool) -> None:
        if on:
            self.engine.worker.pause()
            self.pause.setText(self.tr("Resume"))
            self.status.setText(self.tr("Pausing after this step…"))
        else:
            self.engine.worker.resume()
            self.pause.setText(self.tr("Pause"))

    # -- events -----------------------------------------------------------------------------------------
    def _set_running(self, running: bool) -> None:
        ours = bool(self.last_checkpoint) and self._run_arch != TUTORIAL_ARCH  # the chat loads ours only
        self.start.setEnabled(not running)
        self.finetune.setEnabled(not running and ours)
        self.evaluate.setEnabled(not running and ours)
        self.chat.setEnabled(not running and ours)
        for b in (self.finetune, self.evaluate, self.chat):
            b.setToolTip("" if ours or not self.last_checkpoint else
                         self.tr("The tutorial encoder is for the lesson's experiment: the chat, fine-tuning and "
                         "evaluation take the Llama and GPT-2 models"))
        self.pause.setEnabled(running)
        self.stop.setEnabled(running)
        if not running:
            self.pause.blockSignals(True)
            self.pause.setChecked(False)
            self.pause.blockSignals(False)
            self.pause.setText(self.tr("Pause"))

    def _on_paused(self, step: int) -> None:
        self.status.setText(self.tr('Paused after step {step}. Resume to go on, or Stop to keep this checkpoint.').format(step=step))
        self.pauseShown.emit(step)

    @property
    def _run_arch(self) -> str:
        return self._run.get("arch", "")

    def _on_failed(self, message: str) -> None:
        self._set_running(False)
        self.status.setText(self.tr('Failed: {message}').format(message=message))
        self.scorer.show_message("")
        self.failedShown.emit(message)

    def _on_started(self, info: dict) -> None:
        self._total = info["steps"]
        self.status.setText(self.tr("Training {params:.2f} M parameters → {out}. {summary}").format(
            params=info["params"] / 1e6, out=info["out"], summary=info.get("summary", "")))

    def _on_tokenized(self, pieces: list, ids: list) -> None:
        shown = " ".join(f"[{p.replace(' ', '·')}]<sub>{i}</sub>" for p, i in zip(pieces, ids))
        self.tokens_view.setText(self.tr("{n} tokens: {shown}").format(n=len(ids), shown=shown))
        self._fit_form()

    def _on_step(self, ev) -> None:
        self.losses.append((ev.step, ev.loss))
        if ev.val_loss is not None:
            self.val.append((ev.step, ev.val_loss))
        if not self.redraw_timer.isActive():
            self.redraw_timer.start()
        if ev.sample:
            self._last_sample = ev.sample.strip()
            self.samples.appendPlainText(self.tr("step {step}: {sample}").format(step=ev.step, sample=ev.sample.strip())
                                         + "\n")
        val_ppl = ev.val_ppl or (math.exp(self.val[-1][1]) if self.val else None)
        ppl = self.tr(" · validation perplexity {ppl:.1f}").format(ppl=val_ppl) if val_ppl else ""
        self.status.setText(self.tr("step {step}/{total} · loss {loss:.3f} · lr {lr:.1e} · {tokens_per_s:,.0f} tokens/s · "
                                    "ETA {minutes:.1f} min").format(
            step=ev.step, total=getattr(self, "_total", "?"), loss=ev.loss, lr=ev.lr, tokens_per_s=ev.tokens_per_s,
            minutes=ev.eta_s / 60) + ppl)
        self.stepShown.emit(ev)

    def _draw_curves(self) -> None:
        self.loss_note.set_empty(not self.losses)
        self.ppl_note.set_empty(not self.val)
        if self.losses:
            xs, ys = zip(*self.losses)
            self.loss_curve.setData(list(xs), list(ys))
        else:
            self.loss_curve.setData([], [])
        if self.val:
            vx, vy = zip(*self.val)
            self.val_curve.setData(list(vx), list(vy))
            self.ppl_curve.setData(list(vx), [math.exp(min(v, 50)) for v in vy])
        else:
            self.val_curve.setData([], [])
            self.ppl_curve.setData([], [])

    def _on_finished(self, path: str, reason: str) -> None:
        self.redraw_timer.stop()
        self._draw_curves()
        self.last_checkpoint = path
        self._set_running(False)
        done = self.tr("Stopped") if reason == "stopped" else self.tr("Finished")
        if self._run_arch == TUTORIAL_ARCH:  # its checkpoint is for the lesson's comparison only
            self.status.setText(self.tr("{done}; checkpoint in {path}. The tutorial encoder's runs are compared in "
                                        "the lesson; the chat, fine-tuning and evaluation take Llama and GPT-2 "
                                        "models.").format(done=done, path=path))
        else:
            self.status.setText(self.tr("{done}; checkpoint in {path}. Evaluate it, fine-tune it, or chat with it.")
                                .format(done=done, path=path))
        recent = [loss for _, loss in self.losses[-10:]]
        self.runRecorded.emit({**self._run, "path": path, "reason": reason,
                               "train_loss": sum(recent) / len(recent) if recent else None,
                               "val_loss": self.val[-1][1] if self.val else None, "sample": self._last_sample})
        self.runFinished.emit(path, reason)

    def _on_evaluated(self, r: dict) -> None:
        for w in (self.metrics_legend, self.chart, self.table):
            w.setVisible(True)
        self.results.append(r)
        row = self.table.rowCount()
        self.table.insertRow(row)
        cells = [Path(r["checkpoint"]).name, r["perplexity"], r["exact_match"], r["bleu"], r["rouge1"], r["rouge2"],
                 r["rougeL"], r["qa_pairs"]]
        for c, v in enumerate(cells):
            self.table.setItem(row, c, QTableWidgetItem(str(v)))
        self.chart.clear()
        n = len(self.results)
        for k, (key, (_, color)) in enumerate(zip(METRIC_KEYS, METRIC_COLORS)):
            self.chart.addItem(pg.BarGraphItem(x=[i * 4 + k for i in range(n)], height=[x[key] for x in self.results],
                                               width=0.9, brush=color))
        self.chart.getAxis("bottom").setTicks([[(i * 4 + 1, Path(x["checkpoint"]).name) for i, x in enumerate(self.results)]])
        top = max((x[key] for x in self.results for key in METRIC_KEYS), default=0)
        self.chart.setYRange(0, max(10.0, 1.15 * top), padding=0)  # percentages: never below 0, room above
        self.status.setText(self.tr("Evaluated {name}: perplexity {ppl}, exact match {em}%, ROUGE-L {rouge}").format(
            name=Path(r["checkpoint"]).name, ppl=r["perplexity"], em=r["exact_match"], rouge=r["rougeL"]))
        self.evaluate.setEnabled(bool(self.last_checkpoint) and self._run_arch != TUTORIAL_ARCH
                                 and self.start.isEnabled())
        self.evaluationShown.emit(r)
