"""Looking inside from the chat: a clicked token opens in the workspace's inspector; from there a
branch (continue with another token), the logit lens at that token, its row of attention, or its
50 alternatives. The engine worker computes; this asks, and keeps every view current.

Views never go stale: each knows what it shows (the token ids its attention map or lens rows
were computed from, the reply and token inspected). When the conversation, the branch or the
model changes, or a reply ends, the view in front is brought up to date at once (computed again
when that is cheap, with a progress line) and the others when they are next opened; a result
for a request that has been overtaken is dropped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from ..conversation import Message
from .lens_view import recorded_note

if TYPE_CHECKING:
    from .main_window import MainWindow

AUTO_ATTENTION_TOKENS = 1024  # up to this many tokens, opening the Attention tab computes it (about 1 s)


class InspectController(QObject):
    def __init__(self, win: MainWindow):
        super().__init__(win)
        self.win = win
        self.session = win.session
        self.inside = win.inside
        self.inspected: tuple[Message | None, int] = (None, 0)  # the reply and token index shown
        self._chosen = False  # the inspected token was chosen by the user (not the latest reply's first, by default)
        self._fresh = False  # ... since the conversation last changed: the attention may follow it to its reply's map
        self._pending_row: int | None = None  # the attention row to show once its map arrives
        self._lens_title = ""
        self._lens_ids: list[int] | None = None  # what the lens rows shown were computed from
        self._lens_record = None  # the reply's record of the token the lens is for (its recorded p)
        self._requests: dict[str, int] = {}  # kind → the id of the latest request; older answers are dropped
        self._asked: dict[str, list[int]] = {}  # kind → the token ids of that request
        self._attention_key: tuple[str, object] | None = None  # ("conversation", ids) or ("reply", Message)
        self._attention_ids: list[int] = []  # every token id the map shown was asked for (it may show the last ones)
        w = win.engine.worker
        w.attentionReady.connect(self._on_attention)
        w.lensReady.connect(self._on_lens)
        w.funnelReady.connect(self._on_funnel)
        w.inspectFailed.connect(self._on_failed)  # a bound slot: runs here, on the GUI thread
        w.modelLoaded.connect(self._on_model_changed)
        win.chat.tokenClicked.connect(self.inspect_token)
        ws = self.inside
        ws.branchRequested.connect(lambda t: self.branch_from(*self.inspected, t))
        ws.lensRequested.connect(self.lens_at_inspected)
        ws.attendRequested.connect(self.attend_inspected)
        ws.funnelRequested.connect(self.funnel_at_inspected)
        ws.computeRequested.connect(self.compute_attention)
        ws.viewOpened.connect(self.refresh_view)
        ws.headChosen.connect(self._on_head_chosen)
        ws.rowPicked.connect(self._on_row_picked)
        s = self.session
        s.conversation_changed.connect(lambda conv: self._on_conversation_changed())
        s.reply_finished.connect(lambda reply: self._on_conversation_changed())

    # -- state -------------------------------------------------------------------------------------------
    def _ready(self) -> bool:
        return self.win.model is not None and not self.session.generating

    def _label(self, token_id: int) -> str:
        m = self.win.model
        if m is not None and m.tokenizer is not None:
            return m.tokenizer.label(token_id)
        vocab = getattr(m, "vocab", None)  # a remote model: the token texts its server sent
        return vocab.label(token_id) if vocab is not None else str(token_id)

    def _unavailable(self, what: str) -> bool:
        """A remote model has no insides here: say so (status bar and the view) and do nothing."""
        why = self.win.model.unavailable(what) if getattr(self.win.model, "remote", False) else ""
        if why:
            self.win.statusBar().showMessage(why)
        return bool(why)

    def _prompt_ids(self, upto: Message | None = None) -> list[int]:
        msgs = self.session.conv.messages_for_model(upto=upto)
        return self.win.model.tokenizer.encode_chat(msgs, add_generation_prompt=upto is not None)

    def conversation_ids(self) -> list[int]:
        """The token ids of the conversation as shown (the active branch), [] when there is none."""
        if self.win.model is None or not self.session.conv.path():
            return []
        try:
            return self._prompt_ids()
        except ValueError:
            return []

    def _latest_reply(self) -> Message | None:
        for m in reversed(self.session.conv.path()):
            if m.role == "assistant" and m.record is not None and m.record.tokens and m.record.finish:
                return m
        return None

    def _on_path(self, reply: Message | None) -> bool:
        return reply is not None and any(m is reply for m in self.session.conv.path())

    def _ask(self, kind: str, request_id: int, ids: list[int]) -> None:
        self._requests[kind] = request_id
        self._asked[kind] = ids

    def _answer(self, kind: str, request_id: int) -> bool:
        """True when this answer is for the latest request of its kind (then it is consumed)."""
        if self._requests.get(kind) != request_id:
            return False
        del self._requests[kind]
        return True

    # -- keeping the views current -------------------------------------------------------------------------------
    def _on_conversation_changed(self) -> None:
        """The conversation moved on (a reply, another branch or conversation): the attention shows
        it whole again, not the map of a reply whose token was chosen before."""
        self._fresh = False
        self.refresh_open_view()

    def refresh_open_view(self) -> None:
        if self.inside.isVisible():
            self.refresh_view(self.inside.current())

    def refresh_view(self, name: str) -> None:
        """Bring one view up to date with the conversation shown, or make it say what to do."""
        getattr(self, f"_refresh_{name}")()

    def _refresh_token(self) -> None:
        reply, index = self.inspected
        if self._on_path(reply):
            return
        latest = self._latest_reply()
        if latest is not None:
            self.inspect_token(latest, 0, show=False)
        else:
            self.inspected = (None, 0)
            self.win.chat.mark_token(None)
            self.inside.token.clear()

    def _attention_current(self, ids: list[int]) -> bool:
        """Whether the map shown (or being computed) is of the conversation as shown now: the same
        tokens, or a row asked for a reply that is still on the path."""
        key = self._attention_key
        if key is None:
            return False
        kind, what = key
        return what == ids if kind == "conversation" else self._on_path(what)

    def _refresh_attention(self) -> None:
        view = self.inside.attention
        ids = self.conversation_ids()
        if self._chosen_row_missing(ids) and 0 < len(ids) <= AUTO_ATTENTION_TOKENS and self._ready():
            self.attend_inspected()  # the token chosen in the Token tab: the map its row is in
            self._attention_key = ("conversation", ids)  # standing for the conversation: a new reply recomputes
            return
        if ids and self._attention_current(ids) and (view.map is not None or "attention" in self._requests):
            return
        self._attention_key = None
        self._requests.pop("attention", None)
        if not ids:
            view.clear(self.tr("No attention yet: load a model and write to it; the attention of the conversation appears here."))
        elif self.session.generating:
            view.clear(self.tr("The model is writing; the attention over the conversation appears when the reply ends."))
        elif len(ids) <= AUTO_ATTENTION_TOKENS:
            self.compute_attention()
        else:
            view.clear(self.tr('{ids:,} tokens: press Compute for their attention (it takes a few seconds).').format(ids=len(ids)))

    def _refresh_lens(self) -> None:
        view = self.inside.lens
        ids = self._lens_position()
        if ids is None:
            view.clear()
            return
        if ids == self._lens_ids or self._asked.get("lens") == ids and "lens" in self._requests:
            return
        if self.session.generating:
            view.clear(self.tr("The model is writing; the logit lens is computed when the reply ends."))
            return
        self._request_lens(ids, self._lens_title_for())

    def _refresh_prompt(self) -> None:
        ids = self.conversation_ids()
        view = self.inside.prompt
        if ids:
            view.show_prompt(ids, self._label, self.win.model.tokenizer.is_special)
        else:
            view.clear()

    def _refresh_architecture(self) -> None:
        if self.win.model is not None:
            self.inside.set_model(self.win.model)
        if self.inside.built("attention"):
            self.inside.architecture.highlight_layer(self.inside.attention.layer.value())

    def _on_head_chosen(self, layer: int, head: int) -> None:
        if self.inside.built("lens"):
            self.inside.lens.highlight_layer(layer)
        if self.inside.built("architecture"):
            self.inside.architecture.highlight_layer(layer)

    def _on_model_changed(self, info) -> None:
        """Maps and lens rows of another model are not this one's: forget them."""
        self._attention_key, self._lens_ids = None, None
        self._requests.clear()
        if self.inside.built("attention"):
            self.inside.attention.clear()
        if self.inside.built("lens"):
            self.inside.lens.clear()
        self.refresh_open_view()

    # -- the token inspector ------------------------------------------------------------------------------------
    def inspect_token(self, reply: Message, index: int, show: bool = True) -> None:
        tokens = reply.record.tokens if reply.record else []
        if not 0 <= index < len(tokens):
            return
        self.inspected = (reply, index)
        self.win.chat.mark_token(reply, index)  # the reply's Tokens view marks it
        self._chosen = self._fresh = show
        self.inside.token.show_token(tokens[index], self._label)
        self._show_inspected_row()
        if show:
            self.win.show_inside(True)
            self.inside.show_view("token")
        if self.inside.built("lens") and self.inside.current() == "lens":
            self._refresh_lens()

    def branch_from(self, reply: Message | None, index: int, token_id: int) -> None:
        """A new version of the reply: cut at token `index`, `token_id` put there, the model goes on."""
        if self._unavailable("a reply continued from a chosen token"):
            return
        if reply is not None and self._ready():
            self.session.continue_with(reply, index, token_id)

    def funnel_at_inspected(self) -> None:
        reply, index = self.inspected
        if self._unavailable("the logit lens"):
            self.win.inside.setCurrentWidget(self.win.inside.lens)
            return
        if reply is None or not self._ready():
            self.inside.token.funnel_failed(self.tr("Available when a model is loaded and not writing."))
            return
        rec = reply.record
        ids = self._prompt_ids(upto=reply) + rec.token_ids[:index]
        tok = rec.tokens[index]
        self._ask("funnel", self.win.engine.funnel(ids, tok.params, tok.token_id), ids)

    def _on_funnel(self, req: int, funnel) -> None:
        if self._answer("funnel", req):
            self.inside.token.show_funnel(funnel)

    # -- the logit lens -------------------------------------------------------------------------------------------
    def _lens_token(self) -> tuple[Message | None, int]:
        """The reply and token the lens is for: the inspected one, or the latest reply's last."""
        reply, index = self.inspected
        if not self._on_path(reply):
            reply = self._latest_reply()
            index = len(reply.record.tokens) - 1 if reply is not None else 0
        return reply, index

    def _lens_position(self) -> list[int] | None:
        """The tokens before the inspected token (or the latest reply's last one), for the lens."""
        reply, index = self._lens_token()
        if reply is None or self.win.model is None:
            return None
        return self._prompt_ids(upto=reply) + reply.record.token_ids[:index]

    def _lens_title_for(self) -> str:
        reply, index = self.inspected
        if not self._on_path(reply):
            return "Logit lens before the last token of the latest reply: what each layer predicts next"
        return f"Logit lens before token {index} of the reply: what each layer predicts next"

    def lens_at_inspected(self) -> None:
        ids = self._lens_position()
        if ids is None or not self._ready():
            return
        self._request_lens(ids, self._lens_title_for())
        self.inside.show_view("lens")

    def _request_lens(self, ids: list[int], title: str) -> None:
        self._lens_title = title
        reply, index = self._lens_token()
        tokens = reply.record.tokens if reply is not None and reply.record else []
        self._lens_record = tokens[index] if 0 <= index < len(tokens) else None  # what the reply recorded there
        self.inside.lens.set_busy(self.tr("Computing the logit lens over {n} tokens…").format(n=len(ids)))
        self._ask("lens", self.win.engine.lens(ids, -1), ids)

    def _on_lens(self, req: int, rows) -> None:
        if not self._answer("lens", req):
            return
        self._lens_ids = self._asked.get("lens")
        lens = self.inside.lens
        rec = self._lens_record
        note = recorded_note(rows, self._label(rec.token_id), rec.raw_prob) if rec is not None else ""
        lens.set_rows(rows, self._lens_title, note)
        if self.inside.built("attention"):
            lens.highlight_layer(self.inside.attention.layer.value())
        self.win.lensShown.emit(rows)

    # -- attention ------------------------------------------------------------------------------------------------------
    def compute_attention(self) -> None:
        win = self.win
        if self._unavailable("attention"):
            return
        if not self._ready() or not self.session.conv.path():
            win.statusBar().showMessage(self.tr("Attention needs a loaded model and a conversation."))
            return
        ids = self._prompt_ids()
        if self.inside.built("prompt"):
            self.inside.prompt.show_prompt(ids, self._label, win.model.tokenizer.is_special)
        self.inside.attention.set_busy(self.tr('Computing attention over {ids:,} tokens…').format(ids=len(ids)))
        self._attention_key = ("conversation", ids)
        self._ask("attention", win.engine.attention(ids), ids)

    def attend_inspected(self) -> None:
        """Show what the inspected token attended to: its row, over the conversation's text."""
        reply, index = self.inspected
        if self._unavailable("attention"):
            return
        if reply is None or not self._ready():
            return
        prompt = self._prompt_ids(upto=reply)
        ids = prompt + reply.record.token_ids
        self._pending_row = len(prompt) + index
        view = self.inside.show_view("attention")
        amap = view.map
        if amap is not None and list(amap.token_ids[: len(ids)]) == ids[: len(amap.token_ids)] and \
                self._pending_row < len(amap.token_ids):
            self._show_pending_row()
            return
        view.set_busy(self.tr('Computing attention over {ids:,} tokens…').format(ids=len(ids)))
        self._attention_key = ("reply", reply)
        self._ask("attention", self.win.engine.attention(ids), ids)

    def _show_pending_row(self) -> None:
        r, view = self._pending_row, self.inside.attention
        if r is not None and view.map is not None and r < view.map.shape[2]:
            view.show_row(r)
            self.inside.show_view("attention")
        self._pending_row = None

    def _on_attention(self, req: int, amap) -> None:
        if not self._answer("attention", req):
            return  # overtaken: another branch or conversation was asked for since
        self._attention_ids = self._asked.get("attention", [])
        self.inside.attention.set_map(amap)
        if self._pending_row is None:
            self._show_inspected_row()  # the token chosen in the Token tab, if the map has it
        self._show_pending_row()
        L, H, T, _ = amap.shape
        self.win.statusBar().showMessage(self.tr('Attention: {L} layers × {H} heads over {T} tokens.').format(L=L, H=H, T=T))
        self.win.attentionShown.emit(amap)

    # -- the Token tab's token and the attention rows: one choice ----------------------------------------
    def _span_in(self, ids: list[int], reply: Message | None) -> int | None:
        """Where token ids have the reply's tokens as sampled, right after its prompt: the index
        of its first token; None when they are other tokens (another branch, or the reply's
        text read back as other tokens: a word sampled in pieces, a partial character)."""
        if reply is None or reply.record is None or self.win.model is None:
            return None
        try:
            prompt = self._prompt_ids(upto=reply)
        except ValueError:
            return None
        sampled = reply.record.token_ids
        ok = ids[: len(prompt)] == prompt and ids[len(prompt): len(prompt) + len(sampled)] == sampled
        return len(prompt) if ok else None

    def _reply_span(self, reply: Message | None) -> int | None:
        """The row of the reply's first token in the map shown (rows may start after the
        conversation's first token), or None when the map does not have its tokens."""
        amap = self.inside.attention.map if self.inside.built("attention") else None
        start = self._span_in(self._attention_ids, reply) if amap is not None else None
        return None if start is None else start - getattr(amap, "first", 0)

    def _chosen_row_missing(self, ids: list[int]) -> bool:
        """A token was chosen in the Token tab (on the branch shown, since the conversation last
        changed) that neither the map shown nor the conversation's map (ids) would have as a row."""
        reply, index = self.inspected
        if not self._fresh or not self._on_path(reply) or self._reply_span(reply) is not None:
            return False
        if "attention" in self._requests and self._span_in(self._asked.get("attention", []), reply) is not None:
            return False  # a map with its row is on the way
        return self._span_in(ids, reply) is None

    def _show_inspected_row(self) -> None:
        """The token inspected in the Token tab, chosen in the attention view too (its row, its bars)."""
        reply, index = self.inspected
        start = self._reply_span(reply) if self._chosen else None
        view = self.inside.attention if start is not None else None
        if view is not None and 0 <= start + index < view.map.shape[2] and view.row != start + index:
            view.show_row(start + index)

    def _on_row_picked(self, row: int) -> None:
        """A row chosen in the attention view: when it is a token of a reply, the Token tab
        inspects that token (without leaving the attention)."""
        for m in self.session.conv.path():
            if m.role != "assistant" or m.record is None or not m.record.tokens:
                continue
            start = self._reply_span(m)
            if start is not None and start <= row < start + len(m.record.tokens):
                if self.inspected != (m, row - start):
                    self.inspected, self._chosen = (m, row - start), True
                    self.win.chat.mark_token(m, row - start)  # the reply's Tokens view follows
                    self.inside.token.show_token(m.record.tokens[row - start], self._label)
                return

    def _on_failed(self, req: int, message: str) -> None:
        for kind, rid in list(self._requests.items()):
            if rid == req:
                del self._requests[kind]
                if kind == "funnel":
                    self.inside.token.funnel_failed(self.tr('Could not compute: {message}').format(message=message))
                elif kind == "attention":
                    self.inside.attention.clear(self.tr('Could not compute attention: {message}').format(message=message))
                elif kind == "lens":
                    self.inside.lens.clear(self.tr('Could not compute the logit lens: {message}').format(message=message))
        self.win.statusBar().showMessage(self.tr('Could not look inside: {message}').format(message=message))
