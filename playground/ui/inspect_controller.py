"""Looking inside from the chat: a clicked token opens in the inspector; from there a branch
(continue with another token), the logit lens at that token, or its row of attention. Attention
maps and lens rows are computed by the engine worker; this only asks and shows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from ..conversation import Message

if TYPE_CHECKING:
    from .main_window import MainWindow


class InspectController(QObject):
    def __init__(self, win: MainWindow):
        super().__init__(win)
        self.win = win
        self.session = win.session
        self.inspected: tuple[Message | None, int] = (None, 0)  # the reply and token index shown
        self._pending_row: int | None = None  # the attention row to show once its map arrives
        self._lens_title = ""
        w = win.engine.worker
        w.attentionReady.connect(self._on_attention)
        w.lensReady.connect(self._on_lens)
        w.inspectFailed.connect(lambda req, msg: win.statusBar().showMessage(f"Could not look inside: {msg}"))
        win.chat.tokenClicked.connect(self.inspect_token)
        inside = win.inside
        inside.token.branchRequested.connect(lambda t: self.branch_from(*self.inspected, t))
        inside.token.lensRequested.connect(self.lens_at_inspected)
        inside.token.attendRequested.connect(self.attend_inspected)
        inside.attention.computeRequested.connect(self.compute_attention)

    def _ready(self) -> bool:
        return self.win.model is not None and not self.session.generating

    def _label(self, token_id: int) -> str:
        m = self.win.model
        return m.tokenizer.label(token_id) if m and m.tokenizer else str(token_id)

    def _prompt_ids(self, upto: Message | None = None) -> list[int]:
        msgs = self.session.conv.messages_for_model(upto=upto)
        return self.win.model.tokenizer.encode_chat(msgs, add_generation_prompt=upto is not None)

    def inspect_token(self, reply: Message, index: int) -> None:
        tokens = reply.record.tokens if reply.record else []
        if not 0 <= index < len(tokens):
            return
        self.inspected = (reply, index)
        inside = self.win.inside
        inside.token.show_token(tokens[index], self._label)
        self.win.inside_dock.raise_()
        inside.setCurrentWidget(inside.token)

    def branch_from(self, reply: Message | None, index: int, token_id: int) -> None:
        """A new version of the reply: cut at token `index`, `token_id` put there, the model goes on."""
        if reply is not None and self._ready():
            self.session.continue_with(reply, index, token_id)

    def lens_at_inspected(self) -> None:
        reply, index = self.inspected
        if reply is None or not self._ready():
            return
        ids = self._prompt_ids(upto=reply) + reply.record.token_ids[:index]
        self._lens_title = f"Logit lens before token {index} of the reply: what each layer predicts next"
        self.win.engine.lens(ids, -1)

    def _on_lens(self, req: int, rows) -> None:
        inside = self.win.inside
        inside.lens.set_rows(rows, self._lens_title)
        inside.setCurrentWidget(inside.lens)
        self.win.inside_dock.raise_()
        self.win.lensShown.emit(rows)

    def compute_attention(self) -> None:
        win = self.win
        if not self._ready() or not self.session.conv.path():
            win.statusBar().showMessage("Attention needs a loaded model and a conversation.")
            return
        ids = self._prompt_ids()
        win.inside.prompt.show_prompt(ids, self._label, win.model.tokenizer.is_special)
        win.statusBar().showMessage(f"Computing attention over {len(ids)} tokens…")
        win.engine.attention(ids)

    def attend_inspected(self) -> None:
        """Show what the inspected token attended to: its row, over the conversation's text."""
        reply, index = self.inspected
        if reply is None or not self._ready():
            return
        prompt = self._prompt_ids(upto=reply)
        ids = prompt + reply.record.token_ids
        self._pending_row = len(prompt) + index
        amap = self.win.inside.attention.map
        if amap is not None and list(amap.token_ids[: len(ids)]) == ids[: len(amap.token_ids)] and \
                self._pending_row < len(amap.token_ids):
            self._show_pending_row()
            return
        self.win.statusBar().showMessage(f"Computing attention over {len(ids)} tokens…")
        self.win.engine.attention(ids)

    def _show_pending_row(self) -> None:
        r, view = self._pending_row, self.win.inside.attention
        if r is not None and view.map is not None and r < view.map.shape[2]:
            view.show_row(r)
            self.win.inside.setCurrentWidget(view)
        self._pending_row = None

    def _on_attention(self, req: int, amap) -> None:
        inside = self.win.inside
        inside.attention.set_map(amap)
        self._show_pending_row()
        inside.setCurrentWidget(inside.attention)
        self.win.inside_dock.raise_()
        L, H, T, _ = amap.shape
        self.win.statusBar().showMessage(f"Attention: {L} layers × {H} heads over {T} tokens.")
        self.win.attentionShown.emit(amap)
