"""The self-checks speak the learner's language: with GANLIB_LANG=zh (what the Chinese notebooks'
kernel sets) the feedback of the checks of notebooks 00-03 and 12 and of 08-11, 14 and 15 is Chinese,
with the run's values filled in; without it, the English is as it always was. Every translated message
of ganlib.po keeps its English's fields and format specs, so no translation can break a check at run
time."""

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


# --- 08-11, 14, 15 (hard_questions) -------------------------------------------------------------
HAND_REAL, HAND_FAKE = torch.tensor([0.0, math.log(3)]), torch.tensor([0.0, -math.log(3)])
HAND_ZH = "real_logits=[0, ln 3], fake_logits=[0, -ln 3]（真实样本上 D = 1/2, 3/4；生成样本上 D = 1/2, 1/4）"


def pairing_losses(r, f):
    return F.softplus(f - r).mean(), F.softplus(r - f).mean()


def pairing_with_the_average_forms_g(r, f):  # RaGAN's generator loss where RpGAN's belongs
    return F.softplus(f - r).mean(), F.softplus(-(f - r.mean())).mean() + F.softplus(r - f.mean()).mean()


def test_a_hard_questions_check_answers_a_wrong_pair_in_chinese(chinese, capsys):
    result = run(exercises.check_pairing_losses, pairing_with_the_average_forms_g, capsys)
    assert not result.passed
    expected = F.softplus(HAND_REAL - HAND_FAKE).mean().item()  # E_i softplus(r_i - f_i) = 1.4979
    got = pairing_with_the_average_forms_g(HAND_REAL, HAND_FAKE)[1].item()
    assert result.message == (f"❌ 还不对：用例「{HAND_ZH}」：pairing_losses 的生成器损失应为 {expected:.4f}，"
                              f"你的结果是 {got:.4f}。提示：这是*平均*形式的生成器损失；请把 logit 两两配对。")


def test_a_hard_questions_check_calls_a_right_answer_right_in_chinese(chinese, capsys):
    result = run(exercises.check_pairing_losses, pairing_losses, capsys)
    assert result.passed
    assert result.message == ("✅ 正确：pairing_losses 等于 RpGAN 的一对损失：每个真实样本的 logit 与一个生成样本的 "
                              "logit 配对，R3GAN 正是以这个损失为基础的。")


def test_a_case_with_a_value_and_a_hint_after_it_are_chinese(chinese, capsys):
    def largest_entry(weight, iterations):
        return weight.abs().max()

    result = run(exercises.check_largest_singular_value, largest_entry, capsys)
    assert not result.passed
    assert result.message.startswith("❌ 还不对：用例「随机的 64 x 64 权重，迭代 200 次（第 1 次试验）」："
                                     "largest_singular_value 应返回 ")
    # the hint follows the sentence with no space between them, as Chinese writes it
    assert "（torch.linalg.matrix_norm(w, ord=2)），你的结果是 " in result.message
    assert result.message.endswith("。提示：这是绝对值最大的元素；请迭代 v <- W^T W v / |W^T W v|，再返回 |W v|。")


def test_a_pair_of_the_wrong_kind_is_named_in_chinese(chinese, capsys):
    result = run(exercises.check_expected_noise_floor, lambda n, k, std, h: torch.zeros(3), capsys)
    assert result.message == ("❌ 还不对：expected_noise_floor 应返回一对值（覆盖模式数的期望，高质量比例的"
                              "期望）；但在用例「圆环：[-1.2, 1.2]^2 上的 2,500 个点，8 个模式，sigma 0.01」"
                              "上返回了形状为 (3,) 的张量。请以 `return first, second` 结尾。")


def test_without_the_variable_a_hard_questions_check_is_english_as_before(english, capsys):
    result = run(exercises.check_pairing_losses, pairing_with_the_average_forms_g, capsys)
    expected = F.softplus(HAND_REAL - HAND_FAKE).mean().item()
    got = pairing_with_the_average_forms_g(HAND_REAL, HAND_FAKE)[1].item()
    assert result.message == (
        "❌ Not yet: on real_logits=[0, ln 3], fake_logits=[0, -ln 3] (D = 1/2, 3/4 on real; 1/2, 1/4 on fake), "
        f"pairing_losses's generator loss should return {expected:.4f}; yours returned {got:.4f}. Hint: that is the "
        "*average* form's generator loss; pair the logits.")
    assert run(exercises.check_pairing_losses, pairing_losses, capsys).message == (
        "✅ Correct: pairing_losses is RpGAN's pair: each real logit against one fake logit, the loss R3GAN builds on.")


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
