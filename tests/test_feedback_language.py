"""The self-checks speak the learner's language: with GANLIB_LANG=zh (what the Chinese notebooks'
kernel sets) the feedback of the checks of notebooks 00-03 and 12 is Chinese, with the run's values
filled in; without it, the English is as it always was. Every translated message of ganlib.po keeps
its English's fields and format specs, so no translation can break a check at run time."""

import math
import string

import pytest
import torch
import torch.nn.functional as F

from ganlib import exercises, translation

HAND_V = math.log(0.5 * 0.75)  # V on the hand case: E[log D(x)] = log(1/2 * 3/4) / 2, and the same for the fakes


def value_function(r, f):
    return F.logsigmoid(r).mean() + F.logsigmoid(-f).mean()


def negated(r, f):
    return -value_function(r, f)


def run(check, fn, capsys):
    result = check(fn)
    assert capsys.readouterr().out.strip() == result.message  # the learner sees exactly the verdict
    return result


@pytest.fixture
def chinese(monkeypatch):
    monkeypatch.setenv("GANLIB_LANG", "zh")


@pytest.fixture
def english(monkeypatch):
    monkeypatch.delenv("GANLIB_LANG", raising=False)


def test_a_wrong_answer_is_answered_in_chinese_with_its_values(chinese, capsys):
    result = run(exercises.check_value_function, negated, capsys)
    assert not result.passed
    assert result.message.startswith("❌ 还不对：用例「real_logits=[0, ln 3], fake_logits=[0, -ln 3]（真实样本上 D = ")
    assert f"value_function 应返回 {HAND_V:.4f}，你的结果是 {-HAND_V:.4f}。" in result.message
    assert "提示：这是 -V，即判别器的损失" in result.message
    for english_words in ("Not yet", "should return", "yours returned", "Hint", "discriminator"):
        assert english_words not in result.message


def test_a_right_answer_is_called_right_in_chinese(chinese, capsys):
    result = run(exercises.check_value_function, value_function, capsys)
    assert result.passed
    assert result.message == "✅ 正确：value_function 在手算验证、随机和极端的 logit 上都与 V(D, G) 一致。"


def test_a_case_description_is_chinese_with_its_trial_number(chinese, capsys):
    def right_on_the_example_only(samples, means, std):
        return torch.tensor(0.4)

    result = run(exercises.check_high_quality_fraction, right_on_the_example_only, capsys)
    assert not result.passed
    assert "用例「6 个随机均值周围的 200 个随机样本（第 1 次试验）」：high_quality_fraction 应返回 " in result.message
    assert result.message.endswith("你的结果是 0.4000。")


def test_the_settings_a_function_changed_are_listed_in_chinese(chinese, capsys):
    def two_changes(fake_logits):
        torch.set_grad_enabled(False)
        torch.set_default_dtype(torch.float64)
        return F.softplus(-fake_logits).mean()

    before = torch.get_default_dtype()
    result = run(exercises.check_non_saturating_loss, two_changes, capsys)
    assert torch.is_grad_enabled() and torch.get_default_dtype() == before  # put back
    assert result.message.startswith("❌ 还不对：你的函数关闭了 autograd（`torch.set_grad_enabled(False)`；")
    assert f"）；还把默认 dtype 从 {before} 改成了 torch.float64（`torch.set_default_dtype`；" in result.message
    assert "检查已经把它们撤销了。" in result.message


def test_an_error_in_the_learners_code_is_reported_in_chinese(chinese, capsys):
    def stub(fake_logits):
        raise NotImplementedError()

    result = run(exercises.check_non_saturating_loss, stub, capsys)
    assert result.message == ("💥 你的 non_saturating_loss 抛出了错误：NotImplementedError: 请把 "
                              "`raise NotImplementedError()` 换成你自己的代码。")


def test_without_the_variable_the_feedback_is_english_as_before(english, capsys):
    result = run(exercises.check_value_function, negated, capsys)
    assert result.message == (
        "❌ Not yet: on real_logits=[0, ln 3], fake_logits=[0, -ln 3] (D = 1/2, 3/4 on real; 1/2, 1/4 on fake), "
        f"value_function should return {HAND_V:.4f}; yours returned {-HAND_V:.4f}. Hint: that is minus V, the "
        "discriminator's loss; V itself is E[log D(x)] + E[log(1 - D(G(z)))].")
    result = run(exercises.check_value_function, value_function, capsys)
    assert result.message == "✅ Correct: value_function matches V(D, G) on hand-checked, random and extreme logits."


def test_a_language_without_catalogs_falls_back_to_english(monkeypatch, capsys):
    monkeypatch.setenv("GANLIB_LANG", "fr")
    assert run(exercises.check_value_function, value_function, capsys).message.startswith("✅ Correct: ")


def _fields(text):
    return sorted((name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(text)
                  if name is not None)


@pytest.mark.parametrize("lang", sorted(translation.LANGUAGES))
def test_every_translation_of_the_checks_keeps_its_fields_and_formats(lang):
    catalog = translation._read(translation.catalog_path(lang, translation.LIBRARY_CATALOG))
    checked = 0
    for message in catalog:
        if message.id and message.string and not message.fuzzy:
            assert _fields(message.string) == _fields(message.id), message.id  # also: no stray brace
            checked += 1
    assert checked > 0
