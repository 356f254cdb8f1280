from schoolbridge.conversations import wordfilter
from schoolbridge.conversations.wordfilter import Hit, check, merge, worst


def test_latin_words_match_on_word_boundaries_case_insensitively():
    hits = check("You IDIOT, this class is stupid.", {"idiot": "warn", "ass": "block", "stupid": "warn"})
    assert hits == [Hit("idiot", "warn", 4, 9), Hit("stupid", "warn", 25, 31)]
    assert worst(hits) == "warn"


def test_cjk_words_match_anywhere_and_block_wins():
    hits = check("老师您好，给您包个红包，别像个傻逼一样", wordfilter.DEFAULT_LEXICON)
    assert [(h.word, h.level) for h in hits] == [("红包", "warn"), ("傻逼", "block")]
    assert worst(hits) == "block"


def test_full_width_letters_are_folded():
    assert [h.word for h in check("ＳＨＩＴ happens")] == ["shit"]


def test_phrases_match_across_any_whitespace():
    assert [h.word for h in check("I will kill   you")] == ["kill you"]


def test_clean_text_has_no_hits():
    assert check("明天的作业是什么？ What is tomorrow's homework?") == []
    assert worst([]) is None


def test_merge_extends_overrides_and_removes():
    lexicon = merge(
        {"idiot": "warn", "红包": "warn"}, [("Idiot", "block"), ("红包", None), ("补课费", "warn")]
    )
    assert lexicon == {"idiot": "block", "补课费": "warn"}
    assert check("补课费多少", lexicon)[0].level == "warn"
