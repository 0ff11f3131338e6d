"""The studio's "score a sentence" box: the loss and perplexity of one sentence under a checkpoint,
computed with the studio's own training code (lesson 4 checks its hand-made numbers against it)."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout


class SentenceScore(QGroupBox):
    def __init__(self):
        super().__init__()
        self.setTitle(self.tr("4. Score a sentence"))
        lay = QVBoxLayout(self)
        row = QHBoxLayout()
        self.text = QLineEdit("To be, or not to be: that is the question.")
        self.text.setObjectName("studioScoreText")
        self.text.setToolTip(self.tr("The cross-entropy loss of this text under the checkpoint: the mean of "
                                     "−log p over its tokens, each predicted from the ones before it"))
        self.button = QPushButton(self.tr("Score"))
        self.button.setObjectName("studioScoreButton")
        row.addWidget(self.text, 1)
        row.addWidget(self.button)
        lay.addLayout(row)
        self.result = QLabel()
        self.result.setObjectName("studioScoreResult")
        self.result.setWordWrap(True)
        lay.addWidget(self.result)

    def busy(self, checkpoint: str) -> None:
        self.button.setEnabled(False)
        self.result.setText(self.tr("Scoring under %1…").replace("%1", html.escape(checkpoint)))

    def show_message(self, text: str) -> None:
        self.button.setEnabled(True)
        self.result.setText(text)

    def show_result(self, r: dict) -> None:
        from pathlib import Path

        self.button.setEnabled(True)
        self.result.setText(self.tr("%1 tokens predicted · loss %2 nats per token · perplexity %3 (under %4)")
                            .replace("%1", str(r["tokens"])).replace("%2", f"{r['loss']:.4f}")
                            .replace("%3", f"{r['perplexity']:.2f}")
                            .replace("%4", html.escape(Path(r["checkpoint"]).name)))
