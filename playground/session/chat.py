"""`ChatSession`: one conversation's request lifecycle, without Qt or torch.

Send, stop, regenerate, edit-and-branch, continue-with-token and replay all come here; the session
asks its `Backend` for tokens, applies each one to the reply's text and typed `ReplyRecord`, and
saves the conversation through the history store (a streaming reply on the writer thread, at least
every 250 ms). Whoever drives it — the window, the terminal chat, the HTTP server, a lesson —
listens on its hooks:

    reply_started(reply)            a reply was added and its request sent
    token_applied(reply, token)     a TokenRecord was appended to the reply (text and record)
    reply_finished(reply)           it ended: finished, stopped or failed; its record is complete
    replay_finished(reply, result)  a replay came back (ReplayResult)
    notice(text)                    something the user should know (messages left out, a failure)
    store_failed(error)             a history write failed (may come from the writer thread)
    conversation_changed(conv)      another conversation, or another version, is shown

Hooks run on the thread that drives the backend's sink: the GUI thread for the window, the
calling thread for the synchronous local backend.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..conversation import Conversation, Message
from ..records import Finished, ReplyRecord, TokenRecord
from ..sampling_params import SamplingParams
from ..storage import BatchedWriter, Store, StoreError
from ..texts import translate
from .backend import Backend, GenerationRequest
from .compare import Comparison
from .history import History
from .hooks import Hook
from .replay import ReplayResult, compare, refusal


class ChatSession:
    def __init__(self, backend: Backend, store: Store | None = None, save_interval_s: float = 0.25,
                 writer: BatchedWriter | None = None):
        """`writer`: a history writer shared with other sessions on the same store (the server's
        requests share one thread); its owner closes it, not `close()`."""
        self.backend = backend
        self.store = store if store is not None else Store(":memory:")
        self.conv = Conversation()
        self._active: list[_ReplySink] = []  # replies being written, oldest first
        self.reply_started = Hook("(reply): a reply was added and its request sent")
        self.token_applied = Hook("(reply, TokenRecord): a token was appended to the reply")
        self.reply_finished = Hook("(reply): the reply ended; its record is complete")
        self.replay_finished = Hook("(reply, ReplayResult): a replay came back")
        self.notice = Hook("(text): something the user should know")
        self.store_failed = Hook("(StoreError): a history write failed (may come from the writer thread)")
        self.conversation_changed = Hook("(Conversation): another conversation or version is shown")
        self._own_writer = writer is None
        self.writer = writer or BatchedWriter(self.store, interval_s=save_interval_s,
                                              on_error=lambda e: self.store_failed.emit(e))
        self.history = History(self.store, self._write, self.settle)

    # -- state ---------------------------------------------------------------------------------------
    @property
    def generating(self) -> bool:
        return bool(self._active)

    @property
    def pending(self) -> list[Message]:
        """The replies being written now."""
        return [s.reply for s in self._active]

    def saved_params(self) -> SamplingParams | None:
        """The sampling parameters this conversation was last held with (None: never saved, or unreadable)."""
        d = self.conv.meta.get("params")
        if not d:
            return None
        try:
            return SamplingParams.from_dict(d)
        except ValueError:
            return None

    # -- requests --------------------------------------------------------------------------------------
    def send(self, text: str) -> Message | None:
        """Add the user's message (committed before generation starts) and start the reply."""
        text = text.strip()
        if not text or self.generating:
            return None
        if self.backend.model is None:
            self.notice.emit(translate("ChatSession", "Load a model first."))
            return None
        user = self.conv.add("user", text)
        self._write(self.store.add_message, self.conv, user)
        return self.start_reply(self.conv.add("assistant", ""))

    def regenerate(self, reply: Message) -> Message | None:
        """A new version of a reply beside the old one."""
        if self.generating or reply.role != "assistant":
            return None
        return self.start_reply(self.conv.regenerate(reply))

    def edit(self, message: Message, text: str) -> Message | None:
        """A new version of a user message (its old branch is kept), and a reply to it."""
        if self.generating or not text.strip() or message.role != "user":
            return None
        new = self.conv.edit(message, text.strip())
        self._write(self.store.add_message, self.conv, new)
        return self.start_reply(self.conv.add("assistant", "", parent=new))

    def continue_with(self, reply: Message, index: int, token_id: int) -> Message | None:
        """Cut the reply at token `index`, put `token_id` there, and let the model go on: a new
        version of the reply beside the old one, whose record keeps the tokens before the cut and
        marks the chosen one."""
        rec = reply.record
        if self.generating or rec is None or not 0 <= index < len(rec.tokens) or self.backend.model is None:
            return None
        kept = rec.tokens[:index]
        prefix = [t.token_id for t in kept] + [int(token_id)]
        was = rec.tokens[index]
        tok = getattr(self.backend.model, "tokenizer", None)
        if tok is not None:
            before = tok.decode(prefix[:-1], skip_special=True)
            text = tok.decode(prefix, skip_special=True)
        else:  # a backend without a tokenizer here: the kept tokens' own text
            before = "".join(t.text for t in kept)
            text = before
        chosen = TokenRecord(index=index, token_id=int(token_id), text=text[len(before):], prob=1.0,
                             raw_prob=dict(was.top).get(int(token_id), 0.0), entropy=was.entropy, params=was.params,
                             top=list(was.top), top_final=[(int(token_id), 1.0)], elapsed_s=was.elapsed_s,
                             chosen=True)
        new = self.conv.regenerate(reply)
        new.text = text
        new.record = ReplyRecord(tokens=[*kept, chosen], prefix_ids=prefix, branched_at=index)
        return self.start_reply(new, prefix)

    def answer(self, messages: Sequence[dict[str, str]], params: SamplingParams, api_request: str = "",
               title_prefix: str = "", prompt: str | None = None) -> Message:
        """A whole chat given at once (an HTTP request): a new conversation holding these messages
        (a first system message becomes its system prompt), stored, and a reply to them with these
        parameters. `prompt`: raw text to continue without the chat template (a completion; it is
        stored as the user's message). `api_request` marks the reply as an API request's."""
        msgs = list(messages) if prompt is None else [{"role": "user", "content": prompt}]
        system = msgs[0]["content"] if msgs and msgs[0]["role"] == "system" else ""
        conv = Conversation(system_prompt=system)
        for m in msgs[1 if system else 0:]:
            conv.add(m["role"], m["content"])
        conv.title = title_prefix + (conv.title or "(no user message)")
        self.conv = conv
        for m in conv.path():
            self._write(self.store.add_message, conv, m)
        reply = conv.add("assistant", "")
        reply.record = ReplyRecord(api_request=api_request)
        return self.start_reply(reply, params=params, prompt=prompt)

    def start_reply(self, reply: Message, prefix: Sequence[int] = (), params: SamplingParams | None = None,
                    prompt: str | None = None) -> Message:
        """Send the request for an (empty, or branched) assistant message already in the tree.
        `params`: this reply's own parameters (an A/B pair); None reads the live ones per token.
        Several replies may be started at once: a backend serves them in turn."""
        conv = self.conv
        conv.meta["params"] = (params or self.backend.live.get()).to_dict()
        model = self.backend.model
        rec = reply.record = reply.record or ReplyRecord()
        if model is not None:
            conv.meta["model_path"] = model.path
            rec.model, rec.model_path, rec.model_sha256 = model.name, model.path, model.sha256
            rec.template_sha256, rec.backend = model.template_sha256, model.backend
        self._write(self.store.add_message, conv, reply)
        self._write(self.store.update_conversation, conv)
        sink = _ReplySink(self, conv, reply)
        self._active.append(sink)
        self.reply_started.emit(reply)
        request = GenerationRequest(conv.messages_for_model(upto=reply), tuple(prefix), params, prompt)
        handle = self.backend.submit(request, sink)
        if sink in self._active:  # still running (a synchronous backend has finished already)
            sink.handle = handle
        return reply

    def stop(self) -> None:
        """Stop this session's replies (the one being written, and any queued), before their next token."""
        for sink in list(self._active):
            self.backend.stop(sink.handle)

    def replay(self, reply: Message) -> ReplayResult | None:
        """Generate the reply again from its seed and parameter timeline; `replay_finished` says
        whether every token is the same. Returns the result at once when a replay cannot run."""
        if reply.role != "assistant" or self.generating:
            return None
        model = self.backend.model
        why = "No model is loaded." if model is None else refusal(reply.record, model.sha256)
        if why:
            res = ReplayResult(False, reason=why)
            self.replay_finished.emit(reply, res)
            return res
        rec = reply.record
        request = GenerationRequest(self.conv.messages_for_model(upto=reply), tuple(rec.prefix_ids),
                                    rec.replay_timeline())
        self.backend.submit(request, _ReplaySink(self, reply))
        return None

    def compare(self, sides: Sequence[SamplingParams], upto: Message | None = None,
                draft: str = "") -> Comparison | None:
        """A/B decoding: replies to one prefix under each set of parameters, streamed together.
        The prefix is the visible conversation (up to `upto`, a reply: what it answered), then
        `draft` as a new user message if given. Nothing is added to the conversation.
        Returns the comparison ready to run: connect to its hooks, then `start()` it."""
        if self.backend.model is None:
            self.notice.emit(translate("ChatSession", "Load a model first."))
            return None
        if upto is not None and upto.role != "assistant":
            return None
        messages = self.conv.messages_for_model(upto=upto)
        if draft.strip():
            messages.append({"role": "user", "content": draft.strip()})
        if not any(m["role"] == "user" for m in messages):
            self.notice.emit(translate("ChatSession", "Write a message first: the sides answer it."))
            return None
        return Comparison(messages, sides, self.backend)

    # -- the conversation -------------------------------------------------------------------------------
    def switch(self, message: Message, index: int) -> Message | None:
        """Show version `index` (0-based) of a message."""
        if self.generating:
            return None
        chosen = self.conv.switch(message, index)
        self._write(self.store.save_active, self.conv, chosen.parent)
        self.conversation_changed.emit(self.conv)
        return chosen

    def new_conversation(self) -> bool:
        if self.generating:
            return False
        self.conv = Conversation(system_prompt=self.conv.system_prompt)
        self.conversation_changed.emit(self.conv)
        return True

    def open(self, cid: int) -> Conversation | None:
        """Show a stored conversation (None while a reply is written, or when it cannot be read)."""
        if self.generating:
            return None
        self.settle()
        try:
            conv = self.store.load(cid)
        except StoreError as e:
            self.notice.emit(str(e))
            return None
        self.conv = conv
        self.conversation_changed.emit(conv)
        return conv

    def set_system_prompt(self, text: str) -> None:
        self.conv.system_prompt = text
        if self.conv.path():
            self._write(self.store.update_conversation, self.conv)

    def rename(self, cid: int, title: str) -> None:
        self._write(self.store.rename, cid, title)
        if cid == self.conv.meta.get("db_id"):
            self.conv.title = title

    def delete(self, cid: int) -> None:
        """Soft-delete a conversation (undo with `history.undelete`); the one shown is replaced by
        a new chat, after its reply stops."""
        current = cid == self.conv.meta.get("db_id")
        if current and self.generating:
            self.stop()
        self._write(self.store.delete, cid)
        if current and not self.generating:
            self.new_conversation()

    def settle(self) -> None:
        """Write now what the writer thread still holds (before reading the history back)."""
        if self.writer.pending:
            self._write(self.writer.flush)

    def close(self) -> None:
        """Write everything still pending and stop the writer thread (a shared one's owner closes it)."""
        if not self._own_writer:
            return
        try:
            self.writer.close()
        except StoreError as e:
            self.store_failed.emit(e)

    # -- events from the backend (on the driving thread) ---------------------------------------------------
    def _on_started(self, sink: _ReplySink, prompt_tokens: int, dropped: int) -> None:
        sink.reply.record.prompt_tokens = prompt_tokens
        sink.reply.record.dropped_messages = dropped
        if dropped:
            self.notice.emit(translate("ChatSession", "The {n} oldest messages no longer fit the context and were left out.")
                             .format(n=dropped))

    def _on_token(self, sink: _ReplySink, ev: TokenRecord) -> None:
        reply = sink.reply
        reply.text += ev.text
        ev = reply.record.add_token(ev)
        self.writer.touch(sink.conv, reply)
        self.token_applied.emit(reply, ev)

    def _on_finished(self, sink: _ReplySink, fin: Finished) -> None:
        sink.reply.text += fin.tail
        sink.reply.record.finish_with(fin)
        self._end(sink)

    def _on_failed(self, sink: _ReplySink, message: str) -> None:
        sink.reply.record.fail(message)
        self.notice.emit(message)
        self._end(sink)

    def _end(self, sink: _ReplySink) -> None:
        if sink in self._active:
            self._active.remove(sink)
        try:
            self.reply_finished.emit(sink.reply)
        finally:
            self.writer.touch(sink.conv, sink.reply, final=True)

    def _write(self, fn, *args):
        """A history write; on failure `store_failed` says so and the conversation stays in memory."""
        try:
            return fn(*args)
        except StoreError as e:
            self.store_failed.emit(e)
            return None


class _ReplySink:
    """Routes one request's events to the session, tagged with its reply."""

    def __init__(self, session: ChatSession, conv: Conversation, reply: Message):
        self.session, self.conv, self.reply = session, conv, reply
        self.handle: int | None = None  # the backend's id of this request; None: whichever is running

    def started(self, prompt_tokens: int, dropped: int) -> None:
        self.session._on_started(self, prompt_tokens, dropped)

    def token(self, ev: TokenRecord) -> None:
        self.session._on_token(self, ev)

    def finished(self, fin: Finished) -> None:
        self.session._on_finished(self, fin)

    def failed(self, message: str) -> None:
        self.session._on_failed(self, message)


class _ReplaySink:
    """Collects a replay's tokens and compares them with the record when it ends."""

    def __init__(self, session: ChatSession, reply: Message):
        self.session, self.reply, self.tokens = session, reply, []

    def started(self, prompt_tokens: int, dropped: int) -> None:
        pass

    def token(self, ev: TokenRecord) -> None:
        self.tokens.append(ev.token_id)

    def finished(self, fin: Finished) -> None:
        self.session.replay_finished.emit(self.reply, compare(self.reply.record, self.tokens))

    def failed(self, message: str) -> None:
        self.session.replay_finished.emit(self.reply, ReplayResult(False, reason=message))
