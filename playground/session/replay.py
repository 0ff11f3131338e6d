"""Replaying a reply: the same model, prompt, seed and parameter timeline give the same tokens.

The session sends a replay to its backend as an ordinary request whose parameters are the reply's
recorded timeline (`ReplyRecord.replay_timeline`); this module says whether a replay can run and
compares what came back with the record, token for token."""

from __future__ import annotations

from dataclasses import dataclass

from ..records import ReplyRecord
from ..texts import translate


@dataclass
class ReplayResult:
    possible: bool
    identical: bool = False
    reason: str = ""  # why a replay cannot run, or where it parted
    tokens: list[int] | None = None
    first_difference: int | None = None

    def describe(self) -> str:
        if not self.possible:
            return translate("Replay", "Cannot replay: {reason}").format(reason=self.reason)
        if self.identical:
            return translate("Replay", "Replayed: all {n} tokens are identical.").format(n=len(self.tokens or []))
        return translate("Replay", "Replayed, but {reason}.").format(reason=self.reason)


def refusal(record: ReplyRecord | None, model_sha256: str | None) -> str:
    """Why this record cannot be replayed with this model ("" when it can)."""
    if record is None or record.seed is None or not record.tokens:
        return "this reply has no token record to replay"
    if len(record.tokens) <= len(record.prefix_ids):
        return "this branch has no generated tokens to replay"
    if any(t.params is None for t in record.tokens[len(record.prefix_ids):]):
        return "this reply has no token record to replay"
    if record.model_sha256 and model_sha256 and record.model_sha256 != model_sha256:
        return (f"it was written by a different model ({record.model or '?'}, sha256 {record.model_sha256[:12]}…); "
                f"load that model to replay it")
    return ""


def compare(record: ReplyRecord, tokens: list[int]) -> ReplayResult:
    """The replayed tokens against the record's sampled ones."""
    want = record.token_ids[len(record.prefix_ids):]
    for i, (a, b) in enumerate(zip(tokens, want)):
        if a != b:
            return ReplayResult(True, False, f"the replay parts from the original at token {i}", tokens, i)
    if len(tokens) != len(want):
        i = min(len(tokens), len(want))
        return ReplayResult(True, False, f"the replay has {len(tokens)} tokens, the original {len(want)}", tokens, i)
    return ReplayResult(True, True, "", tokens)
