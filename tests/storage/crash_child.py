"""Child process for the SIGKILL test: streams a reply from a fake model into the store, with
batched writes on the writer thread, and prints a line after each committed batch. The parent
kills it mid-reply."""

import sys
import threading

from playground.conversation import Conversation
from playground.engine.generate import TokenEvent, generate
from playground.sampling import SamplingParams
from playground.storage import BatchedWriter, Store
from tests.helpers import fake_loaded_model


def main(db_path: str) -> None:
    store = Store(db_path)
    lm = fake_loaded_model("the quick brown fox jumps over the lazy dog " * 5000, max_seq_len=10**6)
    conv = Conversation(system_prompt="be brief")
    user = conv.add("user", "tell me about foxes")
    store.add_message(conv, user)  # committed before generation starts
    reply = conv.add("assistant", "")
    store.add_message(conv, reply)
    print("user-committed", flush=True)
    def on_flush(written) -> None:  # on the writer thread, after a batch is committed
        print(f"flushed {len(written[-1][1])}", flush=True)

    writer = BatchedWriter(store, interval_s=0.05, on_flush=on_flush)
    ids = lm.tokenizer.encode_chat(conv.messages_for_model(upto=reply))
    for ev in generate(lm.model, lm.tokenizer, ids, SamplingParams(temperature=0, max_tokens=100000),
                       threading.Event()):
        if isinstance(ev, TokenEvent):
            reply.text += ev.text
            writer.touch(conv, reply)


if __name__ == "__main__":
    main(sys.argv[1])
