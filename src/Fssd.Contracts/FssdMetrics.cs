namespace Fssd;

/// <summary>
/// How well scores separate in-distribution inputs (the positive class, larger scores) from
/// out-of-distribution ones. Every value is a fraction in [0, 1]; the definitions are scikit-learn's.
/// Returned by Get-FssdMetrics.
/// </summary>
public sealed class FssdMetrics
{
    /// <summary>What was measured (a method or a tap name).</summary>
    public string Method { get; init; } = "";

    /// <summary>Area under the ROC curve (roc_auc_score; ties count one half).</summary>
    public double AUROC { get; init; }

    /// <summary>Average precision with in-distribution as positive (average_precision_score).</summary>
    public double AUPRCIn { get; init; }

    /// <summary>Average precision with OoD as positive and the scores negated.</summary>
    public double AUPRCOut { get; init; }

    /// <summary>False-positive rate (OoD accepted) at the first ROC point with TPR ≥ 80%.</summary>
    public double FPR80 { get; init; }

    /// <summary>False-positive rate at the first ROC point with TPR ≥ 95%.</summary>
    public double FPR95 { get; init; }

    /// <summary>min over thresholds of (1 − TPR + FPR) / 2.</summary>
    public double DetectionError { get; init; }

    public int InCount { get; init; }
    public int OutCount { get; init; }

    public override string ToString() => $"{Method}: AUROC {AUROC:P2}, AUPRC-In {AUPRCIn:P2}, FPR80 {FPR80:P2}";
}
