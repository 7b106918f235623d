"""Metrics against hand-computed values and scikit-learn."""

from __future__ import annotations

import types

import numpy as np
import pytest
from sklearn import metrics as skm

from rsna_workshop import evaluation
from rsna_workshop.errors import SettingsError


def test_wilson_8_of_10_matches_hand_computation():
    # z = 1.959964; centre = (0.8 + z^2/20) / (1 + z^2/10)
    # half-width = z / (1 + z^2/10) * sqrt(0.016 + z^2/400)
    interval = evaluation.wilson_interval(8, 10)
    assert interval.estimate == 0.8
    assert interval.low == pytest.approx(0.49016, abs=1e-4)
    assert interval.high == pytest.approx(0.94332, abs=1e-4)


def test_wilson_0_of_10_has_zero_lower_bound_and_honest_upper_bound():
    interval = evaluation.wilson_interval(0, 10)
    assert (interval.estimate, interval.low) == (0.0, 0.0)
    assert interval.high == pytest.approx(0.27753, abs=1e-4)  # z^2/10 / (1 + z^2/10)


def test_wilson_10_of_10_mirrors_0_of_10_and_wider_confidence_is_wider():
    full = evaluation.wilson_interval(10, 10)
    assert full.high == 1.0 and full.low == pytest.approx(1 - 0.27753, abs=1e-4)
    narrow, wide = evaluation.wilson_interval(5, 20, 0.80), evaluation.wilson_interval(5, 20, 0.99)
    assert wide.low < narrow.low < 0.25 < narrow.high < wide.high
    assert str(narrow).startswith("25.0% (80% CI") and str(narrow).endswith("; 5/20)")


def test_wilson_rejects_impossible_counts_and_reports_no_cases():
    with pytest.raises(SettingsError, match="successes <= n"):
        evaluation.wilson_interval(11, 10)
    with pytest.raises(SettingsError, match="confidence"):
        evaluation.wilson_interval(1, 10, confidence=95)
    empty = evaluation.wilson_interval(0, 0)
    assert np.isnan(empty.estimate) and str(empty) == "n/a (no cases)"


def test_binary_metrics_counts_and_proportions():
    y_true = [1] * 10 + [0] * 20
    y_score = [0.9] * 8 + [0.2] * 2 + [0.1] * 15 + [0.7] * 5
    m = evaluation.binary_metrics(y_true, y_score)
    assert (m.tp, m.fn, m.tn, m.fp) == (8, 2, 15, 5)
    assert m.sensitivity.estimate == 0.8 and m.specificity.estimate == 0.75
    assert m.ppv.estimate == pytest.approx(8 / 13) and m.npv.estimate == pytest.approx(15 / 17)
    assert m.accuracy == pytest.approx(23 / 30)
    assert m.balanced_accuracy == pytest.approx(0.775)
    assert m.sensitivity.low == pytest.approx(0.49016, abs=1e-4)
    assert m.prevalence == pytest.approx(1 / 3)
    assert m.confusion_matrix.tolist() == [[15, 5], [2, 8]]
    assert m.accuracy == skm.accuracy_score(y_true, np.array(y_score) >= 0.5)
    assert m.balanced_accuracy == skm.balanced_accuracy_score(y_true, np.array(y_score) >= 0.5)


def test_binary_metrics_threshold_is_inclusive_and_accepts_labels_and_predictions():
    m = evaluation.binary_metrics(["bleed", "normal"], [0.5, 0.49], positive="bleed")
    assert (m.tp, m.tn) == (1, 1)
    strict = evaluation.binary_metrics(["bleed", "normal"], [0.5, 0.49], positive="bleed",
                                       threshold=0.51)
    assert (strict.tp, strict.fn) == (0, 1)
    predictions = evaluation.binary_metrics([1, 0, 1], [1, 1, 0])
    assert (predictions.tp, predictions.fp, predictions.fn) == (1, 1, 1)


def test_binary_metrics_explains_mismatched_lengths():
    with pytest.raises(SettingsError, match="one score per case"):
        evaluation.binary_metrics([0, 1, 1], np.ones((3, 2)))


def test_roc_equals_scikit_learn_including_ties():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    scores = np.round(np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0, 1), 1)  # many ties
    curve = evaluation.roc(y, scores)
    fpr, tpr, thresholds = skm.roc_curve(y, scores, drop_intermediate=False)
    np.testing.assert_allclose(curve.fpr, fpr)
    np.testing.assert_allclose(curve.tpr, tpr)
    np.testing.assert_allclose(curve.thresholds[1:], thresholds[1:])
    assert curve.auc == pytest.approx(skm.roc_auc_score(y, scores), abs=1e-12)


def test_roc_needs_both_classes():
    with pytest.raises(SettingsError, match="both classes"):
        evaluation.roc([1, 1, 1], [0.2, 0.3, 0.4])


def test_ppv_at_prevalence_by_bayes_rule():
    assert evaluation.ppv_at_prevalence(0.9, 0.9, 0.5) == pytest.approx(0.9)
    # 1000 scans at 6 %: 60 bleeds, 54 found; 940 without, 94 false alarms.
    ed = evaluation.ED_PREVALENCE
    assert evaluation.ppv_at_prevalence(0.9, 0.9, ed) == pytest.approx(54 / 148)
    assert evaluation.npv_at_prevalence(0.9, 0.9, ed) == pytest.approx(846 / 852)
    np.testing.assert_allclose(evaluation.ppv_at_prevalence(1.0, [0.5, 1.0], 0.1), [0.1 / 0.55, 1])
    with pytest.raises(SettingsError, match="not a percentage"):
        evaluation.ppv_at_prevalence(0.9, 0.9, 6)


def test_confusion_matrix_and_per_class_accuracy_equal_scikit_learn():
    rng = np.random.default_rng(1)
    y_true, y_pred = rng.integers(0, 3, 90), rng.integers(0, 3, 90)
    matrix = evaluation.confusion_matrix(y_true, y_pred, 3)
    np.testing.assert_array_equal(matrix, skm.confusion_matrix(y_true, y_pred, labels=[0, 1, 2]))
    np.testing.assert_allclose(evaluation.per_class_accuracy(matrix),
                               skm.recall_score(y_true, y_pred, average=None))
    assert np.isnan(evaluation.per_class_accuracy(np.array([[0, 0], [1, 2]]))[0])


def test_positive_index_takes_the_declared_class_and_never_guesses():
    assert evaluation.positive_index(("hemorrhage", "normal"), "hemorrhage") == 0
    assert evaluation.positive_index(("normal", "hemorrhage"), 1) == 1
    with pytest.raises(SettingsError, match="No positive class is declared.*positive='SDH'"):
        evaluation.positive_index(("normal", "IPH", "SDH"), None)
    with pytest.raises(SettingsError, match="not one of the classes"):
        evaluation.positive_index(("normal", "hemorrhage"), "bleed")
    with pytest.raises(SettingsError, match="not one of the classes"):
        evaluation.positive_index(("normal", "hemorrhage"), True)


def make_result(**changes):
    history = {"accuracy": [0.5, 0.9], "loss": [0.7, 0.2], "test_accuracy": [0.5, 0.5],
               "test_loss": [0.6, 0.9]}
    fields = dict(
        classes=("hemorrhage", "normal"), positive="hemorrhage", test_labels=[0, 0, 1, 1],
        test_probabilities=[[0.8, 0.2], [0.3, 0.7], [0.1, 0.9], [0.6, 0.4]], history=history,
        train_index=np.arange(10), test_index=np.arange(10, 14), seconds=1.25,
        params={"epochs": 2, "learning_rate": 0.001, "batch_size": 16, "seed": 0},
    )
    return types.SimpleNamespace(**{**fields, **changes})


def test_result_metrics_uses_the_declared_positive_column_and_checks_shapes():
    m = evaluation.result_metrics(make_result())
    assert (m.tp, m.fn, m.tn, m.fp) == (1, 1, 1, 1)
    flipped = evaluation.result_metrics(make_result(positive="normal"), threshold=0.75)
    assert (flipped.tp, flipped.fn, flipped.tn, flipped.fp) == (1, 1, 2, 0)
    with pytest.raises(SettingsError, match=r"expected \(4, 2\)"):
        evaluation.result_arrays(make_result(test_probabilities=[[0.8, 0.2]]))


def test_history_measures_and_report():
    result = make_result()
    assert evaluation.final(result, "accuracy") == 0.9
    assert evaluation.loss_rise(result) == pytest.approx(0.5)  # 0.9 is 50 % above 0.6
    assert evaluation.sensitivity(result) == 0.5
    record = evaluation.report(result)
    assert record["confusion_matrix"] == [[1, 1], [1, 1]] and record["positive"] == "hemorrhage"
    assert record["per_class_accuracy"] == {"hemorrhage": 0.5, "normal": 0.5}
    assert (record["n_train"], record["n_test"], record["train_accuracy"]) == (10, 4, 0.9)
    assert "Trained 2 epochs (batch 16, learning rate 0.001, seed 0) on 10 images in 1.2 s" in (
        evaluation.summary(result))


# ---- comparing two models -------------------------------------------------------------------------


def test_newcombe_interval_matches_the_published_examples():
    # Newcombe, Statistics in Medicine 1998;17:873-890, table II, method 10
    low, high = evaluation.difference_interval(evaluation.wilson_interval(56, 70),
                                               evaluation.wilson_interval(48, 80))
    assert (low, high) == (pytest.approx(0.0524, abs=1e-4), pytest.approx(0.3339, abs=1e-4))
    low, high = evaluation.difference_interval(evaluation.wilson_interval(9, 10),
                                               evaluation.wilson_interval(3, 10))
    assert (low, high) == (pytest.approx(0.1705, abs=1e-4), pytest.approx(0.8090, abs=1e-4))


def test_mcnemar_exact_is_the_two_sided_binomial_tail_of_the_discordant_slices():
    assert evaluation.mcnemar_exact(10, 2) == pytest.approx(2 * (1 + 12 + 66) / 2**12)
    assert evaluation.mcnemar_exact(0, 0) == 1.0 and evaluation.mcnemar_exact(3, 3) == 1.0


def scored(right_a, right_b, ids=None, labels=None):
    """Two results on the same slices whose right/wrong per slice is given (two classes)."""
    labels = np.array(labels if labels is not None else [1] * len(right_a))

    def make(right, test_ids):
        predicted = np.where(right, labels, 1 - labels)
        return make_result(test_labels=labels, test_probabilities=np.eye(2)[predicted] * 0.8 + 0.1,
                           test_ids=test_ids, classes=("normal", "hemorrhage"), positive="hemorrhage")

    ids = ids or [f"s{i}" for i in range(len(right_a))]
    return make(np.array(right_a, bool), ids), make(np.array(right_b, bool), list(ids))


def test_paired_comparison_counts_the_slices_only_one_model_got_right():
    a, b = scored([1] * 40 + [1] * 12 + [0] * 2 + [0] * 6, [1] * 40 + [0] * 12 + [1] * 2 + [0] * 6)
    c = evaluation.compare_results(a, b)
    assert c.paired and (c.a_only, c.b_only) == (12, 2) and c.a.successes == 52 and c.b.successes == 42
    assert c.p_value == pytest.approx(evaluation.mcnemar_exact(12, 2)) and c.verdict == "better"
    assert evaluation.compare_results(b, a).verdict == "worse"


def test_a_few_points_on_a_small_test_set_cannot_be_told_apart():
    a, b = scored([1] * 7 + [0] * 3, [1] * 6 + [0] * 4)  # 70 % against 60 % on 10 slices
    c = evaluation.compare_results(a, b)
    assert c.difference == pytest.approx(0.1) and c.verdict == "cannot tell apart"


def test_different_test_slices_are_compared_unpaired():
    a, _ = scored([1] * 150 + [0] * 5, [1] * 155)
    b, _ = scored([1] * 222 + [0] * 78, [1] * 300, ids=[f"other{i}" for i in range(300)])
    c = evaluation.compare_results(a, b)
    assert not c.paired and c.a_only is None and c.low < c.difference < c.high
    assert c.verdict == "better" and c.p_value < 1e-6


def test_sensitivity_is_compared_on_the_positive_slices_only():
    labels = [1] * 6 + [0] * 6
    a, b = scored([1] * 6 + [0] * 6, [0] * 6 + [1] * 6, labels=labels)
    sens = evaluation.compare_results(a, b, "sensitivity")
    spec = evaluation.compare_results(a, b, "specificity")
    assert (sens.a.n, sens.a_only, sens.b_only) == (6, 6, 0)
    assert (spec.a.successes, spec.b.successes) == (0, 6)
    with pytest.raises(SettingsError, match="measure must be one of"):
        evaluation.compare_results(a, b, "auc")


def _two_class(probabilities, labels=None):
    p = np.asarray(probabilities, dtype=float)
    labels = np.zeros(len(p), dtype=int) if labels is None else np.asarray(labels)
    return types.SimpleNamespace(classes=("normal", "hemorrhage"), positive="hemorrhage",
                                 test_labels=labels, test_probabilities=np.stack([1 - p, p], axis=1))


def test_flagging_threshold_flags_the_share_asked_for_from_the_probabilities_alone():
    p = [0.011, 0.0466, 0.02, 0.0612, 0.033, 0.005, 0.04, 0.029, 0.018, 0.0479]
    result = _two_class(p)
    assert evaluation.flagging_threshold(result, share=0.1) == 0.061  # the top slice, rounded down
    assert evaluation.flagging_threshold(result, share=0.3) == 0.046
    assert evaluation.flagging_threshold(result, share=0.25) == 0.046  # ceil(2.5) = 3 slices
    assert evaluation.flagging_threshold(result, share=1.0) == 0.005
    flagged = np.sum(np.asarray(p) >= evaluation.flagging_threshold(result, share=0.3))
    assert flagged == 3
    relabelled = _two_class(p, labels=[1] * 10)  # the labels play no part
    assert evaluation.flagging_threshold(relabelled, share=0.3) == 0.046
    assert evaluation.flagging_threshold(result, share=0.1, positive="normal") == 0.99  # 0.995, two figures


@pytest.mark.parametrize("scores", [
    np.linspace(0.001, 0.2, 100),  # share * n = 7.000000000000001: still 7 slices
    np.full(100, 0.11699999999999999),  # every slice tied, at a value that float rounding pushes up
    np.r_[np.full(95, 1e-5), np.full(5, 3e-5)],  # a model that never gives a bleed 0.1 %
    np.r_[np.zeros(97), [0.2, 0.3, 0.4]],
])
def test_flagging_threshold_flags_at_least_the_share_and_stays_below_the_next_slice(scores):
    result = _two_class(scores)
    threshold = evaluation.flagging_threshold(result, share=0.07)
    ranked = np.sort(scores)[::-1]
    assert np.sum(scores >= threshold) >= 7  # at least ceil(0.07 * 100) slices are flagged
    assert threshold <= ranked[6] and (threshold > 0 or ranked[6] == 0)
    assert threshold >= 0.9 * ranked[6]  # rounded down to two significant figures, no further


@pytest.mark.parametrize("share", [0, -0.1, 1.5])
def test_flagging_threshold_rejects_a_share_outside_zero_to_one(share):
    with pytest.raises(SettingsError, match="between 0 and 1"):
        evaluation.flagging_threshold(_two_class([0.2, 0.4]), share=share)


def test_flagging_threshold_docstring_example_runs():
    import doctest

    from rsna_workshop.evaluation import results

    assert doctest.run_docstring_examples(results.flagging_threshold, {}, name="flagging_threshold") is None
    failures, tried = doctest.testmod(results, verbose=False)
    assert tried >= 1 and failures == 0


def test_flagging_threshold_needs_test_slices():
    with pytest.raises(SettingsError, match="no test slices"):
        evaluation.flagging_threshold(_two_class([]), share=0.1)


def test_flagging_threshold_counts_the_share_without_float_error():
    scores = np.arange(1, 101) / 100  # 0.01 .. 1.00, one slice per step
    threshold = evaluation.flagging_threshold(_two_class(scores), share=0.07)  # 0.07 * 100 = 7.000000000000001
    assert threshold == 0.94 and np.sum(scores >= threshold) == 7


def test_auc_interval_follows_hanley_and_mcneil_and_widens_with_few_bleeds():
    # AUC 0.8 on 50 + 50 cases: Hanley & McNeil's standard error is 0.0445 (worked out by hand)
    reference = evaluation.Roc(None, None, None, 0.8, 50, 50)
    assert reference.auc_interval() == pytest.approx((0.8 - 1.96 * 0.04450, 0.8 + 1.96 * 0.04450), abs=2e-4)
    few = evaluation.roc(np.r_[np.zeros(150), np.ones(5)], np.r_[np.linspace(0, 0.8, 150), [0.3, 0.6, 0.9, 0.95, 0.99]])
    low, high = few.auc_interval()
    assert high - low > 0.2 and 0.0 <= low < few.auc < high <= 1.0
