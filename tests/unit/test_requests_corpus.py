"""Hold the request reader's figures on the replies corpus (tests/corpus/replies, scored by benchmarks/replies.py).

The held-out quarter is only ever measured; each blind file set (`*-blind*.txt`) is a part of its own, measured
once before it is tuned on. Measured with `python benchmarks/corpora.py --only requests`: tuned 100 % (679/679),
held-out 96.7 % (118/122) of requests carried out exactly, no action on any of the 489 non-requests of the two
parts. The issue asks 95 % on the held-out part, held below. The blind sets tuned on keep what was learnt from
them (blind1 100 %, blind2 97.1 %, blind3 98.6 %, no action on their non-requests).
"""

from __future__ import annotations

from collections import Counter

import pytest

from benchmarks import replies

TUNED_FLOOR = 0.98  # measured 100 %
HELD_OUT_FLOOR = 0.93  # with the requests asked back; measured 96.7 %
TARGET = 0.95  # the issue's; measured 96.7 %


@pytest.fixture(scope="module")
def results() -> list[replies.RequestResult]:
    return replies.request_results(replies.reply_cases())


@pytest.fixture(scope="module")
def scores(results) -> dict[tuple[str, str], replies.RequestScore]:
    return replies.request_scores(results)


def test_the_corpus_is_large_mixed_and_in_four_languages(results) -> None:
    cases = [r.case for r in results]
    assert len(cases) >= 400 and len({c.id for c in cases}) == len(cases)
    per_language = Counter(c.language for c in cases)
    assert set(per_language) == {"fr", "nl", "en", "de"} and min(per_language.values()) >= 80
    assert sum(not c.expected for c in cases) >= len(cases) / 3
    assert {c.why for c in cases if not c.expected} >= {
        "question", "complaint", "negation", "other-sense", "thanks", "out-of-office", "address", "quoted",
        "signature"}


def test_the_split_is_a_fixed_hash_of_the_case_id(results) -> None:
    assert replies.part("fr-r-001") == replies.part("fr-r-001")
    # a blind file is measured whole, whatever its ids; the ids of `*-tune2.txt` were chosen in the tuned part
    split = [r for r in results if r.case.part in ("tuned", "held-out") and not r.case.source.endswith("-tune2.txt")]
    held = sum(r.case.part == "held-out" for r in split) / len(split)
    assert 0.18 < held < 0.32
    assert replies.part("fr-r-001", "fr-blind.txt") == "blind1"
    assert replies.part("fr-r-001", "fr-blind2.txt") == "blind2"
    assert replies.part("fr-r-001", "fr-blind3.txt") == "blind3"
    assert replies.part("fr-r-001", "fr-blind4.txt") == "blind4"
    assert replies.part("fr-r-001", "fr-blind5.txt") == "blind5"


def test_nothing_is_done_for_a_message_that_asks_nothing(scores) -> None:
    for part in ("tuned", "held-out"):
        score = scores[(part, "all")]
        # only the tuned part's failures are named: the held-out ones are counted, never listed to tune on
        assert score.acted_on_others == 0, (part, score.failures if part == "tuned" else score.acted_on_others)


def test_requests_of_the_tuned_part(scores) -> None:
    score = scores[("tuned", "all")]
    assert score.share >= TUNED_FLOOR and score.wrong_actions == 0, score.failures


def test_requests_of_the_held_out_part_stay_at_their_measured_level(scores) -> None:
    score = scores[("held-out", "all")]  # figures only: its failures are not listed, not to tune on them
    assert score.share_with_questions >= HELD_OUT_FLOOR, f"{score.share_with_questions:.1%}"


def test_requests_of_the_held_out_part_reach_the_target(scores) -> None:
    score = scores[("held-out", "all")]  # figures only, as above
    assert score.share >= TARGET and score.acted_on_others == 0, f"{score.share:.1%}"


@pytest.mark.parametrize("part", ["blind1", "blind2", "blind3"])
def test_what_was_learnt_from_a_blind_set_stays_learnt(scores, part: str) -> None:
    score = scores[(part, "all")]
    assert score.share >= TARGET and score.acted_on_others == 0, (part, score.failures)
