"""The architecture view: the loaded model as a pipeline (embedding → layers → unembedding) with
its sizes; clicking a layer opens its attention."""

from __future__ import annotations

import html

from PySide6.QtCore import QT_TRANSLATE_NOOP, Signal
from PySide6.QtWidgets import QTextBrowser

HINT = QT_TRANSLATE_NOOP("ArchitectureView", "The model's architecture appears here once a model is loaded.")


class ArchitectureView(QTextBrowser):
    layerClicked = Signal(int)

    def __init__(self):
        super().__init__()
        self.setObjectName("architectureView")
        self.setOpenLinks(False)
        self.setPlaceholderText(self.tr(HINT))
        self.anchorClicked.connect(lambda url: self.layerClicked.emit(int(url.toString().split(":")[1])))

    def show_model(self, info) -> None:
        self._info = info
        self._render()

    def highlight_layer(self, layer: int) -> None:
        """Mark the layer chosen in the attention viewer (-1, the mean: none)."""
        self._layer = layer
        if getattr(self, "_info", None) is not None:
            self._render()

    def _render(self) -> None:
        info, chosen = self._info, getattr(self, "_layer", -1)
        attn = self.tr("attention: {heads} heads ({kv} key/value heads), head size {size}").format(
            heads=info.n_heads, kv=info.n_kv_heads, size=info.dim // max(info.n_heads, 1))
        layer = self.tr("layer {n}")
        layers = "".join(
            f'<tr><td><a href="layer:{i}">{"<b>" if i == chosen else ""}{layer.format(n=i)}'
            f'{"</b> ◀" if i == chosen else ""}</a></td><td>{attn}</td><td>MLP</td></tr>' for i in range(info.n_layers))
        head = self.tr("{params:.1f} M parameters").format(params=info.n_params / 1e6)
        flow = self.tr("tokens → <b>embedding</b> ({vocab} × {dim}) → {layers} × [attention, MLP] → <b>norm</b> → "
                       "<b>unembedding</b> ({dim} → {vocab}) → next-token probabilities").format(
            vocab=info.vocab_size, dim=info.dim, layers=info.n_layers)
        context = self.tr("context window: {n} tokens. Click a layer to open its attention.").format(n=info.context)
        self.setHtml(
            f"<h3>{html.escape(info.name)}</h3><p>{head} · {info.arch} · "
            f"{html.escape(info.quantization)} · {html.escape(info.backend)}</p>"
            f"<p>{flow}</p><p>{context}</p>"
            f"<table border=1 cellspacing=0 cellpadding=3>{layers}</table>")
