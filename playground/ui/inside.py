"""The "Inside the model" workspace: the token inspector, attention, the logit lens, the prompt and
the architecture, as tabs of a main area beside the chat (not a narrow dock), so a click on a
token in the chat drives the views while both stay in sight.

Each view is built the first time it is needed (the attention viewer brings pyqtgraph, which the
window's first frame does without). The workspace re-emits the views' requests as its own
signals, so the controller wires them before any view exists. Everything here draws what the
worker computed; nothing here runs the model.
"""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, Signal
from PySide6.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

TABS = (  # attribute, tab title, one-line hint shown until the view is built
    ("token", QT_TRANSLATE_NOOP("InsideWorkspace", "Token"),
     QT_TRANSLATE_NOOP("InsideWorkspace", "Click a token of a reply (turn on Tokens under it) to see what the model "
                       "chose between.")),
    ("attention", QT_TRANSLATE_NOOP("InsideWorkspace", "Attention"),
     QT_TRANSLATE_NOOP("InsideWorkspace", "Attention over the conversation: press Compute, or open this tab after a "
                       "reply.")),
    ("lens", QT_TRANSLATE_NOOP("InsideWorkspace", "Logit lens"),
     QT_TRANSLATE_NOOP("InsideWorkspace", "What each layer would predict at a token: click a token, then 'Logit lens "
                       "here'.")),
    ("prompt", QT_TRANSLATE_NOOP("InsideWorkspace", "Prompt"),
     QT_TRANSLATE_NOOP("InsideWorkspace", "The exact text the model reads, token by token.")),
    ("architecture", QT_TRANSLATE_NOOP("InsideWorkspace", "Architecture"),
     QT_TRANSLATE_NOOP("InsideWorkspace", "The loaded model's layers and sizes.")),
)


class InsideWorkspace(QTabWidget):
    # the views' requests, re-emitted (wire these; the views may not exist yet)
    branchRequested = Signal(int)  # continue the inspected reply with this token
    lensRequested = Signal()  # the logit lens at the inspected token
    attendRequested = Signal()  # the inspected token's row of attention
    funnelRequested = Signal()  # the inspected token's 50 alternatives, recomputed
    computeRequested = Signal()  # attention over the whole conversation
    viewOpened = Signal(str)  # a tab was brought to the front: "token", "attention", …
    headChosen = Signal(int, int)  # the attention viewer's layer and head (-1: the mean)
    rowPicked = Signal(int)  # a row the user chose in the attention viewer (its query token)

    def __init__(self):
        super().__init__()
        self.setDocumentMode(True)
        self._views: dict[str, QWidget] = {}
        self._pages: dict[str, QWidget] = {}
        self._model_info = None
        for name, title, hint in TABS:
            page = QWidget()
            lay = QVBoxLayout(page)
            lay.setContentsMargins(0, 0, 0, 0)
            placeholder = QLabel(self.tr(hint))
            placeholder.setWordWrap(True)
            placeholder.setObjectName("hint")
            lay.addWidget(placeholder)
            lay.addStretch(1)
            page.placeholder = placeholder
            self._pages[name] = page
            self.addTab(page, self.tr(title))
        self.currentChanged.connect(self._on_tab_changed)

    # -- the views, built on first use -------------------------------------------------------------
    def view(self, name: str) -> QWidget:
        if name not in self._views:
            self._views[name] = widget = getattr(self, f"_make_{name}")()
            page = self._pages[name]
            page.placeholder.setVisible(False)
            lay = page.layout()
            lay.takeAt(lay.count() - 1)  # the stretch under the placeholder
            lay.addWidget(widget, 1)
        return self._views[name]

    def built(self, name: str) -> bool:
        return name in self._views

    @property
    def token(self):
        return self.view("token")

    @property
    def attention(self):
        return self.view("attention")

    @property
    def lens(self):
        return self.view("lens")

    @property
    def prompt(self):
        return self.view("prompt")

    @property
    def architecture(self):
        return self.view("architecture")

    def _make_token(self):
        from .token_inspector import TokenInspector

        v = TokenInspector()
        v.branchRequested.connect(self.branchRequested)
        v.lensRequested.connect(self.lensRequested)
        v.attendRequested.connect(self.attendRequested)
        v.funnelRequested.connect(self.funnelRequested)
        return v

    def _make_attention(self):
        from .attention_view import AttentionView

        v = AttentionView()
        v.computeRequested.connect(self.computeRequested)
        v.rowPicked.connect(self.rowPicked)
        v.layer.valueChanged.connect(lambda _: self.headChosen.emit(v.layer.value(), v.head.value()))
        v.head.valueChanged.connect(lambda _: self.headChosen.emit(v.layer.value(), v.head.value()))
        return v

    def _make_lens(self):
        from .lens_view import LensView

        return LensView()

    def _make_prompt(self):
        from .prompt_view import PromptView

        return PromptView()

    def _make_architecture(self):
        from .architecture_view import ArchitectureView

        v = ArchitectureView()
        v.layerClicked.connect(self.open_layer)
        if self._model_info is not None:
            v.show_model(self._model_info)
        return v

    # -- showing -----------------------------------------------------------------------------------------
    def show_view(self, name: str) -> QWidget:
        """Bring a tab to the front (building its view) and return the view."""
        v = self.view(name)
        self.setCurrentWidget(self._pages[name])
        return v

    def current(self) -> str:
        """The name of the tab in front."""
        return TABS[self.currentIndex()][0]

    def current_view(self) -> QWidget:
        return self.view(self.current())

    def set_model(self, info) -> None:
        """The loaded model, for the architecture view (now, or when it is first built)."""
        self._model_info = info
        if self.built("architecture"):
            self._views["architecture"].show_model(info)

    def open_layer(self, layer: int) -> None:
        view = self.show_view("attention")
        view.open_layer(layer)

    def _on_tab_changed(self, index: int) -> None:
        if 0 <= index < len(TABS):
            name = TABS[index][0]
            self.view(name)
            self.viewOpened.emit(name)


InsidePanel = InsideWorkspace  # the name the dock had
