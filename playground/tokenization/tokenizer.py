"""The tokenizer a chat needs: encode, decode, chat prompts, and special tokens kept apart.

Wraps a Hugging Face `tokenizers.Tokenizer`. The one rule that matters for safety: text a user
typed never becomes a special token. A message containing `<|im_end|>` is encoded as the
characters `<`, `|`, `im`, ...; only the chat template itself may emit control tokens. We get
that by rendering the template with a placeholder for each message, then encoding the
template's own text with special tokens recognised and each message with them switched off.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from tokenizers import Tokenizer

from .chat_template import CHATML_TEMPLATE, ChatTemplate

# Placeholders for message contents while the template renders (Unicode private use area).
_OPEN, _CLOSE = "\ue000", "\ue001"


@dataclass
class TextTokenizer:
    tok: Tokenizer
    bos_id: int | None = None
    eos_ids: list[int] = field(default_factory=list)
    add_bos: bool = False
    chat_template: str | None = None
    bos_token: str = ""
    eos_token: str = ""

    def __post_init__(self) -> None:
        # One tokenizer serves both modes: `encode_special_tokens` switched on makes special-token
        # strings plain text. The lock keeps a switch and its encode together across threads.
        self._lock = threading.Lock()
        self.tok.encode_special_tokens = False
        self._template = ChatTemplate(self.chat_template or CHATML_TEMPLATE)
        self._special_ids = {
            t.content and self.tok.token_to_id(t.content) for t in self.tok.get_added_tokens_decoder().values() if t.special
        }
        self._special_ids.discard(None)

    # -- basics -----------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return self.tok.get_vocab_size(with_added_tokens=True)

    def _encode(self, text: str, special: bool) -> list[int]:
        with self._lock:
            self.tok.encode_special_tokens = not special
            try:
                return self.tok.encode(text, add_special_tokens=False).ids
            finally:
                self.tok.encode_special_tokens = False

    def encode(self, text: str, add_bos: bool | None = None, allow_special: bool = False) -> list[int]:
        """Token ids for text. Special-token strings in text stay plain unless allow_special."""
        ids = self._encode(text, special=allow_special)
        if (self.add_bos if add_bos is None else add_bos) and self.bos_id is not None:
            ids.insert(0, self.bos_id)
        return ids

    def decode(self, ids: list[int], skip_special: bool = False) -> str:
        return self.tok.decode(list(ids), skip_special_tokens=skip_special)

    def piece(self, token_id: int) -> str:
        """The token as the vocabulary spells it (e.g. 'Ġthe'), for the teaching views."""
        return self.tok.id_to_token(token_id) or ""

    def label(self, token_id: int) -> str:
        """How a token reads in the teaching views: its text, spaces '·', newlines '↵', tabs '→'."""
        text = self.decode([token_id]) or self.piece(token_id)
        text = text.replace(" ", "·").replace("\n", "↵").replace("\t", "→").replace("\r", "␍")
        # other control characters (a byte-level model can emit any) as visible escapes
        return "".join(c if c.isprintable() or c in "·↵→␍" else f"\\x{ord(c):02x}" for c in text) or "∅"

    def is_special(self, token_id: int) -> bool:
        return token_id in self._special_ids

    # -- chat ------------------------------------------------------------------
    def render_chat(self, messages: list[dict[str, Any]], add_generation_prompt: bool = True) -> str:
        return self._template.render(
            messages, add_generation_prompt=add_generation_prompt, bos_token=self.bos_token, eos_token=self.eos_token
        )

    def encode_chat(self, messages: list[dict[str, Any]], add_generation_prompt: bool = True) -> list[int]:
        """Token ids of the prompt the model's chat template makes of these messages."""
        marked = [dict(m, content=f"{_OPEN}{i}{_CLOSE}") for i, m in enumerate(messages)]
        text = self.render_chat(marked, add_generation_prompt)
        ids: list[int] = []
        pieces: list[str] = []
        rest = text
        while _OPEN in rest:
            head, _, tail = rest.partition(_OPEN)
            index, sep, rest = tail.partition(_CLOSE)
            if not sep or not index.isdigit() or int(index) >= len(messages):
                break
            content = str(messages[int(index)]["content"])
            ids += self._encode(head, special=True)
            ids += self._encode(content, special=False)
            pieces += [head, content]
        else:
            ids += self._encode(rest, special=True)
            # a template may also transform a content without losing its placeholder (Gemma's
            # `| trim`): then the pieces do not add up to what it renders with the real text
            if "".join(pieces) + rest == self.render_chat(messages, add_generation_prompt):
                return ids
        # The template rewrote the contents (sliced, trimmed them): fall back to a plain render,
        # still with user text kept from becoming special tokens where we can.
        return self._encode_rendered(messages, add_generation_prompt)

    def _encode_rendered(self, messages, add_generation_prompt) -> list[int]:
        text = self.render_chat(messages, add_generation_prompt)
        ids: list[int] = []
        pos = 0
        for m in messages:
            content = str(m["content"])
            at = text.find(content, pos) if content else -1
            if at < 0 and content.strip():  # the template trimmed it
                content = content.strip()
                at = text.find(content, pos)
            if at < 0:
                continue
            ids += self._encode(text[pos:at], special=True)
            ids += self._encode(content, special=False)
            pos = at + len(content)
        ids += self._encode(text[pos:], special=True)
        return ids


class IncrementalDecoder:
    """Turns a stream of token ids into text pieces that are always whole UTF-8 characters.

    A character such as an emoji can span several byte-level tokens; decoding token by token
    would print replacement characters. We decode a short window of recent tokens and emit only
    the new text once it no longer ends in an incomplete character (the approach of vLLM/TGI).
    """

    def __init__(self, tokenizer: TextTokenizer, skip_special: bool = True):
        self.tokenizer = tokenizer
        self.skip_special = skip_special
        self.ids: list[int] = []
        self.prefix = 0  # start of the decode window
        self.read = 0  # tokens already turned into emitted text

    def push(self, token_id: int) -> str:
        self.ids.append(token_id)
        dec = self.tokenizer.decode
        prefix_text = dec(self.ids[self.prefix : self.read], self.skip_special)
        full = dec(self.ids[self.prefix :], self.skip_special)
        if full.endswith("\ufffd") or len(full) < len(prefix_text):
            return ""  # wait for the rest of the character
        new = full[len(prefix_text) :]
        self.prefix, self.read = self.read, len(self.ids)
        return new

    def flush(self) -> str:
        """Whatever is left at the end (an incomplete character is shown as U+FFFD)."""
        if self.read == len(self.ids):
            return ""
        dec = self.tokenizer.decode
        prefix_text = dec(self.ids[self.prefix : self.read], self.skip_special)
        full = dec(self.ids[self.prefix :], self.skip_special)
        self.prefix = self.read = len(self.ids)
        return full[len(prefix_text) :]
