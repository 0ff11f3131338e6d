"""The architecture view: the loaded model as a pipeline (embedding → layers → unembedding) with
its sizes; clicking a layer opens its attention."""

from __future__ import annotations

import html

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QTextBrowser

HINT = "The model's architecture appears here once a model is loaded."


class ArchitectureView(QTextBrowser):
    layerClicked = Signal(int)

    def __init__(self):
        super().__init__()
        self.setObjectName("architectureView")
        self.setOpenLinks(False)
        self.setPlaceholderText(HINT)
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
        attn = (f"attention: {info.n_heads} heads ({info.n_kv_heads} key/value heads), "
                f"head size {info.dim // max(info.n_heads, 1)}")
        layers = "".join(
            f'<tr><td><a href="layer:{i}">{"<b>" if i == chosen else ""}layer {i}{"</b> ◀" if i == chosen else ""}'
            f'</a></td><td>{attn}</td><td>MLP</td></tr>' for i in range(info.n_layers))
        self.setHtml(
            f"<h3>{html.escape(info.name)}</h3><p>{info.n_params / 1e6:.1f} M parameters · {info.arch} · "
            f"{html.escape(info.quantization)} · {html.escape(info.backend)}</p>"
            f"<p>tokens → <b>embedding</b> ({info.vocab_size} × {info.dim}) → {info.n_layers} × [attention, MLP] "
            f"→ <b>norm</b> → <b>unembedding</b> ({info.dim} → {info.vocab_size}) → next-token probabilities</p>"
            f"<p>context window: {info.context} tokens. Click a layer to open its attention.</p>"
            f"<table border=1 cellspacing=0 cellpadding=3>{layers}</table>")
