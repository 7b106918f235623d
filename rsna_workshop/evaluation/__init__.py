"""How good is a model, and can the data tell two models apart?

:mod:`.metrics` works on plain arrays (sensitivity, specificity, PPV, NPV with Wilson intervals,
ROC, prevalence); :mod:`.results` judges a training result; :mod:`.compare` compares two models
honestly (McNemar on the same slices, Fisher otherwise).

>>> m = binary_metrics([1, 1, 0, 0], [0.9, 0.4, 0.2, 0.1])
>>> m.tp, m.fn, m.tn, m.fp, round(m.sensitivity.estimate, 2)
(1, 1, 2, 0, 0.5)
"""

from .compare import (
    ALPHA,
    MEASURES,
    Comparison,
    compare_counts,
    compare_results,
    difference_interval,
    mcnemar_exact,
    proportion,
    scored_slices,
)
from .metrics import (
    ED_PREVALENCE,
    BinaryMetrics,
    Interval,
    Roc,
    as_binary,
    binary_metrics,
    confusion_matrix,
    exam_false_alarm_rate,
    npv_at_prevalence,
    per_class_accuracy,
    positive_index,
    ppv_at_prevalence,
    roc,
    wilson_interval,
)
from .results import (
    confusion_cell,
    final,
    flagging_threshold,
    loss_rise,
    mistakes,
    report,
    result_arrays,
    result_confusion,
    result_metrics,
    result_per_class,
    result_positive,
    sensitivity,
    summary,
)

__all__ = [
    "ALPHA", "ED_PREVALENCE", "MEASURES", "BinaryMetrics", "Comparison", "Interval", "Roc", "as_binary",
    "binary_metrics", "compare_counts", "confusion_cell", "compare_results", "confusion_matrix", "difference_interval", "exam_false_alarm_rate",
    "final", "flagging_threshold", "loss_rise", "mcnemar_exact", "mistakes", "npv_at_prevalence", "per_class_accuracy", "positive_index",
    "ppv_at_prevalence", "proportion", "report", "result_arrays", "result_confusion", "result_metrics",
    "result_per_class", "result_positive", "roc", "scored_slices", "sensitivity", "summary",
    "wilson_interval",
]
